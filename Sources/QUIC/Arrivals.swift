import NIOConcurrencyHelpers

/// What a peer opens (streams), in order, until it stops: read as an `AsyncStream`, or handed to a
/// handler as each one arrives, for a consumer that should not keep a task waiting just for them (a
/// server with thousands of idle sessions). What arrived before the consumer chose is kept for it.
public final class Arrivals<Element: Sendable>: Sendable {
    private enum Consumer {
        case undecided
        case stream(AsyncStream<Element>, AsyncStream<Element>.Continuation)
        case handler(@Sendable (Element?) -> Void)
        /// The handler was told the end and let go (it may hold what holds these arrivals).
        case ended
    }

    private struct State {
        var pending: [Element] = []
        var finished = false
        var consumer = Consumer.undecided
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Every arrival as a stream (made on first use, starting with what already arrived); it finishes when
    /// no more will come. Empty and finished if a handler took the arrivals.
    public var stream: AsyncStream<Element> {
        state.withLockedValue { state in
            switch state.consumer {
            case .stream(let stream, _):
                return stream
            case .handler, .ended:
                return AsyncStream { $0.finish() }
            case .undecided:
                let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
                for element in state.pending { continuation.yield(element) }
                state.pending = []
                if state.finished { continuation.finish() }
                state.consumer = .stream(stream, continuation)
                return stream
            }
        }
    }

    /// Hands every arrival to `handler` (those already here first, in order), on the thread it arrives on;
    /// nil once no more will come. `handler` must be quick and must not call back into these arrivals.
    /// Only one consumer: ignored if `stream` or another handler took them.
    public func deliver(to handler: @escaping @Sendable (Element?) -> Void) {
        let ended = state.withLockedValue { state -> Bool in
            guard case .undecided = state.consumer else { return false }
            // Under the lock, so an arrival on another thread cannot overtake the ones already kept.
            for element in state.pending { handler(element) }
            state.pending = []
            state.consumer = state.finished ? .ended : .handler(handler)
            return state.finished
        }
        if ended { handler(nil) }
    }

    /// One more arrival; false when nobody will take it (after `finish`, or the stream's reader is gone).
    @discardableResult
    package func add(_ element: Element) -> Bool {
        // A handler runs outside the lock; `taken` answers for the other cases.
        let (taken, handler) = state.withLockedValue { state -> (Bool, (@Sendable (Element?) -> Void)?) in
            guard !state.finished else { return (false, nil) }
            switch state.consumer {
            case .undecided:
                state.pending.append(element)
                return (true, nil)
            case .stream(_, let continuation):
                if case .terminated = continuation.yield(element) { return (false, nil) }
                return (true, nil)
            case .handler(let handler):
                return (true, handler)
            case .ended:
                return (false, nil)
            }
        }
        handler?(element)
        return taken
    }

    /// No more arrivals.
    package func finish() {
        let handler = state.withLockedValue { state -> (@Sendable (Element?) -> Void)? in
            guard !state.finished else { return nil }
            state.finished = true
            switch state.consumer {
            case .undecided, .ended: return nil
            case .stream(_, let continuation):
                continuation.finish()
                return nil
            case .handler(let handler):
                state.consumer = .ended
                return handler
            }
        }
        handler?(nil)
    }
}
