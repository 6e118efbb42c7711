import Foundation
import MoQ
import MoQWire
import NIOCore
import TestSupport
import Testing

/// Our moq-lite client and server against the reference implementation (PyPI moq-rs), on every version.
@Suite(.timeLimit(.minutes(2)))
struct ReferenceInteropTests {
    static let versions: [MoQVersion] = [.lite06, .lite05, .lite04]

    @Test(arguments: versions)
    func referenceServerPublishesOurClientSubscribes(version: MoQVersion) async throws {
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--frames-per-group", "4", "--interval-ms", "30",
            "--frame-size", "300", "--priority", "42", "--timescale", "1000", "--max-age-ms", "3000",
        ])
        defer { peer.process.terminate() }
        let received = try await withTimeout(.seconds(60), "subscribe to demo/data") {
            try await MoQClient.withSession(url: peer.url, configuration: peer.clientConfiguration(versions: [version]))
            { session in
                #expect(session.version == version)
                // The broadcast is announced to us; then its track is read group by group.
                var announcements = session.announcements(prefix: "").makeAsyncIterator()
                let announced = await announcements.next()
                #expect(announced?.path == "demo")
                let subscription = session.subscribe(broadcast: "demo", track: "data")
                var frames: [(group: UInt64, index: Int, payload: ByteBuffer)] = []
                for try await group in subscription.track {
                    var index = 0
                    for try await frame in group {
                        frames.append((group.sequence, index, frame.payload))
                        index += 1
                    }
                    if frames.count >= 12 { break }
                }
                if version >= .lite05 {
                    // TRACK_INFO carried the publisher's settings.
                    #expect(
                        subscription.info == TrackInfo(priority: 42, maxLatency: .milliseconds(3000), timescale: 1000))
                }
                return frames
            }
        }
        #expect(received.count >= 12)
        for frame in received {
            #expect(frame.payload.readableBytes == 300)
            #expect(
                ReferencePayload.matches(frame.payload, group: frame.group, frame: frame.index),
                "group \(frame.group) frame \(frame.index)")
        }
        let groups = received.map(\.group)
        #expect(groups == groups.sorted(), "groups arrive in order")
    }
}

extension ReferenceInteropTests {
    @Test(arguments: versions)
    func ourClientPublishesThroughReferenceRelayToReferenceSubscriber(version: MoQVersion) async throws {
        let relay = try await ReferencePeer.server()
        defer { relay.process.terminate() }
        try await withTimeout(.seconds(60), "publish through the reference relay") {
            try await MoQClient.withSession(
                url: relay.url, configuration: relay.clientConfiguration(versions: [version])
            ) { session in
                let broadcast = BroadcastProducer(path: "swift/\(version.alpn)")
                let track = broadcast.createTrack("data")
                session.publish(broadcast)
                let subscriber = try PeerProcess(
                    Repository.python,
                    [
                        Repository.peer("moq_ref.py"), "subscribe", "--url", relay.url, "--fingerprint",
                        relay.fingerprint.map { String(format: "%02x", $0) }.joined(), "--broadcast",
                        "swift/\(version.alpn)",
                        "--track", "data", "--count", "12", "--timeout", "50",
                    ])
                defer { subscriber.terminate() }
                try await publishReferenceFrames(track, until: { !subscriber.isRunning }, framesPerGroup: 3, size: 500)
                #expect(
                    try await subscriber.waitForExit(timeout: .seconds(10)) == 0,
                    "\(subscriber.lines.suffix(5)) \(subscriber.stderr.suffix(1500))")
                let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
                #expect(frames.count >= 12)
                #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "every frame byte-exact")
                broadcast.finish()
            }
        }
    }
}

/// Publishes groups of frames with the reference peers' deterministic payloads, one group every 50 ms,
/// until `done` says to stop (bounded: 30 s).
func publishReferenceFrames(
    _ track: TrackProducer, until done: @Sendable () -> Bool, framesPerGroup: Int, size: Int
) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !done(), ContinuousClock.now < deadline {
        let group = track.appendGroup()
        for index in 0..<framesPerGroup {
            let bytes = ReferencePayload.make(group: group.sequence, frame: index, size: size)
            group.write(ByteBuffer(bytes: bytes), timestamp: group.sequence * 50_000 + UInt64(index) * 1000)
        }
        group.finish()
        try await Task.sleep(for: .milliseconds(50))
    }
}

