import Foundation
import TestSupport
import Testing

/// `--cache-bytes` bounds what the relay keeps of a publisher's older groups, whatever its max latency.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayCacheTests {
    @Test func olderGroupsStayWithinTheByteBoundAndTheLatestIsAlwaysServed() async throws {
        let relay = try await RunningRelay.start(["--cache-bytes", "40000"])
        defer { relay.process.terminate() }
        // 5 KB groups every 50 ms that the publisher would have kept for a minute.
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "cached", "--track", "v", "--frame-size", "1000", "--frames-per-group", "5",
                "--interval-ms",
                "10", "--groups", "1000", "--max-age-ms", "60000", "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "announced" }
        let subscriber = try relay.reference(
            "subscribe", ["--broadcast", "cached", "--track", "v", "--count", "250", "--timeout", "40"])
        defer { subscriber.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(50)) == 0)
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 250 && frames.allSatisfy { $0["ok"] as? Bool == true })
        let first = try #require(frames.first?["group"] as? Int)
        let last = try #require(frames.last?["group"] as? Int)

        let cached = try #require(try await relay.metric("moq_relay_cache_bytes"))
        #expect(cached > 0 && cached <= 40_000, "older groups within the bound: \(cached)")
        // 250 KB went through: the first group is gone, the latest is there whole.
        #expect(try await httpStatus("\(relay.http)/fetch/cached/v?group=\(first)") == 404)
        let latest = try await httpGet("\(relay.http)/fetch/cached/v?group=\(last)")
        #expect(latest.utf8.count >= 5_000 - 10, "the latest group, whole")
    }
}
