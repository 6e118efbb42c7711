import NIOConcurrencyHelpers
import Testing

@testable import MoQ

/// A callback ends a task it holds no handle of: while the task runs, or before it got there.
struct TaskCancellerTests {
    @Test func cancelWhileRunningCancelsTheTaskAndNothingAfter() async throws {
        let canceller = TaskCanceller()
        let started = AsyncStream.makeStream(of: Void.self)
        async let outcome: Bool = {
            do {
                try await canceller.run {
                    started.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
                return false
            } catch {
                return error is CancellationError
            }
        }()
        var iterator = started.stream.makeAsyncIterator()
        await iterator.next()
        canceller.cancel()
        #expect(await outcome)
        canceller.cancel()  // the task is gone: nothing to cancel, and no crash
    }

    @Test func cancelBeforeRunCancelsTheTaskAsItStarts() async throws {
        let canceller = TaskCanceller()
        canceller.cancel()
        let sawCancellation = NIOLockedValueBox(false)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await canceller.run { sawCancellation.withLockedValue { $0 = Task.isCancelled } }
            }
        }
        #expect(sawCancellation.withLockedValue { $0 })
    }
}
