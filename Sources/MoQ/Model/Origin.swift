import NIOConcurrencyHelpers

/// A change in the set of broadcasts under some prefix.
public enum Announcement: Sendable, Equatable {
    /// `path` is live, reached through `hops` (origin first; empty for a local publisher) at route `cost`
    /// (the sum of the link costs on the way; 0 for a local publisher).
    case active(path: String, hops: [UInt64], cost: UInt64 = 0)
    /// `path` is gone.
    case ended(path: String)

    public var path: String {
        switch self {
        case .active(let path, _, _), .ended(let path): return path
        }
    }
}

/// Where broadcasts are published and found: a relay has one, shared by every session; a client has one
/// per side (what it publishes, what it learned from the peer). Frames never pass through it.
///
/// A lock rather than an actor: a broadcast's end and a watcher's cancellation arrive synchronously, and
/// an actor would need a stray `Task` per such event to hear about them.
public final class Origin: Sendable {
    private struct Route {
        let broadcast: BroadcastProducer
        let hops: [UInt64]
        let cost: UInt64
        let id: UInt64

        /// Routing prefers the lower cost, then fewer hops (a newer route wins a tie).
        func isWorse(than other: Route) -> Bool {
            (cost, hops.count) > (other.cost, other.hops.count)
        }
    }

    /// One `announcements`/`watch` stream. Its end is only flagged (under the flag's own lock), never
    /// removed from `onTermination`: AsyncStream runs that handler under its internal lock, and taking
    /// the origin's lock there would invert the order `notify` takes them in (origin, then stream).
    private final class Watcher: Sendable {
        let prefix: String
        let sink: AsyncStream<Announcement>.Continuation
        private let ended = NIOLockedValueBox(false)

        init(prefix: String, sink: AsyncStream<Announcement>.Continuation) {
            self.prefix = prefix
            self.sink = sink
        }

        var isEnded: Bool { ended.withLockedValue { $0 } }
        func end() { ended.withLockedValue { $0 = true } }
    }

    private struct State {
        /// The route in use per path: the cheapest announced, then the shortest (the latest among equals).
        var routes: [String: Route] = [:]
        /// Other live routes to the same paths (longer, or replaced), promoted when the one in use ends.
        var alternates: [String: [Route]] = [:]
        var watchers: [UInt64: Watcher] = [:]
        var nextID: UInt64 = 0
        /// Broadcasts whose publisher was lost, kept announced until it returns or the linger ends.
        var lingering: [String: LingeringBroadcast] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Announces `broadcast` reached through `hops` at `cost`. It is the path's route unless a cheaper (or
    /// as cheap and shorter) one is in use; either way it stays known until it ends, and the best remaining
    /// route takes over when the one in use ends (a cluster's other path). Publishing the same broadcast
    /// again updates its hop chain and cost.
    public func publish(_ broadcast: BroadcastProducer, hops: [UInt64] = [], cost: UInt64 = 0) {
        let path = broadcast.path
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            let route = Route(broadcast: broadcast, hops: hops, cost: cost, id: state.nextID)
            state.alternates[path]?.removeAll { $0.broadcast.state === broadcast.state }
            if let current = state.routes[path], current.broadcast.state !== broadcast.state {
                if route.isWorse(than: current) {
                    state.alternates[path, default: []].append(route)
                    return route.id
                }
                state.alternates[path, default: []].append(current)
            }
            state.routes[path] = route
            Self.notify(&state, .active(path: path, hops: hops, cost: cost))
            return route.id
        }
        broadcast.onEnd { [weak self] in self?.remove(path: path, id: id) }
    }

    /// Forgets the route published with that identity; if it was in use, the best alternate takes
    /// over, else the path is unannounced.
    private func remove(path: String, id: UInt64) {
        state.withLockedValue { state in
            guard state.routes[path]?.id == id else {
                state.alternates[path]?.removeAll { $0.id == id }
                if state.alternates[path]?.isEmpty == true { state.alternates.removeValue(forKey: path) }
                return
            }
            state.routes.removeValue(forKey: path)
            Self.promoteAlternate(&state, path: path)
        }
    }

    /// Puts the best live alternate of `path` in use (the latest among equals), or unannounces it.
    private static func promoteAlternate(_ state: inout State, path: String) {
        var candidates = (state.alternates.removeValue(forKey: path) ?? []).filter { !$0.broadcast.isEnded }
        guard
            let best = candidates.indices.min(by: {
                candidates[$1].isWorse(than: candidates[$0])
                    || (!candidates[$0].isWorse(than: candidates[$1]) && candidates[$0].id > candidates[$1].id)
            })
        else {
            notify(&state, .ended(path: path))
            return
        }
        let route = candidates.remove(at: best)
        if !candidates.isEmpty { state.alternates[path] = candidates }
        state.routes[path] = route
        notify(&state, .active(path: path, hops: route.hops, cost: route.cost))
    }

    /// Unannounces `path` at once (the broadcast itself goes on for its current consumers).
    public func unpublish(_ path: String) {
        let path = MoQPath.normalize(path)
        state.withLockedValue { state in
            guard state.routes.removeValue(forKey: path) != nil else { return }
            state.alternates.removeValue(forKey: path)
            Self.notify(&state, .ended(path: path))
        }
    }

