import NIOConcurrencyHelpers

/// A byte bound shared by the cached groups of many tracks (a relay's `--cache-bytes`). Every track
/// keeps its latest group whatever the bound; older groups are charged here when a newer one starts and
/// dropped oldest-first, across tracks, while the total is over the limit.
public final class CacheBudget: Sendable {
    public let limit: Int

    private struct Entry {
        weak var track: TrackState?
        let sequence: UInt64
    }

    private struct State {
        var total = 0
        /// Charged groups in the order they were charged; `head` is the oldest still queued.
        var queue: [Entry] = []
        var head = 0
    }

    private let state = NIOLockedValueBox(State())

    public init(limit: Int) { self.limit = max(0, limit) }

    /// Bytes of older groups held now (latest groups are not counted).
    public var bytes: Int { state.withLockedValue { $0.total } }

    /// An older group of `track` now counts against the bound; drops the oldest groups while over it.
    func charge(_ bytes: Int, track: TrackState, sequence: UInt64) {
        state.withLockedValue { state in
            state.total += bytes
            state.queue.append(Entry(track: track, sequence: sequence))
        }
        while let victim = nextVictim() {
            // The track lock is taken outside ours: tracks call `release` while holding theirs.
            victim.track?.dropCached(victim.sequence)
        }
    }

    /// A charged group left the cache (dropped here, or aged out by its track).
    func release(_ bytes: Int) { state.withLockedValue { $0.total -= bytes } }

    private func nextVictim() -> Entry? {
        state.withLockedValue { state in
            guard state.total > limit, state.head < state.queue.count else { return nil }
            let entry = state.queue[state.head]
            state.head += 1
            if state.head > 1024, state.head * 2 > state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return entry
        }
    }
}
