import NIOConcurrencyHelpers
public import NIOCore

/// Publisher-side properties of a track (TRACK_INFO on lite-05+).
public struct TrackInfo: Sendable, Equatable {
    /// Publisher priority: breaks ties between subscriptions of equal subscriber priority.
    public var priority: UInt8
    /// How long non-latest groups stay useful (the cache window).
    public var maxLatency: Duration
    /// Units per second of frame timestamps (must not be 0).
    public var timescale: UInt64

    /// The reference's defaults for a raw track: priority 127, 5 s, microseconds.
    public init(priority: UInt8 = 127, maxLatency: Duration = .seconds(5), timescale: UInt64 = 1_000_000) {
        self.priority = priority
        self.maxLatency = maxLatency
        self.timescale = max(1, timescale)
    }
}

/// Where a new track consumer starts.
public enum TrackStart: Sendable, Equatable {
    /// The latest group (the live edge).
    case latest
    /// The oldest retained group whose sequence is at least this.
    case group(UInt64)
}

/// The shared state of one track: its retained groups (the latest always, older ones within the track's
/// max latency and the retention bounds), and whether it ended.
final class TrackState: Sendable {
    struct Retained {
        let group: GroupState
        let arrival: NIODeadline
        /// Bytes charged to the cache budget once a newer group started (nil: not charged).
        var charged: Int?
    }

    struct State: WaiterHolding {
        var info: TrackInfo
        /// Retained groups, ascending by sequence.
        var groups: [Retained] = []
        var nextSequence: UInt64 = 0
        var finished = false
        var error: MoQStreamError?
        /// What each subscriber being served now asked for, by a token (a relay aggregates them upstream
        /// and ends unused upstream subscriptions).
        var preferences: [UInt64: SubscriberPreference] = [:]
        var nextPreferenceID: UInt64 = 0
        var subscribers: Int { preferences.count }
        /// Consumers iterating the track in this process (an NTRIP client, an HTTP pull, a session).
        var readers = 0
        /// Nobody reads the track, in this process or through a session.
        var isUnused: Bool { preferences.isEmpty && readers == 0 }
        var waiters = Waiters()
    }

    let name: String
    let maxRetainedGroups: Int
    let state: NIOLockedValueBox<State>
    /// The byte bound this track's older groups count against (nil: only time and count bound them).
    let budget: CacheBudget?

    init(name: String, info: TrackInfo, maxRetainedGroups: Int, budget: CacheBudget? = nil) {
        self.name = name
        self.maxRetainedGroups = max(1, maxRetainedGroups)
        self.state = NIOLockedValueBox(State(info: info))
        self.budget = budget
    }

    deinit {
        guard let budget else { return }
        budget.release(state.withLockedValue { $0.groups.reduce(0) { $0 + ($1.charged ?? 0) } })
    }

    /// Drops group `sequence` from the cache (the budget is over its bound) unless it is the latest.
    func dropCached(_ sequence: UInt64) {
        let released = state.withLockedValue { state -> Int in
            guard let index = state.groups.firstIndex(where: { $0.group.sequence == sequence }),
                index < state.groups.count - 1
            else { return 0 }
            return state.groups.remove(at: index).charged ?? 0
        }
        if released > 0 { budget?.release(released) }
    }

    func update<T>(_ body: (inout State) -> T) -> T {
        let (result, waiters) = state.withLockedValue { state -> (T, WokenWaiters) in
            let result = body(&state)
            return (result, state.waiters.takeAll())
        }
        waiters.resumeAll()
        return result
    }

    /// Waits until a group newer than `sequence` exists (nil: any group), the track ended, or the task
    /// is cancelled.
    func waitForGroup(after sequence: UInt64?) async {
        await waitUntil(state) { state in
            if state.finished || state.error != nil { return true }
            guard let last = state.groups.last else { return false }
            return sequence.map { last.group.sequence > $0 } ?? true
        }
    }

    /// Drops groups that fell out of the window: older than max latency behind the newest arrival, or
    /// past the count bound. The latest group always stays. Returns the budget bytes they had charged.
    static func evict(_ state: inout State, now: NIODeadline, maxGroups: Int) -> Int {
        guard state.groups.count > 1 else { return 0 }
        let window = TimeAmount.nanoseconds(Int64(clamping: state.info.maxLatency.nanosecondsClamped))
        var drop = 0
        while drop < state.groups.count - 1 {
            let candidate = state.groups[drop]
            let tooMany = state.groups.count - drop > maxGroups
            let tooOld = now - candidate.arrival > window && candidate.group.isFinished
            guard tooMany || tooOld else { break }
            drop += 1
        }
        guard drop > 0 else { return 0 }
        for retained in state.groups.prefix(drop) where !retained.group.isFinished {
            GroupProducer(state: retained.group).abort(.evicted)
        }
        let released = state.groups.prefix(drop).reduce(0) { $0 + ($1.charged ?? 0) }
        state.groups.removeFirst(drop)
        return released
    }
}

