import NIOConcurrencyHelpers

/// The shared state of one broadcast: its tracks, an optional source of tracks on demand, and whether
/// it is still live.
final class BroadcastState: Sendable {
    struct State {
        var tracks: [String: TrackProducer] = [:]
        var ended = false
        var endWaiters: [CheckedContinuation<Void, Never>] = []
        var endHandlers: [@Sendable () -> Void] = []
        /// Creates a track when a consumer asks for one that does not exist yet (a session that
        /// subscribes upstream on demand); nil means unknown tracks are not found. A relay re-points it
        /// when a lost publisher comes back.
        var source: (@Sendable (String) -> TrackProducer?)?
        /// Starts feeding an existing track from the broadcast's upstream publisher (a session's upstream
        /// subscription into it); lets another route take over the tracks when this one's publisher is lost.
        var feeder: (@Sendable (TrackProducer) -> Void)?
    }

    let path: String
    let state: NIOLockedValueBox<State>

    init(path: String, onDemand: (@Sendable (String) -> TrackProducer?)?) {
        self.path = path
        self.state = NIOLockedValueBox(State(source: onDemand))
    }
}

/// Publishes one broadcast: a set of named tracks. Announce it by handing it to an `Origin`.
public struct BroadcastProducer: Sendable {
    let state: BroadcastState

    /// - Parameter onDemand: called (once per name) when a consumer asks for a track that does not exist;
    ///   return a producer to create it (it is kept), or nil for "not found".
    public init(path: String, onDemand: (@Sendable (String) -> TrackProducer?)? = nil) {
        state = BroadcastState(path: MoQPath.normalize(path), onDemand: onDemand)
    }

    public var path: String { state.path }

    /// Creates (or returns the existing) track `name`.
    @discardableResult
    public func createTrack(_ name: String, info: TrackInfo = .init(), maxRetainedGroups: Int = 256) -> TrackProducer {
        state.state.withLockedValue { state in
            if let existing = state.tracks[name] { return existing }
            let track = TrackProducer(name: name, info: info, maxRetainedGroups: maxRetainedGroups)
            state.tracks[name] = track
            return track
        }
    }

    /// Removes a track (it is finished first).
    public func removeTrack(_ name: String) {
        state.state.withLockedValue { $0.tracks.removeValue(forKey: name) }?.finish()
    }

    public var trackNames: [String] { state.state.withLockedValue { Array($0.tracks.keys) } }

    /// The broadcast's tracks now.
    var tracks: [TrackProducer] { state.state.withLockedValue { Array($0.tracks.values) } }

    /// Replaces the on-demand source of tracks (nil: unknown tracks are not found) and the feeder of
    /// existing ones.
    func setSource(
        _ source: (@Sendable (String) -> TrackProducer?)?, feeder: (@Sendable (TrackProducer) -> Void)? = nil
    ) {
        state.state.withLockedValue {
            $0.source = source
            $0.feeder = feeder
        }
    }

    /// Whether another broadcast can take over this one's tracks from its upstream (see `adopt`).
    var hasFeeder: Bool { state.state.withLockedValue { $0.feeder != nil } }

    /// Takes over `other`'s upstream: tracks asked for from now on come from its publisher, and the tracks
    /// still open here are fed from it too, so their readers carry on (a relay failing over to another route).
    func adopt(_ other: BroadcastProducer) {
        let (source, feeder) = other.state.state.withLockedValue { ($0.source, $0.feeder) }
        let open = state.state.withLockedValue { state -> [TrackProducer] in
            state.source = source
            state.feeder = feeder
            return Array(state.tracks.values)
        }
        guard let feeder else { return }
        for track in open where !track.isFinished { feeder(track) }
    }

    /// Ends the broadcast: every track finishes and the origin unannounces it.
    public func finish() {
        let (tracks, waiters, handlers) = state.state.withLockedValue {
            state -> ([TrackProducer], [CheckedContinuation<Void, Never>], [@Sendable () -> Void]) in
            guard !state.ended else { return ([], [], []) }
            state.ended = true
            defer {
                state.endWaiters.removeAll()
                state.endHandlers.removeAll()
            }
            return (Array(state.tracks.values), state.endWaiters, state.endHandlers)
        }
        for track in tracks { track.finish() }
        for handler in handlers { handler() }
        for waiter in waiters { waiter.resume() }
    }

    public var isEnded: Bool { state.state.withLockedValue { $0.ended } }

    public func consume() -> BroadcastConsumer { BroadcastConsumer(state: state) }

    /// Runs `handler` once when the broadcast ends (immediately if it already has).
    func onEnd(_ handler: @escaping @Sendable () -> Void) {
        let ended = state.state.withLockedValue { state -> Bool in
            if state.ended { return true }
            state.endHandlers.append(handler)
            return false
        }
        if ended { handler() }
    }
}

/// Reads a broadcast: subscribe to its tracks by name.
public struct BroadcastConsumer: Sendable {
    let state: BroadcastState

    public var path: String { state.path }

    /// The producer of track `name` (existing, or created on demand), or nil if unknown. A track pulled
    /// on demand that has finished (its upstream subscription ended) is pulled anew.
    public func track(_ name: String) -> TrackProducer? {
        let (existing, source) = state.state.withLockedValue { state in
            (state.tracks[name], state.ended ? nil : state.source)
        }
        if let existing, source == nil || !existing.isFinished { return existing }
        guard let source else { return nil }
        // Create outside the lock (the handler may start work), then keep the first one stored.
        guard let created = source(name) else { return existing }
        let (kept, lost) = state.state.withLockedValue { state -> (TrackProducer, Bool) in
            if let raced = state.tracks[name], !raced.isFinished { return (raced, true) }
            state.tracks[name] = created
            return (created, false)
        }
        // Another reader created it first: end ours, so its upstream subscription ends at once.
        if lost { created.abort(.cancelled) }
        return kept
    }

    /// Subscribes to track `name`, starting at `start`; throws `MoQStreamError.notFound` when unknown.
    public func subscribe(_ name: String, from start: TrackStart = .latest) throws -> TrackConsumer {
        guard let track = track(name) else { throw MoQStreamError.notFound }
        return track.consume(from: start)
    }

    public var isEnded: Bool { state.state.withLockedValue { $0.ended } }

    /// Waits until the broadcast ends.
    public func ended() async {
        await withCheckedContinuation { continuation in
            let done = state.state.withLockedValue { state -> Bool in
                if state.ended { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