extension ReferenceInteropTests {
    @Test(arguments: versions)
    func referenceClientsPublishToAndSubscribeFromOurServer(version: MoQVersion) async throws {
        try await withOurServer(versions: [version]) { url, pin, origin in
            let publisher = try referenceClient(
                "publish", url: url, pin: pin,
                [
                    "--broadcast", "ref", "--track", "data", "--groups", "40", "--frames-per-group", "3",
                    "--interval-ms", "25",
                    "--frame-size", "700", "--hold-seconds", "3", "--timeout", "50",
                ])
            defer { publisher.terminate() }
            // Our server learns the broadcast from the publisher's announcement.
            let announced = try await withTimeout(.seconds(20), "announcement from the reference publisher") {
                () -> Announcement? in
                var iterator = origin.announcements(prefix: "").makeAsyncIterator()
                return await iterator.next()
            }
            #expect(announced?.path == "ref")
            let subscriber = try referenceClient(
                "subscribe", url: url, pin: pin,
                ["--broadcast", "ref", "--track", "data", "--count", "15", "--timeout", "40"])
            defer { subscriber.terminate() }
            #expect(
                try await subscriber.waitForExit(timeout: .seconds(45)) == 0,
                "\(subscriber.lines.suffix(5)) \(subscriber.stderr.suffix(2000))")
            let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count >= 15)
            #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "every frame byte-exact")
            // When the publisher goes (it leaves cleanly after its hold time), so does its announcement.
            let changes = origin.watch(prefix: "").changes
            #expect(try await publisher.waitForExit(timeout: .seconds(30)) == 0)
            let ended = try await withTimeout(.seconds(20), "unannounce") { () -> Bool in
                for await change in changes where change == .ended(path: "ref") { return true }
                return false
            }
            #expect(ended)
        }
    }
}

extension ReferenceInteropTests {
    @Test(arguments: [MoQVersion.lite06, .lite05])
    func fetchOfAPastGroupBothWays(version: MoQVersion) async throws {
        // Our client fetches from the reference server.
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--groups", "8", "--frames-per-group", "5", "--interval-ms", "20",
            "--frame-size", "200",
        ])
        defer { peer.process.terminate() }
        let fetched = try await withTimeout(.seconds(40), "fetch from the reference") {
            try await MoQClient.withSession(url: peer.url, configuration: peer.clientConfiguration(versions: [version]))
            { session in
                var announcements = session.announcements().makeAsyncIterator()
                _ = await announcements.next()
                // Wait until group 3 is in the past (the live edge moved beyond it), then fetch it.
                let subscription = session.subscribe(broadcast: "demo", track: "data")
                for try await group in subscription.track where group.sequence >= 5 { break }
                subscription.cancel()
                return try await session.fetch(broadcast: "demo", track: "data", group: 3)
            }
        }
        #expect(fetched.count == 5)
        for (index, frame) in fetched.enumerated() {
            #expect(ReferencePayload.matches(frame.payload, group: 3, frame: index))
        }

        // The reference client fetches from our server.
        try await withOurServer(versions: [version]) { url, pin, origin in
            let broadcast = BroadcastProducer(path: "ours")
            let track = broadcast.createTrack("data")
            for _ in 0..<4 {
                let group = track.appendGroup()
                for index in 0..<3 {
                    group.write(
                        ByteBuffer(bytes: ReferencePayload.make(group: group.sequence, frame: index, size: 400)))
                }
                group.finish()
            }
            origin.publish(broadcast)
            let fetcher = try referenceClient(
                "fetch", url: url, pin: pin,
                ["--broadcast", "ours", "--track", "data", "--group", "1", "--timeout", "20"])
            defer { fetcher.terminate() }
            #expect(
                try await fetcher.waitForExit(timeout: .seconds(25)) == 0,
                "\(fetcher.lines.suffix(5)) \(fetcher.stderr.suffix(1500))")
            let frames = fetcher.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 3)
            #expect(frames.allSatisfy { $0["ok"] as? Bool == true && $0["group"] as? Int == 1 })
        }
    }

    @Test(arguments: versions)
    func ourAnnouncementsAppearAndDisappearAtTheReference(version: MoQVersion) async throws {
        let relay = try await ReferencePeer.server()
        defer { relay.process.terminate() }
        let watcher = try referenceClient(
            "announced", url: relay.url, pin: relay.fingerprint.map { String(format: "%02x", $0) }.joined(),
            ["--prefix", "", "--count", "2", "--timeout", "40"])
        defer { watcher.terminate() }
        try await Task.sleep(for: .milliseconds(500))
        try await withTimeout(.seconds(45), "announce then unannounce") {
            try await MoQClient.withSession(
                url: relay.url, configuration: relay.clientConfiguration(versions: [version])
            ) { session in
                let broadcast = BroadcastProducer(path: "room/swift")
                broadcast.createTrack("data")
                session.publish(broadcast)
                _ = try await watcher.waitForEvent {
                    $0["event"] as? String == "announce" && $0["active"] as? Bool == true
                }
                broadcast.finish()
                _ = try await watcher.waitForEvent {
                    $0["event"] as? String == "announce" && $0["active"] as? Bool == false
                }
            }
        }
        let changes = watcher.events.filter { $0["event"] as? String == "announce" }
        #expect(changes.map { $0["path"] as? String } == ["room/swift", "room/swift"])
        #expect(changes.map { $0["active"] as? Bool } == [true, false])
    }
}
