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
        let subscribers = try relay.referenceSubscribers(12, broadcast: "spread", track: "t", frames: 30, timeout: 50)
        defer { subscribers.forEach { $0.terminate() } }
        try await expectEveryFrameByteExact(subscribers, frames: 30, within: .seconds(60))
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
