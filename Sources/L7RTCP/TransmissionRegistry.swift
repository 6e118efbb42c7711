import Foundation
import Logging
import NIOCore

/// The stateful transmissions (lifecycle state only): creates, resumes, answers each request through the
/// `Transmission` value type, persists what changed, and drops transmissions past TTL + grace or idle.
/// Chunk bytes stay in the shared feeds; long-polls wait outside the actor.
actor TransmissionRegistry {
    private struct Entry {
        var transmission: Transmission
        /// The feed of each stream (nil for a stream that needs none: complete or cancelled at restore).
        var feeds: [ChunkFeed?]
    }

    private var entries: [String: Entry] = [:]
    private var deleted: [String] = []
    /// Ids a shared journal did not have, and when it was asked (see `adopt`).
    private var misses: [String: Double] = [:]
    nonisolated let feeds: FeedTable
    let journal: (any TransmissionJournal)?
    let configuration: L7RTCPConfiguration
    let logger: Logger
    let clock: @Sendable () -> Double

    init(
        feeds: FeedTable, journal: (any TransmissionJournal)?, configuration: L7RTCPConfiguration, logger: Logger,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.feeds = feeds
        self.journal = journal
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    var count: Int { entries.count }
    var waiting: Int { entries.values.reduce(0) { $0 + $1.transmission.waiting } }

    /// Reloads persisted transmissions (after a restart), each stream in a new id epoch on a fresh feed. A shared
    /// journal restores nothing here: its transmissions are adopted one by one when a request names them.
    func restore(now: Double) {
        guard let journal, !journal.isShared else { return }
        do {
            for record in try journal.loadAll() where record.expiresAt > now { install(record) }
            logger.info("l7rtcp: restored \(entries.count) transmissions")
        } catch {
            logger.error("l7rtcp: cannot load persisted transmissions: \(error)")
        }
    }

    /// Serves persisted `record` from now on: a new id epoch per stream (ids below its reservation answer
    /// `chunk_evicted`), each active or paused stream on a fresh feed.
    private func install(_ record: PersistedTransmission) {
        var transmission = Transmission(restoring: record)
        var streamFeeds: [ChunkFeed?] = []
        for (index, stream) in transmission.streams.enumerated() {
            guard stream.status == .active || stream.status == .paused,
                let spec = StreamSpec(stream.id), let source = TrackSource(spec)
            else {
                streamFeeds.append(nil)
                continue
            }
            let feed = feeds.feed(.init(source: source, chunkSize: transmission.chunkSize), hold: true)!
            transmission.streams[index].feedInstance = feed.instance
            transmission.streams[index].feedBase = feed.joinPoint
            streamFeeds.append(feed)
        }
        transmission.dirty = true
        entries[transmission.id] = Entry(transmission: transmission, feeds: streamFeeds)
    }

    /// With a shared journal, adopts transmission `id` when this node does not hold it (another node created
    /// it, or this node before a restart), as a restore does. Ids that are not well-formed never reach the store.
    /// A miss is remembered for a second (at most 4096 ids), so a stream of requests for unknown ids costs the
    /// store one lookup per id and second.
    private func adopt(_ id: String, now: Double) {
        guard entries[id] == nil, let journal, journal.isShared, TransmissionID.isValid(id) else { return }
        if let missed = misses[id], now - missed < 1 { return }
        do {
            guard let record = try journal.load(id: id, now: now) else {
                if misses.count >= 4096 { misses.removeAll(keepingCapacity: true) }
                misses[id] = now
                return
            }
            misses[id] = nil
            install(record)
            logger.info("l7rtcp: adopted transmission \(id) from the shared store")
        } catch {
            logger.error("l7rtcp: cannot look up transmission \(id): \(error)")
        }
    }

    /// Registers a new transmission whose streams were attached to `streamFeeds`, and persists it at once.
    func create(_ transmission: Transmission, feeds streamFeeds: [ChunkFeed]) throws {
        var transmission = transmission
        for (index, feed) in streamFeeds.enumerated() {
            transmission.streams[index].feedInstance = feed.instance
            transmission.streams[index].feedBase = feed.joinPoint
            transmission.streams[index].reserve = Transmission.reserveStep
        }
        try journal?.save([transmission.persisted(grace: configuration.expiredGrace)])
        transmission.dirty = false
        let attached = transmission.streams.indices.map { $0 < streamFeeds.count ? streamFeeds[$0] : nil }
        entries[transmission.id] = Entry(transmission: transmission, feeds: attached)
    }

    func resume(id: String, clientID: String, now: Double) -> Result<Transmission, L7RTCPError> {
        adopt(id, now: now)
        guard var entry = entries[id] else { return .failure(.transmissionNotFound) }
        defer { entries[id] = entry }
        return entry.transmission.resume(clientID: clientID, now: now).map { entry.transmission }
    }

    /// What a pull gets right now: a reply, or the feed to wait on when the chunk is not produced yet.
    enum PullOutcome: Sendable {
        case reply(Transmission.PullReply, advice: BackpressureAdvice, next: UInt64)
        case wait(ChunkFeed, feedID: UInt64)
    }

    func pull(
        id: String, stream: String, packet: UInt64, now: Double, waiting: Bool, globalRatios: [Double]
    ) -> PullOutcome {
        adopt(id, now: now)
        guard var entry = entries[id] else { return .reply(.refused(.transmissionNotFound), advice: .low, next: 0) }
        defer { entries[id] = entry }
        var step = entry.transmission.pull(stream: stream, packet: packet, now: now)
        if case .reserve(let index, let upTo) = step {
            var candidate = entry.transmission
            candidate.streams[index].reserve = upTo
            do {
                try journal?.save([candidate.persisted(grace: configuration.expiredGrace)])
                entry.transmission.streams[index].reserve = upTo
                step = entry.transmission.pull(stream: stream, packet: packet, now: now)
            } catch {
                logger.error("l7rtcp: cannot persist a reservation: \(error)")
                return .reply(
                    .refused(.overloaded(retryAfter: configuration.stopRetryAfter)), advice: .stop, next: packet)
            }
        }
        let reply: Transmission.PullReply
        switch step {
        case .refuse(let error):
            return .reply(.refused(error), advice: advice(entry.transmission, globalRatios), next: packet)
        case .reserve:
            return .reply(.refused(.overloaded(retryAfter: 1)), advice: .stop, next: packet)
        case .pinned(_, let index):
            reply = entry.transmission.servedPinned(index: index, packet: packet)
        case .fetch(let index, let feedID):
            guard let feed = entry.feeds[index] else {
                return .reply(.refused(.chunkEvicted(oldestAvailable: packet + 1)), advice: .low, next: packet)
            }
            let lookup = feed.lookup(feedID)
            if lookup == .notYet, waiting { return .wait(feed, feedID: feedID) }
            reply = entry.transmission.complete(index: index, packet: packet, lookup: lookup)
        }
        let advice = advice(entry.transmission, globalRatios)
        if case .chunk = reply, entry.transmission.has(.backpressure), advice == .stop {
            entry.transmission.stopUntil = now + Double(configuration.stopRetryAfter)
        }
        return .reply(reply, advice: advice, next: packet + 1)
    }

    private func advice(_ transmission: Transmission, _ global: [Double]) -> BackpressureAdvice {
        guard transmission.has(.backpressure) else { return .low }
        let own = Double(transmission.waiting) / Double(max(1, configuration.maxWaitersPerTransmission))
        return .compute(ratios: global + [own])
    }

    func adjustWaiting(id: String, by delta: Int) {
        entries[id]?.transmission.waiting += delta
    }

    func control(id: String, _ control: StreamControl, now: Double) -> Result<
        [(stream: String, command: StreamControl.Command, status: Transmission.StreamStatus)], L7RTCPError
    > {
        adopt(id, now: now)
        guard var entry = entries[id] else { return .failure(.transmissionNotFound) }
        defer { entries[id] = entry }
        let result = entry.transmission.control(control, now: now)
        if case .success(let applied) = result {
            for item in applied where item.status == .cancelled {
                let index = entry.transmission.streamIndex(item.stream)!
                if let feed = entry.feeds[index] {
                    feeds.release(feed)
                    entry.feeds[index] = nil
                }
            }
        }
        return result
    }

    func resend(id: String, stream: String, chunks: [UInt64], now: Double) -> Result<
        (queued: [UInt64], unavailable: [UInt64]), L7RTCPError
    > {
        adopt(id, now: now)
        guard var entry = entries[id] else { return .failure(.transmissionNotFound) }
        defer { entries[id] = entry }
        let feed = entry.transmission.streamIndex(stream).flatMap { entry.feeds[$0] }
        return entry.transmission.resend(
            stream: stream, chunks: chunks, now: now, maxChunks: configuration.maxResendChunks,
            maxPinned: configuration.maxPinnedChunks
        ) { feedID in feed?.lookup(feedID) ?? .evicted(oldest: 0) }
    }

    /// The transmission and, per stream, the oldest packet id its feed still holds.
    func status(id: String) -> (Transmission, [UInt64?])? {
        adopt(id, now: clock())
        guard let entry = entries[id] else { return nil }
        let oldest = entry.transmission.streams.enumerated().map { index, stream -> UInt64? in
            guard let feed = entry.feeds[index] else { return nil }
            let feedOldest = feed.oldest
            return feedOldest >= stream.feedBase
                ? stream.epochStart + (feedOldest - stream.feedBase) : stream.epochStart
        }
        return (entry.transmission, oldest)
    }

    /// Drops transmissions past TTL + grace or idle, and saves what changed.
    func sweep(now: Double) {
        for (id, entry) in entries {
            let transmission = entry.transmission
            if now > transmission.expiresAt + configuration.expiredGrace
                || now - transmission.lastReceived > configuration.idleTimeout
            {
                for feed in entry.feeds.compactMap({ $0 }) { feeds.release(feed) }
                entries[id] = nil
                deleted.append(id)
            }
        }
        flush()
    }

    /// Persists every changed transmission and the deletions.
    func flush() {
        guard let journal else { return }
        let dirty = entries.values.filter(\.transmission.dirty).map {
            $0.transmission.persisted(grace: configuration.expiredGrace)
        }
        do {
            if !dirty.isEmpty { try journal.save(dirty) }
            if !deleted.isEmpty { try journal.delete(deleted) }
            for record in dirty { entries[record.id]?.transmission.dirty = false }
            deleted = []
        } catch {
            logger.error("l7rtcp: cannot persist transmissions: \(error)")
        }
    }
}
