import Foundation
import TestSupport
import Testing

/// A lost publisher's broadcasts linger (5 s by default) so it can come back; a clean unannounce is
/// immediate. Reference (moq-rs) publishers and subscriber through our relay over raw QUIC.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayLingerTests {
    static func announced(_ relay: RunningRelay) async throws -> [String] {
        try await httpGet("\(relay.http)/announced").split(separator: "\n").map(String.init)
    }

    static func lingering(_ relay: RunningRelay) async throws -> Int? {
        let metrics = try await httpGet("\(relay.http)/metrics")
        return metrics.split(separator: "\n").first { $0.hasPrefix("moq_relay_broadcasts_lingering ") }
            .flatMap { Int($0.split(separator: " ")[1]) }
    }

    @Test func aReconnectingPublisherResumesItsSubscribersWithoutResubscribing() async throws {
        // A short idle timeout, so a publisher that vanishes (SIGKILL: no CONNECTION_CLOSE) is noticed in 3 s.
        let relay = try await RunningRelay.start(["--idle-timeout", "3"])
        defer { relay.process.terminate() }
        let arguments = [
            "--broadcast", "show", "--track", "v", "--frames-per-group", "5", "--interval-ms", "20", "--groups", "1000",
            "--finish", "never", "--timeout", "60",
        ]
        let first = try relay.reference("publish", arguments)
        defer { first.terminate() }
        try await waitUntil { try await Self.announced(relay) == ["show"] }
        let subscriber = try relay.reference(
            "subscribe", ["--broadcast", "show", "--track", "v", "--count", "150", "--timeout", "60"])
        defer { subscriber.terminate() }
        try await waitUntil { subscriber.events.filter { $0["event"] as? String == "frame" }.count >= 15 }

        // The publisher vanishes (killed: no unannounce, no CONNECTION_CLOSE): once the relay notices, its
        // broadcast stays announced and the subscriber stays subscribed.
        kill(first.pid, SIGKILL)
        try await waitUntil(timeout: .seconds(10)) { try await Self.lingering(relay) == 1 }
        #expect(try await Self.announced(relay) == ["show"])
        #expect(subscriber.isRunning, "\(subscriber.lines.filter { !$0.contains("\"frame\"") }.suffix(6))")

        // It comes back (numbering its groups on from 5000): the same subscription carries on.
        let second = try relay.reference("publish", arguments + ["--first-group", "5000"])
        defer { second.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(40)) == 0, "\(subscriber.lines.suffix(3))")
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 150 && frames.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact")
        #expect(
            frames.contains { ($0["group"] as? Int ?? 0) < 5000 }
                && frames.contains { ($0["group"] as? Int ?? 0) >= 5000 })
        #expect(try await Self.lingering(relay) == 0, "adopted by the returning publisher")

        // Gone for good: announced for the linger, then not.
        kill(second.pid, SIGKILL)
        try await waitUntil(timeout: .seconds(10)) { try await Self.lingering(relay) == 1 }
        let lostAt = ContinuousClock.now
        try await Task.sleep(for: .seconds(2))
        #expect(try await Self.announced(relay) == ["show"])
        #expect(try await Self.lingering(relay) == 1)
        try await waitUntil(timeout: .seconds(10)) { try await Self.announced(relay).isEmpty }
        #expect(ContinuousClock.now - lostAt > .seconds(4), "the linger is 5 s")
    }

    @Test func aCleanUnannounceIsImmediate() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "brief", "--track", "v", "--groups", "3", "--interval-ms", "20", "--hold-seconds", "1",
                "--timeout", "30",
            ])
        defer { publisher.terminate() }
        try await waitUntil { try await Self.announced(relay) == ["brief"] }
        _ = try await publisher.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "unannounced" }
        let unannouncedAt = ContinuousClock.now
        try await waitUntil(timeout: .seconds(3)) { try await Self.announced(relay).isEmpty }
        #expect(ContinuousClock.now - unannouncedAt < .seconds(2), "no linger for a clean unannounce")
    }
}
