import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import QUIC
import Testing

/// Tasks that prefer a loop's executor run on that loop, every one of them, however they are woken.
@Suite(.timeLimit(.minutes(1)))
struct EventLoopTaskExecutorTests {
    @Test func tasksWokenFromAnyThreadRunOnTheLoopAndEachStepRunsOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopTaskExecutor(group.next())
        let steps = NIOLockedValueBox((onLoop: 0, offLoop: 0))
        // 50 tasks of 100 steps each; every yield and sleep wakes the task from another context.
        await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<50 {
                tasks.addTask(executorPreference: executor) {
                    for step in 0..<100 {
                        let onLoop = executor.eventLoop.inEventLoop
                        steps.withLockedValue { onLoop ? ($0.onLoop += 1) : ($0.offLoop += 1) }
                        if (index + step) % 10 == 0 {
                            try? await Task.sleep(for: .microseconds(100))
                        } else {
                            await Task.yield()
                        }
                    }
                }
            }
        }
        #expect(steps.withLockedValue { $0.onLoop } == 5000)
        #expect(steps.withLockedValue { $0.offLoop } == 0)
        try await group.shutdownGracefully()
    }
}
