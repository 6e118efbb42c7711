import Foundation
import MoQ
import MoQWire
import NIOCore
import TestSupport
import Testing

/// A session that announces or subscribes past the relay's per-session limits is closed with
/// PROTOCOL_VIOLATION and a reason naming the limit; a well-behaved session next to it carries on.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayLimitsTests {
    func client(_ relay: RunningRelay) -> MoQClient.Configuration {
        MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(relay.pin)!]))
    }

    @Test func announceAndSubscribeFloodsCloseOnlyTheFloodingSession() async throws {
        let relay = try await RunningRelay.start([
            "--max-session-broadcasts", "20", "--max-session-subscriptions", "20",
        ])
        defer { relay.process.terminate() }
        // A well-behaved reference publisher and subscriber through the same relay.
        let publisher = try relay.reference(
            "publish",
            ["--broadcast", "calm", "--track", "v", "--interval-ms", "20", "--groups", "1000", "--timeout", "60"])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "announced" }
        let subscriber = try relay.reference(
            "subscribe", ["--broadcast", "calm", "--track", "v", "--count", "150", "--timeout", "40"])
        defer { subscriber.terminate() }

        // 50 broadcasts from one session: closed at the 21st.
        let announcerClosed = try await MoQClient.withSession(url: relay.url, configuration: client(relay)) { session in
            for index in 0..<50 { session.publish(BroadcastProducer(path: "flood/\(index)")) }
            return try await withTimeout(.seconds(20), "announce flood closed") { await session.closed() }
        }
        #expect(announcerClosed.code == SessionErrorCode.protocolViolation.rawValue)
        #expect(announcerClosed.reason == "more than 20 broadcasts announced")

        // 30 subscriptions from one session: closed at the 21st.
        let readerClosed = try await MoQClient.withSession(url: relay.url, configuration: client(relay)) { session in
            let subscriptions = (0..<30).map { session.subscribe(broadcast: "calm", track: "t\($0)") }
            defer { _ = subscriptions }
            return try await withTimeout(.seconds(20), "subscribe flood closed") { await session.closed() }
        }
        #expect(readerClosed.code == SessionErrorCode.protocolViolation.rawValue)
        #expect(readerClosed.reason == "more than 20 subscriptions at once")

        #expect(try await subscriber.waitForExit(timeout: .seconds(45)) == 0, "\(subscriber.lines.suffix(3))")
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 150 && frames.allSatisfy { $0["ok"] as? Bool == true })
        #expect(publisher.isRunning)
    }
}