/// Registers one reader of a track for as long as it lives (a relay keeps an upstream subscription while
/// anyone reads the track, whether a downstream session or a consumer in this process).
final class ReaderLease: Sendable {
    let track: TrackState

    init(_ track: TrackState) {
        self.track = track
        track.update { $0.readers += 1 }
    }

    deinit { track.update { $0.readers -= 1 } }
}

/// What one subscriber asks of a track's delivery (SUBSCRIBE / SUBSCRIBE_UPDATE).
public struct SubscriberPreference: Sendable, Equatable {
    public var priority: UInt8
    public var maxLatency: Duration

    public init(priority: UInt8 = 0, maxLatency: Duration = .zero) {
        self.priority = priority
        self.maxLatency = maxLatency
    }

    /// The most demanding of `preferences`: highest priority, longest max latency.
    static func aggregate(_ preferences: [SubscriberPreference]) -> SubscriberPreference? {
        guard let first = preferences.first else { return nil }
        return preferences.dropFirst().reduce(first) {
            SubscriberPreference(priority: max($0.priority, $1.priority), maxLatency: max($0.maxLatency, $1.maxLatency))
        }
    }
}

/// Writes one track: a sequence of groups. Cheap to copy; all copies write the same track.
public struct TrackProducer: Sendable {
    let state: TrackState

    init(state: TrackState) { self.state = state }

    /// - Parameter cache: a byte bound shared with other tracks for the groups older than the latest.
    public init(name: String, info: TrackInfo = .init(), maxRetainedGroups: Int = 256, cache: CacheBudget? = nil) {
        self.state = TrackState(name: name, info: info, maxRetainedGroups: maxRetainedGroups, budget: cache)
    }

    public var name: String { state.name }
    public var info: TrackInfo { state.state.withLockedValue { $0.info } }
    /// Replaces the track's info (a relay learns it from the upstream TRACK_INFO).
    public func setInfo(_ info: TrackInfo) { state.update { $0.info = info } }

    /// Starts the next group (sequence = previous + 1, or 0).
    public func appendGroup() -> GroupProducer {
        createGroup(sequence: state.state.withLockedValue { $0.nextSequence })
    }

    /// Starts a group with an explicit sequence (a relay forwards the publisher's numbering). A sequence
    /// that already exists returns that group's producer.
    @discardableResult
    public func createGroup(sequence: UInt64) -> GroupProducer {
        createGroup(sequence: sequence, isDatagram: false)
    }

    /// Publishes a single-frame group that sessions deliver as a QUIC DATAGRAM (lite-05+): unreliable,
    /// unordered, no stream setup. Peers on lite-04 get it as an ordinary group stream.
    @discardableResult
    public func writeDatagram(_ payload: ByteBuffer, timestamp: UInt64 = 0) -> UInt64 {
        let sequence = state.state.withLockedValue { $0.nextSequence }
        let group = createGroup(sequence: sequence, isDatagram: true)
        group.write(payload, timestamp: timestamp)
        group.finish()
        return sequence
    }

    func createGroup(sequence: UInt64, isDatagram: Bool) -> GroupProducer {
        let maxGroups = state.maxRetainedGroups
        let charging = state.budget != nil
        let (producer, charge, released) = state.update { state -> (GroupProducer, (Int, UInt64)?, Int) in
            if let existing = state.groups.first(where: { $0.group.sequence == sequence }) {
                return (GroupProducer(state: existing.group), nil, 0)
            }
            let group = GroupState(sequence: sequence, isDatagram: isDatagram)
            let retained = TrackState.Retained(group: group, arrival: .now())
            let index = state.groups.firstIndex { $0.group.sequence > sequence } ?? state.groups.endIndex
            state.groups.insert(retained, at: index)
            state.nextSequence = max(state.nextSequence, sequence + 1)
            // The group this one displaces as the latest now counts against the cache budget.
            var charge: (Int, UInt64)?
            if charging, index == state.groups.count - 1, index > 0, state.groups[index - 1].charged == nil {
                let bytes = state.groups[index - 1].group.byteCount
                state.groups[index - 1].charged = bytes
                charge = (bytes, state.groups[index - 1].group.sequence)
            }
            let released = TrackState.evict(&state, now: retained.arrival, maxGroups: maxGroups)
            return (GroupProducer(state: group), charge, released)
        }
        if let budget = state.budget {
            if released > 0 { budget.release(released) }
            if let (bytes, displaced) = charge { budget.charge(bytes, track: state, sequence: displaced) }
        }
        return producer
    }

    /// The track is complete: consumers end after the groups already produced.
    public func finish() { state.update { $0.finished = true } }

    /// The track ends abnormally.
    public func abort(_ error: MoQStreamError) {
        state.update { state in
            if state.error == nil { state.error = error }
            for retained in state.groups where !retained.group.isFinished {
                GroupProducer(state: retained.group).abort(error)
            }
        }
    }

