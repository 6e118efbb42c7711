public import NIOCore

/// Runs Swift tasks on one NIO event loop. A session whose tasks prefer its connection's loop
/// (`withTaskExecutorPreference`) writes to the connection on the loop's own thread: no hop between
/// threads and no wake-up of the loop per frame.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
