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
    /// reaches every subscriber byte-exact. Returns the QUIC connections each socket accepted.
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
        // 500 frames (10 s) each, so that the subscribers overlap and --quic-pack 0 sees them all at once.
        let subscribers = try relay.referenceSubscribers(12, broadcast: "spread", track: "t", frames: 500, timeout: 50)
        defer { subscribers.forEach { $0.terminate() } }
        try await expectEveryFrameByteExact(subscribers, frames: 500, within: .seconds(60))
        // Counted once all are done, from the totals: by then the first subscribers may have left.
        var accepted: [Int] = []
        for socket in 0..<3 {
            accepted.append(
                try await relay.metric("moq_relay_quic_connections_accepted_total{socket=\"\(socket)\"}") ?? 0)
        }
        #expect(accepted.reduce(0, +) == 13, "\(accepted)")
        return accepted
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
