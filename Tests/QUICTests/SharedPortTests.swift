import NIOCore
import TestSupport
import Testing

@testable import QUIC

/// An endpoint of several sockets on one port (SO_REUSEPORT): the kernel steers each packet by its
/// destination connection ID to the socket that issued it, so each socket's loop owns its connections.
@Suite(.timeLimit(.minutes(2)))
struct SharedPortTests {
    static var twoSockets: QUICEndpointOptions { twoSockets(placement: .steered) }

    static func twoSockets(placement: QUICSocketPlacement) -> QUICEndpointOptions {
        var options = QUICEndpointOptions()
        options.sockets = 2
        options.placement = placement
        return options
    }

    @Test func connectionsSpreadOverTheSocketsAndEchoByteExact() async throws {
        try await withEchoServer(options: Self.twoSockets) { server in
            let client = try await makeClient()
            let port = server.localAddress.port!
            let echoed = try await echoConcurrently(40, from: client, to: port) { 48 * 1024 + $0 }
            #expect(echoed == 40)
            let sockets = await server.socketStatistics()
            #expect(sockets.count == 2)
            #expect(sockets.map(\.connectionsAccepted).reduce(0, +) == 40)
            // A client's first Initial lands by its random connection ID: each socket gets about half.
            #expect(
                sockets.allSatisfy { $0.connectionsAccepted > 0 },
                "accepted per socket: \(sockets.map(\.connectionsAccepted))")
            // Every later packet reached the socket that owns its connection: none unknown, no reset sent.
            #expect(sockets.allSatisfy { $0.packetsDropped == 0 && $0.statelessResetsSent == 0 }, "\(sockets)")
            await client.close()
        }
    }

    @Test func aSmallFanOutIsPackedOnTheFirstSocket() async throws {
        try await withEchoServer(options: Self.twoSockets(placement: .packed(upTo: 100))) { server in
            let client = try await makeClient()
            let echoed = try await echoConcurrently(40, from: client, to: server.localAddress.port!) { 8 * 1024 + $0 }
            #expect(echoed == 40)
            let sockets = await server.socketStatistics()
            #expect(sockets.map(\.connectionsAccepted) == [40, 0])
            // The Initials the kernel steered to the second socket were handed to the first, and every later
            // packet went straight to it: the connection IDs it issued name it.
            #expect(sockets[1].datagramsHandedOff > 0 && sockets[0].datagramsHandedOff == 0, "\(sockets)")
            #expect(sockets.allSatisfy { $0.packetsDropped == 0 && $0.statelessResetsSent == 0 }, "\(sockets)")
            await client.close()
        }
    }

    @Test func pastThePackingEachConnectionGoesToTheSocketHoldingFewest() async throws {
        try await withEchoServer(options: Self.twoSockets(placement: .packed(upTo: 0))) { server in
            let client = try await makeClient()
            var held: [QUICConnection] = []
            for index in 0..<20 {
                let connection = try await client.connect(
                    host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
                let payload = patternBytes(1000 + index, seed: UInt64(index + 1))
                #expect(try await echoRoundTrip(connection, payload) == payload)
                held.append(connection)
            }
            let sockets = await server.socketStatistics()
            #expect(sockets.map(\.connectionsAccepted) == [10, 10])
            #expect(sockets.allSatisfy { $0.packetsDropped == 0 && $0.statelessResetsSent == 0 }, "\(sockets)")
            for connection in held { connection.close(code: 0) }
            await client.close()
        }
    }

    @Test func aRetransmittedInitialFollowsItsFirstCopy() async throws {
        try await withEchoServer(options: Self.twoSockets(placement: .packed(upTo: 0))) { server in
            let port = server.localAddress.port!
            // One connection, so that its socket holds more than the other.
            let client = try await makeClient()
            let first = try await client.connect(host: "127.0.0.1", port: port, configuration: pinned())
            let busy = await server.socketStatistics().firstIndex { $0.connectionsAccepted == 1 }!
            // Real client Initials, caught on a plain socket; one whose connection ID the kernel steers to `busy`.
            let catcher = try RawUDPSocket()
            let dialler = try await makeClient()
            let dials = Task {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            _ = try? await dialler.connect(
                                host: "127.0.0.1", port: catcher.port, configuration: pinned())
                        }
                    }
                }
            }
            var initial: [UInt8]?
            for _ in 0..<64 where initial == nil {
                guard let caught = catcher.receive(timeout: .seconds(1)) else { continue }
                if caught.bytes.count >= 1200, caught.bytes[0] & 0xf0 == 0xc0, Int(caught.bytes[6]) % 2 == busy {
                    initial = caught.bytes
                }
            }
            let packet = try #require(initial)
            // Its first copy goes to the socket holding fewer (it is then as busy as `busy`)...
            catcher.send(packet, toPort: port)
            try await waitUntil { await server.socketStatistics().map(\.connectionsAccepted).reduce(0, +) >= 2 }
            var sockets = await server.socketStatistics()
            #expect(sockets.map(\.connectionsAccepted) == [1, 1])
            // ...and so does its retransmission, although a tie would keep it on `busy`.
            catcher.send(packet, toPort: port)
            try await waitUntil {
                let socket = await server.socketStatistics()[busy]
                return socket.datagramsHandedOff >= 2 || socket.connectionsAccepted >= 2
            }
            sockets = await server.socketStatistics()
            #expect(sockets[busy].datagramsHandedOff == 2)
            #expect(sockets.map(\.connectionsAccepted) == [1, 1])
            first.close(code: 0)
            await dialler.close()
            await dials.value
            await client.close()
        }
    }

    @Test func aFloodOfInitialsCannotGrowTheHandOffTable() async throws {
        try await withEchoServer(options: Self.twoSockets(placement: .packed(upTo: 100_000))) { server in
            let port = server.localAddress.port!
            let flooder = try RawUDPSocket()
            // Full-size v1 Initials of random content, each with its own 8-byte connection ID whose first byte
            // is odd (so the kernel steers all to socket 1, and the packing hands them to socket 0).
            let floods = 4200
            for index in 0..<floods {
                let dcid: [UInt8] = [1, 0, 0, 0] + withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
                var packet: [UInt8] = [0xc0, 0, 0, 0, 1, 8] + dcid + [8] + [UInt8](repeating: 7, count: 8) + [0]
                let rest = 1200 - packet.count - 2
                packet += [0x40 | UInt8(rest >> 8), UInt8(rest & 0xff)]
                packet += (0..<rest).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
                flooder.send(packet, toPort: port)
                // In batches the socket buffer holds whatever its size (net.core.rmem_max may be the default).
                if index % 50 == 49 {
                    try await waitUntil { await server.socketStatistics()[1].datagramsReceived > index }
                }
            }
            let handedOff = EndpointCore.handOffCapacity
            try await waitUntil {
                let sockets = await server.socketStatistics()
                return sockets[1].datagramsReceived >= floods && sockets[0].connectionsAccepted >= handedOff
            }
            let sockets = await server.socketStatistics()
            // The table took its capacity; the rest stayed on the socket the kernel chose.
            #expect(sockets[1].datagramsReceived == floods)
            #expect(sockets[1].datagramsHandedOff == handedOff, "\(sockets)")
            #expect(sockets.map(\.connectionsAccepted) == [handedOff, floods - handedOff])
            // None of them could be decrypted: no connection is left of them.
            #expect(sockets.map(\.connections) == [0, 0])
            // The endpoint still serves real clients (with the table full, where the kernel steers them).
            let client = try await makeClient()
            #expect(try await echoConcurrently(2, from: client, to: port) { 1000 + $0 } == 2)
            await client.close()
        }
    }

    @Test func theKernelSteersByTheConnectionIDsFirstByteWhateverTheSourcePort() async throws {
        try await withEchoServer(options: Self.twoSockets) { server in
            let port = server.localAddress.port!
            let senders = [try RawUDPSocket(), try RawUDPSocket()]
            // Short headers (0x40, then the 16-byte DCID): first byte even to socket 0, odd to socket 1.
            let firstBytes: [UInt8] = [0, 2, 4, 1, 3, 5, 7, 9, 255]
            for (index, first) in firstBytes.enumerated() {
                let packet: [UInt8] = [0x41, first] + [UInt8](repeating: 0xab, count: 70)
                senders[index % 2].send(packet, toPort: port)
            }
            // Long headers (version 1, DCID length 8): the DCID starts at byte 6.
            for first: UInt8 in [6, 11, 13] {
                let packet: [UInt8] = [0xc0, 0, 0, 0, 1, 8, first] + [UInt8](repeating: 0xcd, count: 60)
                senders[0].send(packet, toPort: port)
            }
            var received: [Int] = []
            for _ in 0..<200 {
                received = await server.socketStatistics().map(\.datagramsReceived)
                if received.reduce(0, +) >= 12 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(received == [4, 8])
        }
    }

    @Test func aPortInUseIsRefusedRatherThanShared() async throws {
        try await withEchoServer(options: Self.twoSockets) { server in
            let port = server.localAddress.port!
            await #expect(throws: QUICEndpointError.self) {
                _ = try await QUICEndpoint.bind(host: "127.0.0.1", port: port, options: Self.twoSockets)
            }
            await #expect(throws: QUICEndpointError.self) {
                _ = try await QUICEndpoint.bind(host: "127.0.0.1", port: port)
            }
        }
    }

    @Test func aSocketCountAConnectionIDCannotNameIsRefused() async throws {
        for count in [0, 257] {
            var options = QUICEndpointOptions()
            options.sockets = count
            await #expect(throws: QUICEndpointError.self) {
                _ = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0, options: options)
            }
        }
    }
}
