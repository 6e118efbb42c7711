import Logging
import MoQ
import NIOConcurrencyHelpers
public import NIOCore

/// One track read through the relay's origin and cut into chunks of one size, kept in a retention ring
/// that every transmission pulling that track at that size shares (ids are absolute; a transmission maps
/// its dense packet ids onto them). It subscribes like any other subscriber, so it also serves broadcasts
/// published on another relay. `instance` is random, so ids from an earlier feed (or process) never match.
public final class ChunkFeed: Sendable {
    public struct Key: Sendable, Hashable {
        public var source: TrackSource
        public var chunkSize: Int
    }

    public let key: Key
    public let instance: UInt64
    private struct State {
        var ring: ChunkRing
        /// Cuts the pumped frames; kept with the ring so a frame's chunks appear at once, under one lock.
        var chunker: Chunker
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var lastAccess: ContinuousClock.Instant
        var pump: Task<Void, Never>?
        var stopped = false
    }

    private let state: NIOLockedValueBox<State>

    init(key: Key, retentionChunks: Int, retentionBytes: Int) {
        self.key = key
        self.instance = UInt64.random(in: 1...UInt64.max)
        self.state = NIOLockedValueBox(
            State(
                ring: ChunkRing(maxChunks: retentionChunks, maxBytes: retentionBytes),
                chunker: Chunker(chunkSize: key.chunkSize), lastAccess: .now))
    }

    /// The id the next produced chunk gets.
    public var next: UInt64 { state.withLockedValue { $0.ring.next } }
    /// Where a transmission joining now starts: the first chunk from now on that begins at a frame's start.
    /// That is `next`, unless the chunker holds the tail of a frame cut into chunks: then `next` will be
    /// that tail (mid-frame bytes a client cannot parse from), and the chunk after it starts the next frame.
    public var joinPoint: UInt64 {
        state.withLockedValue { $0.ring.next + ($0.chunker.holdsFrameTail ? 1 : 0) }
    }
    public var retainedBytes: Int { state.withLockedValue { $0.ring.bytes } }
    public var retainedChunks: Int { state.withLockedValue { $0.ring.retained } }
    public var oldest: UInt64 { state.withLockedValue { $0.ring.oldest } }
    public var total: UInt64? { state.withLockedValue { $0.ring.total } }
    var lastAccess: ContinuousClock.Instant { state.withLockedValue { $0.lastAccess } }

    public func lookup(_ id: UInt64) -> ChunkRing.Lookup {
        state.withLockedValue {
            $0.lastAccess = .now
            return $0.ring.lookup(id)
        }
    }

    /// Appends a chunk as it is (tests) and wakes the long-polls.
    public func append(_ chunk: ByteBuffer) {
        produce { _ in [chunk] }
    }

    /// Cuts one frame of the track into chunks (the pump) and appends the completed ones together.
    public func add(frame: ByteBuffer) {
        produce { $0.add(frame) }
    }

    /// The group (or the track) ended: what the chunker holds becomes a chunk.
    public func endGroup() {
        produce { $0.flush().map { [$0] } ?? [] }
    }

    /// Appends what `cut` makes of the chunker, under one lock, then wakes the long-polls if any was made.
    private func produce(_ cut: (inout Chunker) -> [ByteBuffer]) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard state.ring.total == nil else { return [] }
            let chunks = cut(&state.chunker)
            guard !chunks.isEmpty else { return [] }
            for chunk in chunks { state.ring.append(Chunk(chunk)) }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Marks the source ended for good: the last chunk is answered with 200.
    public func finish() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.ring.finish()
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until chunk `id` exists, the feed ends, or `deadline` passes (or the task is cancelled).
    public func wait(for id: UInt64, until deadline: ContinuousClock.Instant) async {
        while !Task.isCancelled, ContinuousClock.now < deadline, !isSettled(id) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.waitForChange(beyond: id) }
                group.addTask { try? await Task.sleep(until: deadline) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Chunk `id` exists, or it never will (the feed ended or stopped).
    private func isSettled(_ id: UInt64) -> Bool {
        state.withLockedValue { $0.ring.next > id || $0.ring.total != nil || $0.stopped }
    }

    private func waitForChange(beyond id: UInt64) async {
        let token = state.withLockedValue { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if state.ring.next > id || state.ring.total != nil || state.stopped || Task.isCancelled {
                        return true
                    }
                    state.waiters[token] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: token) }
            waiter?.resume()
        }
    }

    /// Starts reading the track from `origin` (once).
    func start(origin: Origin, sourceGrace: Duration, logger: Logger) {
        let task = Task { [self] in await pump(origin: origin, sourceGrace: sourceGrace, logger: logger) }
        state.withLockedValue { $0.pump = task }
    }

    /// Stops reading (the feed is no longer used) and releases every long-poll.
    func stop() {
        let (task, waiters) = state.withLockedValue { state in
            state.stopped = true
            defer { state.waiters = [:] }
            return (state.pump, Array(state.waiters.values))
        }
        task?.cancel()
        for waiter in waiters { waiter.resume() }
    }

    /// Reads the track through the origin until it finishes, or its broadcast stays away past the grace.
    private func pump(origin: Origin, sourceGrace: Duration, logger: Logger) async {
        var deadline = ContinuousClock.now + sourceGrace
        let path = key.source.broadcast
        while !Task.isCancelled {
            guard let broadcast = await origin.live(path, until: deadline) else { break }
            do {
                let track = try broadcast.subscribe(key.source.track, from: .latest)
                for try await group in track {
                    for try await frame in group { add(frame: frame.payload) }
                    endGroup()
                }
                // The track finished cleanly: the source ended for good.
                endGroup()
                break
            } catch {
                logger.debug("l7rtcp feed \(key.source): track ended: \(error)")
                endGroup()
            }
            deadline = ContinuousClock.now + sourceGrace
            if !broadcast.isEnded { try? await Task.sleep(for: .milliseconds(100)) }
        }
        if !Task.isCancelled { finish() }
    }
}
