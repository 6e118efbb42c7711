import NIOConcurrencyHelpers

/// Reads the peer's side of a stream in short jobs of the session, one when bytes arrive, with no task
/// parked on the stream between messages: a stream the peer seldom writes to (a subscription's
/// updates, its announcements) costs no task while it is quiet.
///
/// `step` reads and handles one message (false at the peer's FIN). `onEnd` is called once when the peer's
/// side ended (FIN or error), or with `CancellationError` when the session ends first; not after `stop()`.
final class StreamWatch: Sendable {
    enum End {
        case finished
        case failed(any Error)
    }

    private enum Phase {
        case watching
        case ended(End)
        /// Our side stopped first (`stop()`).
        case stopped
    }

    private struct State {
        var reader: StreamReader?
        var phase = Phase.watching
        var isWatching: Bool { if case .watching = phase { true } else { false } }
    }

    private let state: NIOLockedValueBox<State>
    private let step: @Sendable (inout StreamReader) async throws -> Bool
    private let onEnd: @Sendable (End) -> Void
    private let stream: any MoQTransportStream

    init(
        _ reader: StreamReader, step: @escaping @Sendable (inout StreamReader) async throws -> Bool,
        onEnd: @escaping @Sendable (End) -> Void
    ) {
        self.state = NIOLockedValueBox(State(reader: reader))
        self.stream = reader.stream
        self.step = step
        self.onEnd = onEnd
    }

    /// Starts watching; the session ends the watch if it ends first.
    func start(in session: MoQSession) {
        guard session.keep(self) else { return end(.failed(CancellationError()), in: session) }
        arm(in: session)
    }

    /// Our side is done with the stream: it is no longer read (nothing goes to the peer). Returns how the
    /// peer's side ended if it did first, else nil.
    func stop(in session: MoQSession) -> End? {
        let end = state.withLockedValue { state -> End? in
            if case .ended(let end) = state.phase { return end }
            state.phase = .stopped
            return nil
        }
        session.drop(self)
        if end == nil { stream.stopReading() }
        return end
    }

    /// The peer's side ended (or the session did): tells `onEnd`, once.
    func end(_ end: End, in session: MoQSession) {
        let first = state.withLockedValue { state -> Bool in
            guard state.isWatching else { return false }
            state.phase = .ended(end)
            state.reader = nil
            return true
        }
        guard first else { return }
        session.drop(self)
        onEnd(end)
    }

    /// Reads in a job once something is there (at once if the reader holds bytes).
    private func arm(in session: MoQSession) {
        let read: @Sendable () -> Void = { [weak session] in
            guard let session, self.state.withLockedValue({ $0.isWatching }) else { return }
            // The session may be ending: then so does the watch, here.
            guard session.spawn({ await self.readAvailable(in: session) }) else {
                return self.end(.failed(CancellationError()), in: session)
            }
        }
        if state.withLockedValue({ ($0.reader?.buffered ?? 0) > 0 }) { return read() }
        stream.whenReadable(read)
    }

    /// Reads the messages that are there (one at least: a burst of announcements costs one job), then
    /// waits for more without a task.
    private func readAvailable(in session: MoQSession) async {
        guard var reader = state.withLockedValue({ $0.reader.take() }) else { return }
        let ended: End?
        do {
            var open = true
            repeat {
                open = try await step(&reader)
            } while open && reader.buffered > 0 && state.withLockedValue({ $0.isWatching })
            ended = open ? nil : .finished
        } catch {
            ended = .failed(error)
        }
        if let ended { return end(ended, in: session) }
        let watching = state.withLockedValue { state -> Bool in
            guard state.isWatching else { return false }
            state.reader = reader
            return true
        }
        if watching { arm(in: session) }
    }
}

/// Which side ended a stream served by `watchPeer(_:step:beside:)`.
enum ServedStreamEnd {
    /// The peer finished its side of the stream (for a subscription: it unsubscribed).
    case peerFinished
    /// The work beside the reading ended (the track or the announcements ended).
    case workEnded
}

extension MoQSession {
    /// Runs `work` (what this side sends on the stream) in this task while a `StreamWatch` reads the peer's
    /// side: a served subscription costs one task, not a reader and a sender side by side. The first to
    /// end ends the other: the peer's FIN or error cancels `work`; the end of `work` stops the reading
    /// locally (nothing goes to the peer). An error of either is rethrown.
    func watchPeer(
        _ reader: StreamReader,
        step: @escaping @Sendable (inout StreamReader) async throws -> Bool,
        beside work: () async throws -> Void
    ) async throws -> ServedStreamEnd {
        let canceller = TaskCanceller()
        let watch = StreamWatch(reader, step: step) { _ in canceller.cancel() }
        watch.start(in: self)
        var workError: (any Error)?
        do {
            try await canceller.run(work)
        } catch {
            workError = error
        }
        switch watch.stop(in: self) {
        case .finished: return .peerFinished
        case .failed(let error): throw error
        case nil:
            if let workError { throw workError }
            return .workEnded
        }
    }
}

/// Lets another thread cancel the task running `run(_:)`, for as long as it runs: a callback that must
/// end a task it holds no handle of. A cancel before the task got there cancels it when it does.
final class TaskCanceller: @unchecked Sendable {
    private let lock = NIOLock()
    // Guarded by `lock`; set only while `run` runs, so the task it names is alive whenever it is used.
    private var task: UnsafeCurrentTask?
    private var cancelled = false

    func run(_ body: () async throws -> Void) async throws {
        withUnsafeCurrentTask { current in
            lock.withLock {
                task = current
                if cancelled { current?.cancel() }
            }
        }
        defer { lock.withLock { task = nil } }
        try await body()
    }

    func cancel() {
        lock.withLock {
            cancelled = true
            task?.cancel()
        }
    }
}
