import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC
import TestSupport
import Testing

/// The `moq-relay` executable with reference (moq-rs) publishers and subscribers over raw QUIC.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayTests {
    @Test func fiftySubscribersReceiveEveryFrameByteExactAndHTTPWorks() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "live/cam", "--track", "video", "--groups", "400", "--frames-per-group", "5",
                "--interval-ms", "20",
                "--frame-size", "1200", "--timeout", "120",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }

        let subscribers = try relay.referenceSubscribers(
            50, broadcast: "live/cam", track: "video", frames: 40, timeout: 100)
        defer { subscribers.forEach { $0.terminate() } }
        try await expectEveryFrameByteExact(subscribers, frames: 40, within: .seconds(110))

        // The HTTP API sees the same relay.
        #expect(try await httpGet(relay.http + "/health") == "ok\n")
        #expect(try await httpGet(relay.http + "/certificate.sha256") == relay.pin + "\n")
        #expect(try await httpGet(relay.http + "/announced/live") == "live/cam\n")
        let metrics = try await httpGet(relay.http + "/metrics")
        #expect(metrics.contains("moq_relay_broadcasts 1"))
        func metric(_ name: String) -> Int {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
                Int($0.split(separator: " ")[1])
            } ?? -1
        }
        #expect(metric("moq_relay_sessions_total") >= 51)
        // 50 subscribers served (the relay's own upstream SUBSCRIBE is not served), 50 x 40 frames out.
        #expect(metric("moq_relay_subscriptions_total") == 50)
        #expect(metric("moq_relay_bytes_out_total") >= 50 * 40 * 1200)
        #expect(metric("moq_relay_groups_in_total") > 0)
        #expect(
            metric("moq_relay_bytes_in_total") < metric("moq_relay_bytes_out_total"), "fan-out: one copy in, many out")
    }

    @Test func lateJoinerStartsAtTheLiveEdge() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "clock", "--track", "t", "--groups", "300", "--frames-per-group", "2", "--interval-ms",
                "25",
                "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        try await Task.sleep(for: .seconds(2))
        let published =
            publisher.events.filter { $0["event"] as? String == "frame" }.compactMap { $0["group"] as? Int }.max() ?? 0
        let late = try relay.reference(
            "subscribe", ["--broadcast", "clock", "--track", "t", "--count", "4", "--timeout", "30"])
        defer { late.terminate() }
        #expect(try await late.waitForExit(timeout: .seconds(35)) == 0)
        let first = late.events.first { $0["event"] as? String == "frame" }?["group"] as? Int ?? -1
        #expect(
            first >= published - 1,
            "the late joiner starts at the live edge (group \(first), publisher at \(published))")
    }

    @Test func sigtermDrainsAndExitsZero() async throws {
        let relay = try await RunningRelay.start()
        let publisher = try relay.reference(
            "publish",
            ["--broadcast", "b", "--track", "t", "--groups", "1000", "--interval-ms", "50", "--timeout", "60"])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        kill(relay.process.pid, SIGTERM)
        #expect(try await relay.process.waitForExit(timeout: .seconds(15)) == 0)
    }
}

