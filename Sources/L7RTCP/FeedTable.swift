import Logging
import MoQ
import NIOConcurrencyHelpers

/// The shared chunk feeds by (track, chunk size): created on first use, reused by every transmission
/// of that key, and stopped once no stateful transmission holds them and nobody pulled for a while.
final class FeedTable: Sendable {
    private struct Entry {
        let feed: ChunkFeed
        var holders: Int
    }

    private let entries = NIOLockedValueBox<[ChunkFeed.Key: Entry]>([:])
    /// Feeds by instance, for stateless tokens (which name the instance they were anchored on).
    private let byInstance = NIOLockedValueBox<[UInt64: ChunkFeed]>([:])
    let origin: Origin
    let configuration: L7RTCPConfiguration
    let logger: Logger

    init(origin: Origin, configuration: L7RTCPConfiguration, logger: Logger) {
        self.origin = origin
        self.configuration = configuration
        self.logger = logger
    }

    /// The live feed for `key` (a new one replaces a finished one); `hold` counts a stateful holder.
    /// nil when a new feed would pass `maxFeeds`.
    func feed(_ key: ChunkFeed.Key, hold: Bool, limited: Bool = false) -> ChunkFeed? {
        let found = entries.withLockedValue { entries -> (ChunkFeed, Bool)? in
            if var entry = entries[key], entry.feed.total == nil {
                if hold { entry.holders += 1 }
                entries[key] = entry
                return (entry.feed, false)
            }
            if limited, entries[key] == nil, entries.count >= configuration.maxFeeds { return nil }
            let feed = ChunkFeed(
                key: key, retentionChunks: configuration.retentionChunks, retentionBytes: configuration.retentionBytes)
            entries[key] = Entry(feed: feed, holders: hold ? 1 : 0)
            return (feed, true)
        }
        guard let (feed, created) = found else { return nil }
        if created {
            byInstance.withLockedValue { $0[feed.instance] = feed }
            feed.start(
                origin: origin, sourceGrace: .milliseconds(Int(configuration.sourceGrace * 1000)), logger: logger)
        }
        return feed
    }

    func feed(instance: UInt64) -> ChunkFeed? { byInstance.withLockedValue { $0[instance] } }

    /// A stateful holder let go of `feed`.
    func release(_ feed: ChunkFeed) {
        entries.withLockedValue { entries in
            if var entry = entries[feed.key], entry.feed === feed {
                entry.holders = max(0, entry.holders - 1)
                entries[feed.key] = entry
            }
        }
    }

    /// Stops feeds nobody holds and nobody pulled from for `idle`.
    func sweep(idle: Duration) {
        let now = ContinuousClock.now
        let stopped = entries.withLockedValue { entries -> [ChunkFeed] in
            var stopped: [ChunkFeed] = []
            for (key, entry) in entries where entry.holders == 0 && now - entry.feed.lastAccess > idle {
                stopped.append(entry.feed)
                entries[key] = nil
            }
            return stopped
        }
        let live = Set(entries.withLockedValue { $0.values.map(\.feed.instance) })
        byInstance.withLockedValue { table in
            for feed in stopped { table[feed.instance] = nil }
            // Feeds replaced after they ended: stateless ids stop finding them once nobody pulls.
            for (instance, feed) in table where !live.contains(instance) && now - feed.lastAccess > idle {
                table[instance] = nil
            }
        }
        for feed in stopped { feed.stop() }
    }

    func stopAll() {
        let all = entries.withLockedValue { entries in
            defer { entries = [:] }
            return entries.values.map(\.feed)
        }
        byInstance.withLockedValue { $0 = [:] }
        for feed in all { feed.stop() }
    }

    var retainedBytes: Int { entries.withLockedValue { $0.values.reduce(0) { $0 + $1.feed.retainedBytes } } }
    var count: Int { entries.withLockedValue { $0.count } }
}
