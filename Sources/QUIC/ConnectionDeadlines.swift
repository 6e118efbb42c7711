/// Something with one deadline in a `DeadlineHeap`, which keeps its slot and deadline in it.
protocol DeadlineHolder: AnyObject {
    /// Index in the heap, -1 when not in it.
    var timerSlot: Int { get set }
    var timerDeadline: UInt64 { get set }
}

/// The endpoint's connections ordered by their next ngtcp2 expiry.
typealias ConnectionDeadlines = DeadlineHeap<ConnectionCore>

/// Holders ordered by deadline: an indexed binary min-heap, so a deadline moves either way in O(log n)
/// (a QUIC connection's loss-detection deadline moves with nearly every ACK). Only the endpoint's loop
/// touches it.
struct DeadlineHeap<Holder: DeadlineHolder> {
    private var heap: [Holder] = []

    /// The earliest deadline, `.max` when no connection waits for one.
    var earliest: UInt64 { heap.first?.timerDeadline ?? .max }
    var count: Int { heap.count }

    /// Sets (or with `.max` removes) a holder's deadline.
    mutating func set(_ core: Holder, to deadline: UInt64) {
        guard deadline != .max else { return remove(core) }
        let slot = core.timerSlot
        guard slot >= 0 else {
            core.timerDeadline = deadline
            core.timerSlot = heap.count
            heap.append(core)
            siftUp(heap.count - 1)
            return
        }
        let previous = core.timerDeadline
        core.timerDeadline = deadline
        if deadline < previous { siftUp(slot) } else if deadline > previous { siftDown(slot) }
    }

    mutating func remove(_ core: Holder) {
        let slot = core.timerSlot
        guard slot >= 0 else { return }
        core.timerSlot = -1
        core.timerDeadline = .max
        let last = heap.removeLast()
        guard slot < heap.count else { return }
        heap[slot] = last
        last.timerSlot = slot
        siftUp(slot)
        siftDown(last.timerSlot)
    }

    /// Takes out the earliest holder whose deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Holder? {
        guard let first = heap.first, first.timerDeadline <= now else { return nil }
        remove(first)
        return first
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].timerDeadline < heap[parent].timerDeadline else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let child =
                right < heap.count && heap[right].timerDeadline < heap[left].timerDeadline ? right : left
            guard heap[child].timerDeadline < heap[parent].timerDeadline else { return }
            swapAt(child, parent)
            parent = child
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].timerSlot = a
        heap[b].timerSlot = b
    }
}