/// lite-04 (gomoqt's version) on one side of the relay, lite-06 on the other.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct VersionTranslationTests {
    func client(_ relay: RunningRelay, _ version: MoQVersion) -> MoQClient.Configuration {
        let pin = hexBytes(relay.pin)!
        return MoQClient.Configuration(verification: .pinnedSHA256([pin]), versions: [version])
    }

    @Test func lite04PublisherReachesALite06Subscriber() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        try await MoQClient.withSession(url: relay.url, configuration: client(relay, .lite04)) { session in
            #expect(session.version == .lite04)
            let broadcast = BroadcastProducer(path: "gomoqt-like")
            let track = broadcast.createTrack("index")
            session.publish(broadcast)
            let subscriber = try relay.reference(
                "subscribe", ["--broadcast", "gomoqt-like", "--track", "index", "--count", "10", "--timeout", "40"])
            defer { subscriber.terminate() }
            let deadline = ContinuousClock.now + .seconds(30)
            while subscriber.isRunning, ContinuousClock.now < deadline {
                let group = track.appendGroup()
                for index in 0..<2 {
                    group.write(
                        ByteBuffer(bytes: ReferencePayload.make(group: group.sequence, frame: index, size: 300)))
                }
                group.finish()
                try await Task.sleep(for: .milliseconds(40))
            }
            #expect(try await subscriber.waitForExit(timeout: .seconds(5)) == 0, "\(subscriber.stderr.suffix(1000))")
            let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 10 && frames.allSatisfy { $0["ok"] as? Bool == true })
            // The lite-06 side sees timestamps the relay synthesised (receive time), increasing.
            let timestamps = frames.compactMap { $0["timestamp_us"] as? Int }
            #expect(timestamps.count == 10 && timestamps == timestamps.sorted() && timestamps.first! > 0)
            broadcast.finish()
        }
    }

    @Test func lite06PublisherReachesALite04Subscriber() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "ref", "--track", "data", "--groups", "300", "--frames-per-group", "3",
                "--interval-ms", "20", "--frame-size", "500", "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        let frames = try await MoQClient.withSession(url: relay.url, configuration: client(relay, .lite04)) { session in
            #expect(session.version == .lite04)
            var announcements = session.announcements().makeAsyncIterator()
            _ = await announcements.next()
            let subscription = session.subscribe(broadcast: "ref", track: "data")
            var frames: [(UInt64, Int, ByteBuffer)] = []
            for try await group in subscription.track {
                var index = 0
                for try await frame in group {
                    frames.append((group.sequence, index, frame.payload))
                    index += 1
                }
                if frames.count >= 12 { break }
            }
            return frames.map {
                FrameCheck(group: $0.0, index: $0.1, ok: ReferencePayload.matches($0.2, group: $0.0, frame: $0.1))
            }
        }
        #expect(frames.count >= 12)
        let mismatched = frames.filter { !$0.ok }.count
        #expect(mismatched == 0, "every frame byte-exact")
    }
}

struct FrameCheck: Sendable {
    let group: UInt64
    let index: Int
    let ok: Bool
}

/// A subscriber that stops reading never slows the others down.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SlowSubscriberTests {
    @Test func aStalledSubscriberDoesNotSlowAFastOne() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "hd", "--track", "v", "--groups", "2000", "--frames-per-group", "5",
                "--interval-ms", "10", "--frame-size", "8000", "--timeout", "90",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }

        // The stalled subscriber: a raw QUIC session that subscribes, then never reads a group stream.
        let pin = hexBytes(relay.pin)!
        let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
        var small = QUICTransportConfiguration()
        small.streamReceiveWindow = 16 * 1024
        small.maxStreamReceiveWindow = 16 * 1024
        small.connectionReceiveWindow = 64 * 1024
        small.maxConnectionReceiveWindow = 64 * 1024
        let stalled = try await endpoint.connect(
            host: "127.0.0.1", port: try MoQURL(relay.url).port,
            configuration: QUICClientConfiguration(
                alpn: ["moq-lite-06"], verification: .pinnedSHA256([pin]), transport: small))
        let request = try await stalled.openBidirectionalStream()
        var subscribe = ByteBuffer()
        subscribe.writeQUICVarint(BidiStreamType.subscribe.rawValue)
        Subscribe(
            id: 0, broadcast: "hd", track: "v", priority: 0, ordered: false, maxLatencyMs: 0, startGroup: nil,
            endGroup: nil, startFrame: 0, endFrame: nil
        ).encode(into: &subscribe, version: .lite06)
        try await request.write(subscribe)
        try await Task.sleep(for: .seconds(1))

        // Meanwhile a normal subscriber reads 400 frames (8 KB each, 500 frames/s offered) byte-exact.
        let started = ContinuousClock.now
        let fast = try relay.reference(
            "subscribe", ["--broadcast", "hd", "--track", "v", "--count", "400", "--timeout", "60"])
        defer { fast.terminate() }
        #expect(try await fast.waitForExit(timeout: .seconds(60)) == 0, "\(fast.stderr.suffix(800))")
        let elapsed = ContinuousClock.now - started
        let frames = fast.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 400 && frames.allSatisfy { $0["ok"] as? Bool == true })
        // 400 frames at 500/s take 0.8 s plus session setup: the stalled peer costs the fast one nothing.
        #expect(elapsed < .seconds(10), "fast subscriber took \(elapsed)")
        stalled.close()
        await endpoint.close()
    }
}
