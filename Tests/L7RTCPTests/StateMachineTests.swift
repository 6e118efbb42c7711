import L7RTCP
import NIOCore
import Testing

/// Chunking, retention, served sets and the transmission state machine, driven without sockets.
@Suite struct StateMachineTests {
    static func bytes(_ count: Int, _ seed: UInt8 = 0) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0) &+ seed })
    }

    @Test func chunkerJoinsWholeFramesAndCutsOnlyOversizedOnes() {
        var chunker = Chunker(chunkSize: 100)
        #expect(chunker.add(Self.bytes(40)).isEmpty)
        #expect(chunker.add(Self.bytes(40)).isEmpty)
        // 80 + 40 > 100: the pending two frames go out whole, the third waits.
        #expect(chunker.add(Self.bytes(40)).map(\.readableBytes) == [80])
        // An oversized frame: pending first, then cut into full chunks, the rest pending.
        #expect(chunker.add(Self.bytes(250)).map(\.readableBytes) == [40, 100, 100])
        #expect(chunker.flush()?.readableBytes == 50)
        #expect(chunker.flush() == nil)
        var exact = Chunker(chunkSize: 64)
        #expect(exact.add(Self.bytes(64)).map(\.readableBytes) == [64])
    }

    @Test func chunkerKnowsWhenItHoldsAFramesTail() {
        var chunker = Chunker(chunkSize: 100)
        _ = chunker.add(Self.bytes(40))
        #expect(!chunker.holdsFrameTail)
        // Cut: 40 goes out, 100 + 100, the last 50 bytes of the frame wait.
        #expect(chunker.add(Self.bytes(250)).map(\.readableBytes) == [40, 100, 100])
        #expect(chunker.holdsFrameTail)
        // A small frame joins the tail: the pending chunk still begins mid-frame.
        #expect(chunker.add(Self.bytes(30)).isEmpty)
        #expect(chunker.holdsFrameTail)
        // The tail goes out; the new frame starts the pending bytes.
        #expect(chunker.add(Self.bytes(60)).map(\.readableBytes) == [80])
        #expect(!chunker.holdsFrameTail)
        #expect(chunker.add(Self.bytes(340)).map(\.readableBytes) == [60, 100, 100, 100])
        #expect(chunker.holdsFrameTail)
        #expect(chunker.flush()?.readableBytes == 40)
        #expect(!chunker.holdsFrameTail)
        // A frame of whole chunks leaves no tail.
        #expect(chunker.add(Self.bytes(300)).map(\.readableBytes) == [100, 100, 100])
        #expect(!chunker.holdsFrameTail)
    }

    @Test func chunksConcatenateToTheFrames() {
        var chunker = Chunker(chunkSize: 77)
        var frames = ByteBuffer()
        var chunks = ByteBuffer()
        for index in 0..<50 {
            let frame = Self.bytes(1 + (index * 37) % 200, UInt8(index))
            frames.writeImmutableBuffer(frame)
            for chunk in chunker.add(frame) {
                #expect(chunk.readableBytes <= 77)
                chunks.writeImmutableBuffer(chunk)
            }
        }
        if let last = chunker.flush() { chunks.writeImmutableBuffer(last) }
        #expect(chunks == frames)
    }

    @Test func ringEvictsByCountAndBytesAndKnowsTheEnd() {
        var ring = ChunkRing(maxChunks: 3, maxBytes: 1000)
        for index in 0..<5 { ring.append(Self.bytes(10, UInt8(index))) }
        #expect(ring.oldest == 2 && ring.next == 5)
        #expect(ring.lookup(1) == .evicted(oldest: 2))
        #expect(ring.lookup(4) == .chunk(Chunk(Self.bytes(10, 4)), isLast: false))
        #expect(ring.lookup(5) == .notYet)
        ring.append(Self.bytes(995))
        #expect(ring.oldest == 5 && ring.retained == 1)
        ring.finish()
        #expect(ring.lookup(5) == .chunk(Chunk(Self.bytes(995)), isLast: true))
        #expect(ring.lookup(6) == .pastEnd(total: 6))
    }

    @Test func servedSetKeepsRanges() {
        var set = ServedSet()
        for id: UInt64 in [0, 1, 2, 5, 7, 6, 3] { set.insert(id) }
        #expect(set.ranges == [0...3, 5...7])
        #expect(set.missingRanges == [4...4])
        set.insert(4)
        #expect(set.ranges == [0...7] && set.count == 8 && set.contains(7) && !set.contains(8))
    }

    static func transmission(features: [Feature] = [.core, .resend, .ttl, .backpressure, .multistream, .pull, .pause])
        -> Transmission
    {
        var transmission = Transmission(
            id: "tx-1", clientID: "c", features: features, streams: ["a", "b"], chunkSize: 100, maxPacketSize: nil,
            ttl: 60, now: 1000)
        for index in transmission.streams.indices {
            transmission.streams[index].feedInstance = 1
            transmission.streams[index].feedBase = 10
            transmission.streams[index].reserve = Transmission.reserveStep
        }
        return transmission
    }

    @Test func pullChecksInOrderAndMapsIdsOntoTheFeed() {
        var transmission = Self.transmission()
        #expect(transmission.pull(stream: "zzz", packet: 0, now: 1001) == .refuse(.unknownStream("zzz")))
        #expect(transmission.pull(stream: "a", packet: 3, now: 1001) == .fetch(index: 0, feedID: 13))
        let reply = transmission.complete(index: 0, packet: 3, lookup: .chunk(Chunk(Self.bytes(5)), isLast: false))
        #expect(reply == .chunk(Chunk(Self.bytes(5)), isLast: false, next: 4, total: nil))
        #expect(transmission.streams[0].served.ranges == [3...3])
        #expect(transmission.complete(index: 0, packet: 4, lookup: .notYet) == .notYet(next: 4))
        #expect(
            transmission.complete(index: 0, packet: 0, lookup: .evicted(oldest: 12))
                == .refused(.chunkEvicted(oldestAvailable: 2)))
        // The last chunk completes the stream; ids past it are refused.
        #expect(
            transmission.complete(index: 1, packet: 0, lookup: .chunk(Chunk(Self.bytes(1)), isLast: true))
                == .chunk(Chunk(Self.bytes(1)), isLast: true, next: 1, total: 1))
        #expect(transmission.pull(stream: "b", packet: 1, now: 1001) == .refuse(.streamComplete(total: 1)))
        #expect(transmission.isAlive(now: 1001))
        // TTL is absolute from creation.
        #expect(transmission.pull(stream: "a", packet: 0, now: 1061) == .refuse(.transmissionExpired))
        #expect(!transmission.isAlive(now: 1061))
    }

    @Test func pauseResumeCancelAreAllOrNothing() throws {
        var transmission = Self.transmission()
        let pause = StreamControl(items: [.init(stream: "a", command: .pause)])
        _ = try transmission.control(pause, now: 1001).get()
        #expect(transmission.pull(stream: "a", packet: 0, now: 1001) == .refuse(.streamPaused("a")))
        // Idempotent.
        #expect(try transmission.control(pause, now: 1001).get().map(\.status) == [.paused])
        // One bad item: nothing is applied.
        let mixed = StreamControl(items: [
            .init(stream: "a", command: .resume), .init(stream: "nope", command: .cancel),
        ])
        #expect(throws: L7RTCPError.badStreamControl(item: "nope")) { try transmission.control(mixed, now: 1001).get() }
        #expect(transmission.streams[0].status == .paused)
        _ = try transmission.control(StreamControl(items: [.init(stream: "a", command: .resume)]), now: 1001).get()
        #expect(transmission.pull(stream: "a", packet: 0, now: 1001) == .fetch(index: 0, feedID: 10))
        _ = try transmission.control(StreamControl(items: [.init(stream: "b", command: .cancel)]), now: 1001).get()
        #expect(transmission.pull(stream: "b", packet: 0, now: 1001) == .refuse(.streamCancelled("b")))
        // Cancelled is terminal.
        #expect(
            try transmission.control(StreamControl(items: [.init(stream: "b", command: .resume)]), now: 1001).get()
                .map(\.status) == [.cancelled])
        var noPause = Self.transmission(features: [.core, .pull])
        #expect(throws: L7RTCPError.featureNotEnabled(.pause)) { try noPause.control(pause, now: 1001).get() }
        #expect(throws: L7RTCPError.transmissionExpired) { try transmission.control(pause, now: 2000).get() }
    }

    @Test func resendPinsAvailableChunks() throws {
        var transmission = Self.transmission()
        let split = try transmission.resend(stream: "a", chunks: [0, 1, 2], now: 1001, maxChunks: 1024) { feedID in
            feedID == 10 ? .evicted(oldest: 11) : .chunk(Chunk(Self.bytes(Int(feedID))), isLast: false)
        }.get()
        #expect(split.queued == [1, 2] && split.unavailable == [0])
        // Pinned chunks are served from the pin even after the feed evicted them.
        #expect(transmission.pull(stream: "a", packet: 1, now: 1001) == .pinned(Chunk(Self.bytes(11)), index: 0))
        #expect(throws: L7RTCPError.tooManyChunks(limit: 2)) {
            try transmission.resend(stream: "a", chunks: [0, 1, 2], now: 1001, maxChunks: 2) { _ in .notYet }.get()
        }
        // Pins are bounded per transmission.
        var bounded = Self.transmission()
        let capped = try bounded.resend(stream: "a", chunks: [0, 1, 2], now: 1001, maxChunks: 9, maxPinned: 2) {
            .chunk(Chunk(Self.bytes(Int($0))), isLast: false)
        }.get()
        #expect(capped.queued == [0, 1] && capped.unavailable == [2])
        var noResend = Self.transmission(features: [.core, .pull])
        #expect(throws: L7RTCPError.featureNotEnabled(.resend)) {
            try noResend.resend(stream: "a", chunks: [0], now: 1001, maxChunks: 9) { _ in .notYet }.get()
        }
    }

    @Test func resumeChecksClientAndExpiry() {
        var transmission = Self.transmission()
        #expect(throws: L7RTCPError.clientMismatch) { try transmission.resume(clientID: "other", now: 1001).get() }
        #expect((try? transmission.resume(clientID: "c", now: 1001).get()) != nil)
        #expect(throws: L7RTCPError.transmissionExpired) { try transmission.resume(clientID: "c", now: 1100).get() }
    }

    @Test func backpressureStopRefusesUntilRetryAfter() {
        var transmission = Self.transmission()
        transmission.stopUntil = 1002
        #expect(transmission.pull(stream: "a", packet: 0, now: 1001) == .refuse(.overloaded(retryAfter: 1)))
        #expect(transmission.pull(stream: "a", packet: 0, now: 1002.5) == .fetch(index: 0, feedID: 10))
        #expect(BackpressureAdvice.compute(ratios: [0.05]) == .none)
        #expect(BackpressureAdvice.compute(ratios: [0.2, 0.6]) == .medium)
        #expect(BackpressureAdvice.compute(ratios: [1.0]) == .stop)
    }

    @Test func idsPastTheReservationAskForOne() {
        var transmission = Self.transmission()
        transmission.streams[0].reserve = 5
        #expect(
            transmission.pull(stream: "a", packet: 5, now: 1001)
                == .reserve(index: 0, upTo: 5 + Transmission.reserveStep))
        #expect(transmission.pull(stream: "a", packet: 4, now: 1001) == .fetch(index: 0, feedID: 14))
    }
}
