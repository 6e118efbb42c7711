import NIOConcurrencyHelpers

/// Continuations parked until something changes, resumable by the change or by their task's
/// cancellation (so a cancelled subscription never leaves a task stuck in a model wait).
struct Waiters {
    private var parked: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var cancelledEarly: Set<UInt64> = []
    private var nextID: UInt64 = 0

    mutating func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }

    /// Parks `continuation` unless its task was cancelled before it got here (then returns false).
    mutating func park(_ id: UInt64, _ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if cancelledEarly.remove(id) != nil { return false }
        parked[id] = continuation
        return true
    }

    /// The waiter's task was cancelled: returns its continuation to resume, if it is parked.
    mutating func cancel(_ id: UInt64) -> CheckedContinuation<Void, Never>? {
        if let continuation = parked.removeValue(forKey: id) { return continuation }
        cancelledEarly.insert(id)
        return nil
    }

    /// Everyone parked, to resume after a change.
    mutating func takeAll() -> [CheckedContinuation<Void, Never>] {
        defer { parked.removeAll(keepingCapacity: true) }
        return Array(parked.values)
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
        await withCheckedContinuation { continuation in
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
