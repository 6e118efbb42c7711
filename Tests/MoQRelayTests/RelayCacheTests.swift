import Foundation
import TestSupport
import Testing

/// `--cache-bytes` bounds what the relay keeps of a publisher's older groups, whatever its max latency.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayCacheTests {
    @Test func olderGroupsStayWithinTheByteBoundAndTheLatestIsAlwaysServed() async throws {
        let relay = try await RunningRelay.start(["--cache-bytes", "40000"])
        defer { relay.process.terminate() }
        // 120 groups of 5 KB, one every 50 ms, that the publisher would have kept for a minute; it then holds
        // the broadcast (announced, its last group the latest) until the test is done.
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "cached", "--track", "v", "--frame-size", "1000", "--frames-per-group", "5",
                "--interval-ms", "10", "--groups", "120", "--max-age-ms", "60000", "--hold-seconds", "60",
                "--timeout", "90",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "announced" }
        // A second reader stays subscribed throughout, so the relay pulls every group (without one, the
        // upstream subscription ends a linger after the last reader, and so do the groups arriving).
        let holder = try relay.reference(
            "subscribe", ["--broadcast", "cached", "--track", "v", "--count", "100000", "--timeout", "60"])
        defer { holder.terminate() }
        let subscriber = try relay.reference(
            "subscribe", ["--broadcast", "cached", "--track", "v", "--count", "100", "--timeout", "40"])
        defer { subscriber.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(50)) == 0)
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 100 && frames.allSatisfy { $0["ok"] as? Bool == true })
        let first = try #require(frames.first?["group"] as? Int)

        // Once all 600 KB went through: the first group read is gone, the latest is there whole, and the older
        // groups kept fit the bound.
        _ = try await publisher.waitForEvent(timeout: .seconds(30)) { $0["event"] as? String == "done" }
        let last = try #require(
            publisher.events.last { $0["event"] as? String == "frame" }?["group"] as? Int)
        let whole = (0..<5).flatMap { ReferencePayload.make(group: UInt64(last), frame: $0, size: 1000) }
        try await waitUntil {
            try await httpGetBytes("\(relay.http)/fetch/cached/v?group=\(last)") == (200, whole)
        }  // the latest group, whole and byte-exact
        let cached = try #require(try await relay.metric("moq_relay_cache_bytes"))
        #expect(cached > 0 && cached <= 40_000, "older groups within the bound: \(cached)")
        #expect(try await httpStatus("\(relay.http)/fetch/cached/v?group=\(first)") == 404)
        #expect(try await httpStatus("\(relay.http)/fetch/cached/v?group=\(last - 20)") == 404)
    }
}
