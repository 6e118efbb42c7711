import NIOConcurrencyHelpers

/// Continuations parked until something changes, resumable by the change or by their task's
/// cancellation (so a cancelled subscription never leaves a task stuck in a model wait).
///
/// A subscriber waits here for every frame, so a wait allocates nothing of its own: unsafe continuations
/// (each is resumed exactly once: by the change, by the cancellation, or at once when already ready) and
/// no array for a change that wakes one waiter.
struct Waiters {
    typealias Continuation = UnsafeContinuation<Void, Never>
    private var parked: [UInt64: Continuation] = [:]
    private var cancelledEarly: Set<UInt64> = []
    private var nextID: UInt64 = 0

    mutating func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }

    /// Parks `continuation` unless its task was cancelled before it got here (then returns false).
    mutating func park(_ id: UInt64, _ continuation: Continuation) -> Bool {
        if cancelledEarly.remove(id) != nil { return false }
        parked[id] = continuation
        return true
    }

    /// The waiter's task was cancelled: returns its continuation to resume, if it is parked.
    mutating func cancel(_ id: UInt64) -> Continuation? {
        if let continuation = parked.removeValue(forKey: id) { return continuation }
        cancelledEarly.insert(id)
        return nil
    }

    /// Everyone parked, to resume (outside the lock) after a change.
    mutating func takeAll() -> WokenWaiters {
        defer { parked.removeAll(keepingCapacity: true) }
        switch parked.count {
        case 0: return WokenWaiters(.none)
        case 1: return WokenWaiters(.one(parked.first!.value))
        default: return WokenWaiters(.many(Array(parked.values)))
        }
    }
}

/// The waiters one change took from `Waiters`.
struct WokenWaiters {
    enum Taken {
        case none
        case one(Waiters.Continuation)
        case many([Waiters.Continuation])
    }

    private let taken: Taken

    init(_ taken: Taken) { self.taken = taken }

    func resumeAll() {
        switch taken {
        case .none: break
        case .one(let continuation): continuation.resume()
        case .many(let continuations): for continuation in continuations { continuation.resume() }
        }
    }
}

/// State that parks waiters.
protocol WaiterHolding: Sendable {
    var waiters: Waiters { get set }
}

/// Waits (cancellably) until `isReady` holds for the state in `box`.
func waitUntil<State: WaiterHolding>(_ box: NIOLockedValueBox<State>, _ isReady: (State) -> Bool) async {
    let id = box.withLockedValue { $0.waiters.makeID() }
    await withTaskCancellationHandler {
        await withUnsafeContinuation { continuation in
            let parked = box.withLockedValue { state -> Bool in
                if isReady(state) { return false }
                return state.waiters.park(id, continuation)
            }
            if !parked { continuation.resume() }
        }
    } onCancel: {
        box.withLockedValue { $0.waiters.cancel(id) }?.resume()
    }
}
