import Foundation
import TestSupport
import NIOCore
import QUIC
import Testing

/// Hostile or broken packets are dropped or answered as RFC 9000 says; the endpoint and its other
/// connections carry on.
@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    @Test func garbageAndTruncatedDatagramsDoNotDisturbOtherConnections() async throws {
        try await withEchoServer { server in
            let port = server.localAddress.port!
            let client = try await makeClient()
            let connection = try await client.connect(host: "127.0.0.1", port: port, configuration: pinned())
            let attacker = try RawUDPSocket()
            var generator = SystemRandomNumberGenerator()
            for index in 0..<5000 {
                let length = index % 7 == 0 ? 1200 : Int.random(in: 1...1500, using: &generator)
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Every few, a plausible long-header Initial (v1) with random contents, truncated.
                if index % 5 == 0, bytes.count > 8 { bytes.replaceSubrange(0..<5, with: [0xc3, 0, 0, 0, 1]) }
                attacker.send(bytes, toPort: port)
            }
            // The established connection still echoes byte-exact.
            let payload = patternBytes(1 << 20)
            #expect(try await echoRoundTrip(connection, payload) == payload)
            // And a new connection still gets in.
            let fresh = try await client.connect(host: "127.0.0.1", port: port, configuration: pinned())
            #expect(
                try await echoRoundTrip(fresh, ByteBuffer(string: "still here")) == ByteBuffer(string: "still here"))
            let statistics = await server.statistics()
            #expect(statistics.packetsDropped > 1000)
            #expect(statistics.connectionsAccepted >= 2)
            connection.close()
            fresh.close()
            await client.close()
        }
    }

    @Test func unknownShortHeaderPacketGetsAStatelessReset() async throws {
        try await withEchoServer { server in
            let socket = try RawUDPSocket()
            // Short header (0x40 fixed bit), 16-byte DCID the server never issued, then "encrypted" bytes.
            var packet: [UInt8] = [0x41] + (0..<16).map { UInt8($0) }
            packet += [UInt8](repeating: 0xab, count: 60)
            socket.send(packet, toPort: server.localAddress.port!)
            let reply = try #require(socket.receive())
            #expect(reply.bytes.count < packet.count, "a stateless reset must be shorter than what caused it")
            #expect(reply.bytes.count >= 22)
            #expect(reply.bytes[0] & 0xc0 == 0x40, "a stateless reset looks like a short-header packet")
            #expect(await server.statistics().statelessResetsSent == 1)
        }
    }

    @Test func unsupportedVersionGetsVersionNegotiation() async throws {
        try await withEchoServer { server in
            let socket = try RawUDPSocket()
            var packet: [UInt8] = [0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8] + [UInt8](repeating: 1, count: 8) + [8]
            packet += [UInt8](repeating: 2, count: 8)
            packet += [UInt8](repeating: 0, count: 1200 - packet.count)
            socket.send(packet, toPort: server.localAddress.port!)
            let reply = try #require(socket.receive())
            // Long header with version 0, then the versions the server supports.
            #expect(reply.bytes[0] & 0x80 == 0x80)
            #expect(Array(reply.bytes[1..<5]) == [0, 0, 0, 0])
            let versions = stride(from: 5 + 1 + 8 + 1 + 8, to: reply.bytes.count, by: 4).map {
                reply.bytes[$0..<$0 + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            #expect(versions.contains(1))
            // A small packet with an unknown version is not answered (no amplification).
            socket.send(Array(packet.prefix(100)), toPort: server.localAddress.port!)
            #expect(socket.receive(timeout: .milliseconds(300)) == nil)
        }
    }

    @Test func aHandshakeThatNeverCompletesIsCleanedUp() async throws {
        var transport = QUICTransportConfiguration()
        transport.handshakeTimeout = .milliseconds(500)
        try await withEchoServer(transport: transport) { server in
            // Capture a real client Initial by dialling a raw socket, then replay it to the server
            // from an address that never answers the server's handshake.
            let capture = try RawUDPSocket()
            let client = try await makeClient()
            var configuration = pinned()
            configuration.transport.handshakeTimeout = .seconds(2)
            async let dial: QUICConnection? = try? await client.connect(
                host: "127.0.0.1", port: capture.port, configuration: configuration)
            let initial = try #require(capture.receive(timeout: .seconds(10)))
            _ = await dial
            let replayer = try RawUDPSocket()
            replayer.send(initial.bytes, toPort: server.localAddress.port!)
            #expect(replayer.receive(timeout: .seconds(10)) != nil, "the server answers the Initial")
            #expect(await server.connectionCount() == 1)
            // Truncated copies of the same Initial are dropped without creating connections.
            for cut in stride(from: 1, to: initial.bytes.count, by: 97) {
                replayer.send(Array(initial.bytes.prefix(cut)), toPort: server.localAddress.port!)
            }
            // Gone after the 0.5 s handshake timeout plus its closing period (bounded wait: 10 s).
            var remaining = await server.connectionCount()
            for _ in 0..<100 where remaining > 0 {
                try await Task.sleep(for: .milliseconds(100))
                remaining = await server.connectionCount()
            }
            #expect(remaining == 0, "the half-open connection is gone after the handshake timeout")
            await client.close()
        }
    }
}

/// A peer that ignores MAX_STREAMS is closed with STREAM_LIMIT_ERROR; the endpoint serves others on.
@Suite(.timeLimit(.minutes(1)))
struct StreamLimitViolationTests {
    @Test func peerOpeningStreamsPastTheLimitIsClosedWithStreamLimitError() async throws {
        var transport = QUICTransportConfiguration()
        transport.maxIncomingBidirectionalStreams = 4
        try await withEchoServer(transport: transport) { server in
            let flood = try PeerProcess(
                Repository.python,
                [Repository.peer("aioquic_stream_flood.py"), "--port", "\(server.localAddress.port!)", "--streams", "40", "--insecure"])
            #expect(try await flood.waitForExit(timeout: .seconds(30)) == 0, "\(flood.stderr.suffix(1500))")
            let result = try #require(flood.events.first)
            #expect(result["closed"] as? Bool == true)
            #expect(result["error_code"] as? Int == 0x4, "STREAM_LIMIT_ERROR: \(result)")
            // Another client still gets served.
            let client = try await makeClient()
            let connection = try await client.connect(host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            #expect(try await echoRoundTrip(connection, ByteBuffer(string: "after")) == ByteBuffer(string: "after"))
            connection.close()
            await client.close()
        }
    }
}
