import Foundation
import TestSupport
import Testing

/// `moq-relay --quic-sockets N`: N UDP sockets share the relay's port, one event loop each, and reference
/// (moq-rs) peers, each from its own address, reach their connections through any of them.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayQUICSocketsTests {
    @Test func threeSocketsSpreadReferenceSubscribersAndServeThemByteExact() async throws {
        // --quic-pack 0: every new connection goes to the socket holding the fewest.
        let connections = try await fanOut(["--quic-sockets", "3", "--quic-pack", "0"])
        // 13 sessions (the publisher and 12 subscribers), each a connection: about 4 per socket (the counts a
        // socket reads may lag by a connection or two when Initials reach two sockets at once).
        #expect(connections.count == 3 && connections.allSatisfy { $0 >= 2 }, "\(connections)")
    }

    @Test func aSmallFanOutIsPackedOnTheFirstSocketByDefault() async throws {
        let connections = try await fanOut(["--quic-sockets", "3"])
        #expect(connections == [13, 0, 0])
    }

    /// A moq-rs publisher and 12 moq-rs subscribers through a relay started with `arguments`: every frame
    /// reaches every subscriber byte-exact. Returns the QUIC connections each socket held meanwhile.
    private func fanOut(_ arguments: [String]) async throws -> [Int] {
        let relay = try await RunningRelay.start(arguments)
        defer { relay.process.terminate() }
        #expect(
            relay.process.lines.contains { $0.hasPrefix("moq-relay listening on") && $0.contains("(UDP, 3 sockets,") })
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "spread", "--track", "t", "--groups", "200", "--frames-per-group", "5",
                "--interval-ms", "20", "--frame-size", "1000", "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        let subscribers = try relay.referenceSubscribers(12, broadcast: "spread", track: "t", frames: 30, timeout: 50)
        defer { subscribers.forEach { $0.terminate() } }
        try await waitUntil { try await Self.connectionsPerSocket(relay).reduce(0, +) >= 13 }
        let connections = try await Self.connectionsPerSocket(relay)
        #expect(connections.reduce(0, +) == 13, "\(connections)")
        try await expectEveryFrameByteExact(subscribers, frames: 30, within: .seconds(60))
        return connections
    }

    /// `moq_relay_quic_connections{socket="N"}` of the relay's three sockets, in order.
    private static func connectionsPerSocket(_ relay: RunningRelay) async throws -> [Int] {
        var connections: [Int] = []
        for socket in 0..<3 {
            connections.append(try await relay.metric("moq_relay_quic_connections{socket=\"\(socket)\"}") ?? 0)
        }
        return connections
    }

    @Test func aSocketCountOutOfRangeIsRefusedWithWhatToDo() async throws {
        for (option, message) in [
            (["--quic-sockets", "0"], "--quic-sockets must be 1 to 64"),
            (["--quic-pack=-1"], "--quic-pack must be 0 or more"),
        ] {
            let data = try Repository.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: data) }
            let relay = try PeerProcess(
                try Repository.product("moq-relay"),
                ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", data.path] + option)
            #expect(try await relay.waitForExit(timeout: .seconds(30)) != 0)
            #expect(relay.stderr.contains(message), "\(relay.stderr.suffix(500))")
        }
    }
}
