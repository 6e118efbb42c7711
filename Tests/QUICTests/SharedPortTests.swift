import NIOCore
import QUIC
import TestSupport
import Testing

/// An endpoint of several sockets on one port (SO_REUSEPORT): the kernel steers each packet by its
/// destination connection ID to the socket that issued it, so each socket's loop owns its connections.
@Suite(.timeLimit(.minutes(2)))
struct SharedPortTests {
    static var twoSockets: QUICEndpointOptions {
        var options = QUICEndpointOptions()
        options.sockets = 2
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