    /// The route in use for `lost`'s path lost its publisher: when another live route can feed it, `lost`
    /// stays announced (with that route's hop chain) and is fed through it from now on, so its subscribers
    /// carry on; it ends when that route does. False when there is no such route.
    public func failover(_ lost: BroadcastProducer) -> Bool {
        let path = lost.path
        let taken = state.withLockedValue { state -> (BroadcastProducer, UInt64)? in
            guard state.routes[path]?.broadcast.state === lost.state, var candidates = state.alternates[path] else {
                return nil
            }
            let usable = candidates.indices.filter {
                !candidates[$0].broadcast.isEnded && candidates[$0].broadcast.hasFeeder
            }
            guard let best = usable.min(by: { candidates[$1].isWorse(than: candidates[$0]) }) else {
                return nil
            }
            let alternate = candidates.remove(at: best)
            state.alternates[path] = candidates.isEmpty ? nil : candidates
            state.nextID += 1
            state.routes[path] = Route(broadcast: lost, hops: alternate.hops, cost: alternate.cost, id: state.nextID)
            Self.notify(&state, .active(path: path, hops: alternate.hops, cost: alternate.cost))
            return (alternate.broadcast, state.nextID)
        }
        guard let (alternate, id) = taken else { return false }
        lost.onEnd { [weak self] in self?.remove(path: path, id: id) }
        lost.adopt(alternate)
        alternate.onEnd { lost.finish() }
        return true
    }

    /// Keeps `broadcast` announced (and its tracks open) after its publisher was lost, until a returning
    /// publisher of the same path adopts it or `endLingering` ends it. Nil if it is not announced here.
    public func linger(_ broadcast: BroadcastProducer) -> LingeringBroadcast? {
        state.withLockedValue { state in
            guard state.routes[broadcast.path]?.broadcast.state === broadcast.state else { return nil }
            state.nextID += 1
            let lingering = LingeringBroadcast(broadcast: broadcast, id: state.nextID)
            state.lingering[broadcast.path] = lingering
            return lingering
        }
    }

    /// The lingering broadcast at `path`, handed to a publisher that came back (it is no longer lingering).
    func adoptLingering(_ path: String) -> BroadcastProducer? {
        state.withLockedValue { $0.lingering.removeValue(forKey: path)?.broadcast }
    }

    /// Ends the broadcast if it is still lingering since `lingering` began (its publisher did not come
    /// back in time; a later loss of the same broadcast has its own linger).
    public func endLingering(_ lingering: LingeringBroadcast) {
        let path = lingering.broadcast.path
        let expired = state.withLockedValue { state -> Bool in
            guard state.lingering[path]?.id == lingering.id else { return false }
            state.lingering.removeValue(forKey: path)
            return true
        }
        if expired { lingering.broadcast.finish() }
    }

    /// Paths of the broadcasts lingering now.
    public var lingeringPaths: [String] { state.withLockedValue { $0.lingering.keys.sorted() } }

    /// The broadcast at `path`, if announced.
    public func consume(_ path: String) -> BroadcastConsumer? {
        state.withLockedValue { $0.routes[MoQPath.normalize(path)]?.broadcast.consume() }
    }

    /// Hop chain of the route to `path`, if announced.
    public func hops(of path: String) -> [UInt64]? {
        state.withLockedValue { $0.routes[MoQPath.normalize(path)]?.hops }
    }

    /// Hop chain and cost of the route to `path`, if announced.
    public func route(to path: String) -> (hops: [UInt64], cost: UInt64)? {
        state.withLockedValue { state in state.routes[MoQPath.normalize(path)].map { ($0.hops, $0.cost) } }
    }

    /// Paths announced under `prefix`, sorted.
    public func announced(prefix: String = "") -> [String] {
        let prefix = MoQPath.normalize(prefix)
        return state.withLockedValue { $0.routes.keys.filter { MoQPath.has($0, prefix: prefix) }.sorted() }
    }

    /// Announcements under `prefix`: first the broadcasts live now, then every change as it happens.
    /// Cancel by dropping the stream (or ending the iterating task).
    public func announcements(prefix: String = "") -> AsyncStream<Announcement> {
        register(prefix: prefix, yieldingSnapshot: true).changes
    }

    /// The broadcasts live under `prefix` now (as `.active`) and, atomically with that snapshot, a
    /// stream of every later change.
    public func watch(prefix: String = "") -> (current: [Announcement], changes: AsyncStream<Announcement>) {
        register(prefix: prefix, yieldingSnapshot: false)
    }

    /// Takes the snapshot and registers the watcher under one lock, so no change falls between them.
    private func register(
        prefix: String, yieldingSnapshot: Bool
    ) -> (current: [Announcement], changes: AsyncStream<Announcement>) {
        let prefix = MoQPath.normalize(prefix)
        let (stream, sink) = AsyncStream.makeStream(of: Announcement.self)
        let watcher = Watcher(prefix: prefix, sink: sink)
        let current = state.withLockedValue { state -> [Announcement] in
            let current = state.routes.keys.sorted().filter { MoQPath.has($0, prefix: prefix) }.map {
                Announcement.active(path: $0, hops: state.routes[$0]!.hops, cost: state.routes[$0]!.cost)
            }
            // The snapshot goes first: yielded before any later change can be notified.
            if yieldingSnapshot { for announcement in current { sink.yield(announcement) } }
            state.nextID += 1
            state.watchers[state.nextID] = watcher
            return current
        }
        sink.onTermination = { _ in watcher.end() }
        return (current, stream)
    }

    /// Tells every live watcher whose prefix covers the path, and forgets the ended ones.
    private static func notify(_ state: inout State, _ announcement: Announcement) {
        for (id, watcher) in state.watchers {
            if watcher.isEnded {
                state.watchers.removeValue(forKey: id)
            } else if MoQPath.has(announcement.path, prefix: watcher.prefix) {
                watcher.sink.yield(announcement)
            }
        }
    }
}

/// A broadcast kept announced after its publisher was lost (see `Origin.linger`).
public struct LingeringBroadcast: Sendable {
    public let broadcast: BroadcastProducer
    let id: UInt64
}
