import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import MoQ

/// The relay cache's byte bound across tracks, without sockets.
@Suite struct CacheBudgetTests {
    /// Writes a finished group of `bytes` bytes.
    func write(_ track: TrackProducer, _ bytes: Int) {
        let group = track.appendGroup()
        group.write(ByteBuffer(repeating: 7, count: bytes))
        group.finish()
    }

    func cached(_ track: TrackProducer) -> [UInt64] {
        track.state.state.withLockedValue { $0.groups.map(\.group.sequence) }
    }

    @Test func olderGroupsAreDroppedOldestFirstAcrossTracksAndTheLatestAlwaysStays() {
        let budget = CacheBudget(limit: 10_000)
        let info = TrackInfo(maxLatency: .seconds(600))  // time never evicts here: only the byte bound
        let audio = TrackProducer(name: "audio", info: info, cache: budget)
        let video = TrackProducer(name: "video", info: info, cache: budget)
        for _ in 0..<3 { write(video, 3_000) }  // video 0, 1 charged (6 KB); 2 is the latest
        for _ in 0..<2 { write(audio, 1_000) }  // audio 0 charged (7 KB)
        #expect(budget.bytes == 7_000)
        write(video, 3_000)  // video 2 charged: 10 KB, at the bound
        #expect(budget.bytes == 10_000)
        write(audio, 1_000)  // audio 1 charged: 11 KB > 10 KB, the oldest charged (video 0) goes
        #expect(budget.bytes == 8_000)
        #expect(cached(video) == [1, 2, 3])
        #expect(cached(audio) == [0, 1, 2])
        // A burst of big groups keeps only what fits, and each track's latest group.
        for _ in 0..<5 { write(video, 6_000) }
        #expect(budget.bytes <= 10_000)
        #expect(cached(video).last == 8)
        #expect(cached(audio).last == 2, "the latest group stays whatever the bound")
    }

    @Test func aZeroBoundKeepsOnlyTheLatestGroupAndDeadTracksGiveTheirBytesBack() {
        let budget = CacheBudget(limit: 0)
        let track = TrackProducer(name: "t", info: TrackInfo(maxLatency: .seconds(600)), cache: budget)
        for _ in 0..<4 { write(track, 500) }
        #expect(cached(track) == [3])
        #expect(budget.bytes == 0)

        let roomy = CacheBudget(limit: 1 << 20)
        do {
            let temporary = TrackProducer(name: "gone", info: TrackInfo(maxLatency: .seconds(600)), cache: roomy)
            for _ in 0..<4 { write(temporary, 500) }
            #expect(roomy.bytes == 1_500)
        }
        #expect(roomy.bytes == 0, "a track that is gone releases its charge")
    }
}

/// A relay keeps an upstream subscription while anyone reads the track, in this process or through a session.
@Suite struct TrackReaderTests {
    @Test func aTrackIsUnusedOnlyOnceItsLastReaderIsGone() async throws {
        let track = TrackProducer(name: "t")
        var reader: TrackConsumer.AsyncIterator? = track.consume().makeAsyncIterator()
        let done = NIOLockedValueBox(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await track.waitUntilUnused(for: .milliseconds(50))
                done.withLockedValue { $0 = true }
            }
            try await Task.sleep(for: .milliseconds(400))
            #expect(!done.withLockedValue { $0 }, "an in-process reader keeps the track in use")
            #expect(reader != nil)
            reader = nil
            try await group.next()
            #expect(done.withLockedValue { $0 })
        }
    }
}
