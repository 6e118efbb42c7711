import Foundation
import TestSupport
import Testing

/// `moq-relay --quic-sockets N`: N UDP sockets share the relay's port, one event loop each, and reference
/// (moq-rs) peers, each from its own address, reach their connections through any of them.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayQUICSocketsTests {
    @Test func threeSocketsServeReferenceSubscribersByteExact() async throws {
        let relay = try await RunningRelay.start(["--quic-sockets", "3"])
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
        var subscribers: [PeerProcess] = []
        defer { subscribers.forEach { $0.terminate() } }
        for _ in 0..<12 {
            subscribers.append(
                try relay.reference(
                    "subscribe", ["--broadcast", "spread", "--track", "t", "--count", "30", "--timeout", "50"]))
        }
        for subscriber in subscribers {
            #expect(try await subscriber.waitForExit(timeout: .seconds(60)) == 0, "\(subscriber.stderr.suffix(800))")
            let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 30 && frames.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact")
        }
    }

    @Test func aSocketCountOutOfRangeIsRefusedWithWhatToDo() async throws {
        let data = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let relay = try PeerProcess(
            try Repository.product("moq-relay"),
            ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", data.path, "--quic-sockets", "0"])
        #expect(try await relay.waitForExit(timeout: .seconds(30)) != 0)
        #expect(relay.stderr.contains("--quic-sockets must be 1 to 64"), "\(relay.stderr.suffix(500))")
    }
}
