import NIOConcurrencyHelpers

/// Lets a writer queue bytes on a stream without waiting for the event loop while the stream holds less
/// than its send buffer limit: one hop to the loop per write instead of a round trip, which is what a
/// relay writing many small frames to many streams pays for most.
///
/// The writer reserves what it writes; the loop releases what the peer acknowledged and records the
/// stream's failure, which the next write then throws.
final class StreamSendGate: Sendable {
    enum Reservation {
        /// Under the limit: queue it and go on.
        case fits
        /// Over the limit: queue it and wait until the stream drained (the slow path).
        case overLimit
        case failed(QUICStreamError)
    }

    private struct State {
        var reserved = 0
        var failure: QUICStreamError?
    }

    private let state = NIOLockedValueBox(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func reserve(_ bytes: Int) -> Reservation {
        state.withLockedValue { state in
            if let failure = state.failure { return .failed(failure) }
            state.reserved += bytes
            return state.reserved <= limit ? .fits : .overLimit
        }
    }

    func release(_ bytes: Int) { state.withLockedValue { $0.reserved = max(0, $0.reserved - bytes) } }

    func fail(_ error: QUICStreamError) {
        state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            state.reserved = 0
        }
    }
}
