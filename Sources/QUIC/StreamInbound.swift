import NIOConcurrencyHelpers
import NIOCore

/// The receive side of one stream, shared between its connection's event loop (which delivers bytes)
/// and the one task that reads them.
///
/// Flow-control credit goes back to the peer only as the reader consumes, so a reader that stops
/// reading holds the peer at one receive window: buffered memory is bounded by the window.
final class StreamInbound: Sendable {
    private struct State {
        var buffered: ByteBuffer?
        var finished = false
        var error: QUICStreamError?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        /// Called once when a read would no longer wait (`whenReadable`), instead of a parked reader.
        var readableHandler: (@Sendable () -> Void)?
        /// Bytes the reader took that were not yet credited back to the peer.
        var unreported = 0
        /// The reader's task was cancelled before it parked: its next park fails at once.
        var cancelPending = false
    }

    private let state = NIOLockedValueBox(State())
    /// Credits consumed bytes back to the peer (runs the ngtcp2 calls on the connection's loop).
    private let returnCredit: @Sendable (Int) -> Void
    /// Credit is returned in steps of at least this many bytes, to batch the hop to the loop.
    private let creditStep: Int

    init(creditStep: Int, returnCredit: @escaping @Sendable (Int) -> Void) {
        self.creditStep = creditStep
        self.returnCredit = returnCredit
    }

    // MARK: loop side

    /// Appends received bytes; `fin` marks the end of the stream. Returns true when a reader is waiting:
    /// the caller then calls `wake()` once its batch of packets is done, so a burst of packets costs one
    /// wake-up of the reader's thread, not one per packet.
    func deliver(_ bytes: UnsafeRawBufferPointer, fin: Bool) -> Bool {
        state.withLockedValue { state in
            if state.error != nil { return false }
            if !bytes.isEmpty {
                if state.buffered == nil {
                    // Sized to what arrived (later packets of the batch grow it by doubling): the reader may
                    // keep slices of it for a long time (a relay caches frames), and a small frame must not
                    // pin a large allocation.
                    var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    state.buffered = buffer
                } else {
                    state.buffered!.writeBytes(bytes)
                }
            }
            if fin { state.finished = true }
            return state.waiter != nil || state.readableHandler != nil
        }
    }

    /// Hands what arrived to a waiting reader, if any (or tells the `whenReadable` handler).
    func wake() {
        enum Wake {
            case nobody
            case handler(@Sendable () -> Void)
            case reader(CheckedContinuation<ByteBuffer?, any Error>, ByteBuffer?, credit: Int)
        }
        // One lock per wake: it runs for every stream a batch of packets reached.
        let wake = state.withLockedValue { state -> Wake in
            guard state.buffered != nil || state.finished else { return .nobody }
            if let handler = state.readableHandler {
                state.readableHandler = nil
                return .handler(handler)
            }
            guard let waiter = state.waiter else { return .nobody }
            state.waiter = nil
            let buffer = state.buffered
            state.buffered = nil
            let credit = Self.account(&state, taking: buffer?.readableBytes ?? 0, step: creditStep, waiting: false)
            return .reader(waiter, buffer, credit: credit)
        }
        switch wake {
        case .nobody:
            break
        case .handler(let handler):
            handler()
        case .reader(let waiter, let handOff, let credit):
            if credit > 0 { returnCredit(credit) }
            // A waiter with no buffer here means FIN arrived with no new bytes: end of stream.
            waiter.resume(returning: handOff)
        }
    }

    /// The stream ended abnormally (peer reset, connection closed): unread bytes are discarded (as RFC 9000
    /// allows on reset) and the reader sees the error.
    func fail(_ error: QUICStreamError) {
        let (waiter, handler) = state.withLockedValue {
            state -> (CheckedContinuation<ByteBuffer?, any Error>?, (@Sendable () -> Void)?) in
            // A stream whose FIN arrived ended cleanly: its reader still gets the buffered bytes, then the end.
            guard state.error == nil, !state.finished else { return (nil, nil) }
            state.error = error
            state.buffered = nil
            defer {
                state.waiter = nil
                state.readableHandler = nil
            }
            return (state.waiter, state.readableHandler)
        }
        waiter?.resume(throwing: error)
        handler?()
    }

    // MARK: reader side

    /// Calls `handler` once, as soon as `read()` would return without waiting (bytes, FIN or an error are
    /// there): at once if they already are, else on the loop when they arrive. A stream the peer rarely
    /// writes to can so be watched without a task parked on it. One handler at a time, and no reader
    /// waiting meanwhile.
    func whenReadable(_ handler: @escaping @Sendable () -> Void) {
        let ready = state.withLockedValue { state -> Bool in
            if state.buffered != nil || state.finished || state.error != nil { return true }
            precondition(state.waiter == nil && state.readableHandler == nil, "a QUIC stream has one reader at a time")
            state.readableHandler = handler
            return false
        }
        if ready { handler() }
    }

    /// The next bytes in stream order, or `nil` once the peer finished the stream.
    func read() async throws -> ByteBuffer? {
        enum Next {
            case bytes(ByteBuffer?, credit: Int)
            case failure(QUICStreamError)
            case wait(credit: Int)
        }
        let next = state.withLockedValue { state -> Next in
            if let buffer = state.buffered {
                state.buffered = nil
                return .bytes(
                    buffer, credit: Self.account(&state, taking: buffer.readableBytes, step: creditStep, waiting: false)
                )
            }
            if state.finished { return .bytes(nil, credit: 0) }
            if let error = state.error { return .failure(error) }
            return .wait(credit: Self.account(&state, taking: 0, step: creditStep, waiting: true))
        }
        switch next {
        case .bytes(let buffer, let credit):
            if credit > 0 { returnCredit(credit) }
            return buffer
        case .failure(let error):
            throw error
        case .wait(let credit):
            if credit > 0 { returnCredit(credit) }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let immediate = state.withLockedValue { state -> Result<ByteBuffer?, any Error>? in
                        if let buffer = state.buffered {
                            state.buffered = nil
                            state.unreported += buffer.readableBytes
                            return .success(buffer)
                        }
                        if state.finished { return .success(nil) }
                        if let error = state.error { return .failure(error) }
                        if state.cancelPending {
                            state.cancelPending = false
                            return .failure(CancellationError())
                        }
                        precondition(
                            state.waiter == nil && state.readableHandler == nil,
                            "a QUIC stream has one reader at a time")
                        state.waiter = continuation
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } onCancel: {
                // Wakes the reader with CancellationError; the stream itself stays as it is.
                let waiter = state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, any Error>? in
                    guard let waiter = state.waiter else {
                        state.cancelPending = true
                        return nil
                    }
                    state.waiter = nil
                    return waiter
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    /// Adds `taken` to the unreported count and returns the credit to send now (0 to keep batching).
    private static func account(_ state: inout State, taking taken: Int, step: Int, waiting: Bool) -> Int {
        state.unreported += taken
        guard state.unreported >= step || (waiting && state.unreported > 0) else { return 0 }
        defer { state.unreported = 0 }
        return state.unreported
    }
}
