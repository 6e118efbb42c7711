// The load client's threads (the source and each reader) share one lifecycle: start, loop until told
// to stop, then the caller waits for the loop to end.
import Foundation
import Synchronization

/// A named thread whose body loops while `isRunning`; `stop()` asks it to end and waits until it has.
final class LoopThread: Sendable {
    private let stopping = Atomic(false)
    private let done = DispatchSemaphore(value: 0)

    /// False once `stop()` was called; the body checks it at least every 100 ms.
    var isRunning: Bool { !stopping.load(ordering: .acquiring) }

    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [done] in
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        done.wait()
    }
}