    public var isFinished: Bool { state.state.withLockedValue { $0.finished || $0.error != nil } }

    /// A session starts serving this track to a subscriber that asked for `preference`; returns its token.
    func subscriberJoined(_ preference: SubscriberPreference) -> UInt64 {
        state.update { state in
            state.nextPreferenceID += 1
            state.preferences[state.nextPreferenceID] = preference
            return state.nextPreferenceID
        }
    }

    /// The subscriber changed what it asks for (SUBSCRIBE_UPDATE).
    func subscriberUpdated(_ token: UInt64, _ preference: SubscriberPreference) {
        state.update { state in if state.preferences[token] != nil { state.preferences[token] = preference } }
    }

    func subscriberLeft(_ token: UInt64) { state.update { _ = $0.preferences.removeValue(forKey: token) } }

    /// What the subscribers served now ask for together: the highest priority and the longest max
    /// latency (nil when nobody is subscribed). A relay asks its upstream for this.
    public var subscriberPreference: SubscriberPreference? {
        state.state.withLockedValue { SubscriberPreference.aggregate(Array($0.preferences.values)) }
    }

    /// Returns once the aggregate subscriber preference differs from `known` (or the track ended).
    func waitForPreference(differentFrom known: SubscriberPreference?) async {
        await waitUntil(state.state) { state in
            state.finished || state.error != nil
                || SubscriberPreference.aggregate(Array(state.preferences.values)) != known
        }
    }

    /// Subscribers being served now.
    public var subscriberCount: Int { state.state.withLockedValue { $0.subscribers } }

    /// Returns once the track has had no subscriber for `linger` (or it ended).
    func waitUntilUnused(for linger: Duration) async {
        while !Task.isCancelled {
            await waitUntil(state.state) { $0.isUnused || $0.finished || $0.error != nil }
            if isFinished { return }
            try? await Task.sleep(for: linger)
            if state.state.withLockedValue({ $0.isUnused }) { return }
        }
    }

    /// A consumer starting at `start`. `.latest` means the newest group now, or, if the track has none
    /// yet, the first one that comes.
    public func consume(from start: TrackStart = .latest) -> TrackConsumer {
        switch start {
        case .group: return TrackConsumer(state: state, start: start)
        case .latest:
            let floor = state.state.withLockedValue { $0.groups.last?.group.sequence ?? $0.nextSequence }
            return TrackConsumer(state: state, start: .group(floor))
        }
    }

    /// A retained group by sequence (FETCH), if still cached.
    public func group(_ sequence: UInt64) -> GroupConsumer? {
        state.state.withLockedValue { state in
            state.groups.first { $0.group.sequence == sequence }.map { GroupConsumer(state: $0.group) }
        }
    }

    /// Sequence of the newest group, if any.
    public var latestSequence: UInt64? { state.state.withLockedValue { $0.groups.last?.group.sequence } }

    /// Bytes held by the retained groups.
    public var retainedBytes: Int { state.state.withLockedValue { $0.groups.reduce(0) { $0 + $1.group.byteCount } } }
}

/// Reads a track group by group, starting at the live edge (or a given group), always moving forward:
/// a consumer that falls behind the retention window skips the groups that were evicted.
public struct TrackConsumer: AsyncSequence, Sendable {
    public typealias Element = GroupConsumer
    let state: TrackState
    let start: TrackStart

    public var name: String { state.name }
    public var info: TrackInfo { state.state.withLockedValue { $0.info } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let state: TrackState
        let start: TrackStart
        var last: UInt64?
        /// Counts this iterator as a reader of the track while it exists.
        let lease: ReaderLease

        init(state: TrackState, start: TrackStart, last: UInt64?) {
            self.state = state
            self.start = start
            self.last = last
            self.lease = ReaderLease(state)
        }

        public mutating func next() async throws -> GroupConsumer? {
            while true {
                let outcome = state.state.withLockedValue { state -> Result<GroupState?, MoQStreamError>? in
                    let candidate: TrackState.Retained?
                    if let last {
                        candidate = state.groups.first { $0.group.sequence > last }
                    } else {
                        switch start {
                        case .latest: candidate = state.groups.last
                        case .group(let floor):
                            candidate = state.groups.first { $0.group.sequence >= floor }
                        }
                    }
                    if let candidate { return .success(candidate.group) }
                    if let error = state.error { return .failure(error) }
                    if state.finished { return .success(nil) }
                    return nil
                }
                switch outcome {
                case .success(let group?):
                    last = group.sequence
                    return GroupConsumer(state: group)
                case .success(nil):
                    return nil
                case .failure(let error):
                    throw error
                case nil:
                    try Task.checkCancellation()
                    await state.waitForGroup(after: last)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(state: state, start: start, last: nil) }
}

extension Duration {
    /// Nanoseconds, clamped to Int64.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }

    /// Whole milliseconds (the wire unit of max latency).
    public var milliseconds: UInt64 { UInt64(max(0, nanosecondsClamped / 1_000_000)) }
}
