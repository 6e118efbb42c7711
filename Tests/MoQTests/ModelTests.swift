import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing

@testable import MoQ

/// The pub/sub model without any network: groups, tracks, broadcasts, the origin.
@Suite(.timeLimit(.minutes(1)))
struct ModelTests {
    @Test func groupConsumersReadEveryFrameInOrderAndShareTheBytes() async throws {
        let track = TrackProducer(name: "video")
        let group = track.appendGroup()
        let early = group.consume()
        let payload = ByteBuffer(string: "frame-0")
        group.write(payload, timestamp: 10)
        group.write(ByteBuffer(string: "frame-1"), timestamp: 20)
        group.finish()
        let late = group.consume()
        let earlyFrames = try await early.collect()
        let lateFrames = try await late.collect()
        #expect(earlyFrames.map { String(buffer: $0.payload) } == ["frame-0", "frame-1"])
        #expect(earlyFrames.map(\.timestamp) == [10, 20])
        #expect(lateFrames == earlyFrames)
        // Fan-out shares one buffer: both consumers see the very same storage.
        let pointers = [earlyFrames[0], lateFrames[0]].map { frame in
            frame.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        }
        #expect(pointers[0] == pointers[1])
        #expect(pointers[0] == payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) })
    }

    @Test func parkedConsumersWakeForEachFrameAndACancelledOneEndsAlone() async throws {
        let group = TrackProducer(name: "t").appendGroup()
        let parked = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: [String].self) { tasks in
            for _ in 0..<3 {
                tasks.addTask {
                    var frames: [String] = []
                    for try await frame in group.consume() { frames.append(String(buffer: frame.payload)) }
                    return frames
                }
            }
            // One more consumer, cancelled while it waits for a frame that never comes to it.
            let cancelled = Task {
                var iterator = group.consume().makeAsyncIterator()
                parked.withLockedValue { $0 += 1 }
                return try await iterator.next()
            }
            for _ in 0..<200 where parked.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(20))
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
            for index in 0..<50 {
                group.write(ByteBuffer(string: "frame-\(index)"))
                if index % 10 == 0 { await Task.yield() }
            }
            group.finish()
            let expected = (0..<50).map { "frame-\($0)" }
            for try await frames in tasks { #expect(frames == expected) }
        }
    }

    @Test func abortedGroupThrowsItsCode() async throws {
        let group = TrackProducer(name: "t").appendGroup()
        group.write(ByteBuffer(string: "partial"))
        group.abort(.evicted)
        await #expect(throws: MoQStreamError.evicted) { _ = try await group.consume().collect() }
    }

    @Test func trackConsumerStartsAtTheLiveEdgeAndFollows() async throws {
        let track = TrackProducer(name: "clock")
        for index in 0..<3 {
            let group = track.appendGroup()
            group.write(ByteBuffer(string: "g\(index)"))
            group.finish()
        }
        var consumer = track.consume().makeAsyncIterator()
        let first = try #require(try await consumer.next())
        #expect(first.sequence == 2)
        let producer = track.appendGroup()
        producer.write(ByteBuffer(string: "g3"))
        producer.finish()
        let second = try #require(try await consumer.next())
        #expect(second.sequence == 3)
        #expect(try await second.collect().map { String(buffer: $0.payload) } == ["g3"])
        track.finish()
        #expect(try await consumer.next() == nil)
    }

    @Test func consumerFromAGroupFloorGetsRetainedHistory() async throws {
        let track = TrackProducer(name: "t")
        for _ in 0..<5 { track.appendGroup().finish() }
        var consumer = track.consume(from: .group(2)).makeAsyncIterator()
        #expect(try await consumer.next()?.sequence == 2)
        #expect(try await consumer.next()?.sequence == 3)
        #expect(try await consumer.next()?.sequence == 4)
    }

    @Test func slowConsumerSkipsEvictedGroupsAndNeverStallsTheProducer() async throws {
        let track = TrackProducer(name: "t", maxRetainedGroups: 4)
        var slow = track.consume(from: .group(0)).makeAsyncIterator()
        track.appendGroup().finish()
        #expect(try await slow.next()?.sequence == 0)
        // The producer races ahead by 100 groups without waiting for anyone.
        for _ in 0..<100 { track.appendGroup().finish() }
        let next = try #require(try await slow.next())
        #expect(next.sequence == 97, "the slow consumer resumes at the oldest retained group")
        #expect(track.group(50) == nil)
        #expect(track.group(100)?.sequence == 100)
    }

    @Test func explicitSequencesKeepOrderAndGaps() async throws {
        let track = TrackProducer(name: "t")
        track.createGroup(sequence: 10).finish()
        track.createGroup(sequence: 7).finish()
        #expect(track.latestSequence == 10)
        #expect(track.appendGroup().sequence == 11)
        var consumer = track.consume(from: .group(0)).makeAsyncIterator()
        #expect(try await consumer.next()?.sequence == 7)
        #expect(try await consumer.next()?.sequence == 10)
    }

    @Test func broadcastTracksAndOnDemandCreation() throws {
        let requested = ManagedNames()
        let broadcast = BroadcastProducer(path: "/room/cam/") { name in
            requested.append(name)
            return name.hasPrefix("ok") ? TrackProducer(name: name) : nil
        }
        #expect(broadcast.path == "room/cam")
        broadcast.createTrack("video")
        let consumer = broadcast.consume()
        _ = try consumer.subscribe("video")
        _ = try consumer.subscribe("ok-audio")
        _ = try consumer.subscribe("ok-audio")
        #expect(throws: MoQStreamError.notFound) { _ = try consumer.subscribe("missing") }
        #expect(requested.names == ["ok-audio", "missing"])
    }

    @Test func originAnnouncesByPrefixWithHopsAndUnannouncesOnEnd() async throws {
        let origin = Origin()
        let existing = BroadcastProducer(path: "room/a")
        origin.publish(existing, hops: [7])
        origin.publish(BroadcastProducer(path: "other/x"))
        var announcements = origin.announcements(prefix: "/room/").makeAsyncIterator()
        #expect(await announcements.next() == .active(path: "room/a", hops: [7]))
        let later = BroadcastProducer(path: "room/b")
        origin.publish(later)
        origin.publish(BroadcastProducer(path: "roomy/c"))  // not under "room": whole segments only
        #expect(await announcements.next() == .active(path: "room/b", hops: []))
        later.finish()
        #expect(await announcements.next() == .ended(path: "room/b"))
        #expect(origin.announced(prefix: "") == ["other/x", "room/a", "roomy/c"])
        #expect(origin.consume("/room/a/")?.path == "room/a")
        #expect(origin.consume("room/b") == nil)
    }

    @Test func theShortestRouteIsUsedAndTheNextTakesOverWhenItEnds() async throws {
        let origin = Origin()
        var announcements = origin.announcements(prefix: "cam").makeAsyncIterator()
        let far = BroadcastProducer(path: "cam")
        origin.publish(far, hops: [1, 2])
        #expect(await announcements.next() == .active(path: "cam", hops: [1, 2]))
        let near = BroadcastProducer(path: "cam")
        origin.publish(near, hops: [1])  // shorter: in use now
        #expect(await announcements.next() == .active(path: "cam", hops: [1]))
        let longer = BroadcastProducer(path: "cam")
        origin.publish(longer, hops: [3, 4, 5])  // kept aside, nothing announced
        #expect(origin.hops(of: "cam") == [1])
        near.finish()  // the next shortest takes over
        #expect(await announcements.next() == .active(path: "cam", hops: [1, 2]))
        #expect(origin.consume("cam")?.state === far.state)
        origin.publish(far, hops: [6])  // the same broadcast with a new chain: an update, no second route
        #expect(await announcements.next() == .active(path: "cam", hops: [6]))
        far.finish()
        #expect(await announcements.next() == .active(path: "cam", hops: [3, 4, 5]))
        longer.finish()
        #expect(await announcements.next() == .ended(path: "cam"))
        #expect(origin.announced() == [])
    }

    @Test func theCheapestRouteWinsOverTheShortestAndFailoverPicksTheCheapest() async throws {
        let origin = Origin()
        var announcements = origin.announcements(prefix: "cam").makeAsyncIterator()
        let direct = BroadcastProducer(path: "cam")
        origin.publish(direct, hops: [1], cost: 10)
        #expect(await announcements.next() == .active(path: "cam", hops: [1], cost: 10))
        let twoHops = BroadcastProducer(path: "cam")
        origin.publish(twoHops, hops: [1, 2], cost: 2)  // longer but cheaper: in use
        #expect(await announcements.next() == .active(path: "cam", hops: [1, 2], cost: 2))
        let threeHops = BroadcastProducer(path: "cam")
        origin.publish(threeHops, hops: [1, 3, 4], cost: 3)  // kept aside
        #expect(origin.route(to: "cam")?.cost == 2)
        twoHops.finish()  // the next cheapest takes over, though it is the longest
        #expect(await announcements.next() == .active(path: "cam", hops: [1, 3, 4], cost: 3))
        threeHops.finish()
        #expect(await announcements.next() == .active(path: "cam", hops: [1], cost: 10))
    }

    @Test func pathsNormalizeAndMatchBySegment() {
        #expect(MoQPath.normalize("/a//b/") == "a/b")
        #expect(MoQPath.normalize("/") == "")
        #expect(MoQPath.has("a/b", prefix: "a"))
        #expect(!MoQPath.has("ab", prefix: "a"))
        #expect(MoQPath.suffix(of: "room/cam1", under: "room") == "cam1")
        #expect(MoQPath.suffix(of: "room/cam1", under: "") == "room/cam1")
        #expect(MoQPath.join("", "demo") == "demo")
        #expect(MoQPath.join("room", "cam") == "room/cam")
    }
}

final class ManagedNames: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    func append(_ name: String) { box.withLockedValue { $0.append(name) } }
    var names: [String] { box.withLockedValue { $0 } }
}
