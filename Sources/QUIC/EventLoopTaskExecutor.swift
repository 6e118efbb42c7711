import NIOConcurrencyHelpers
public import NIOCore

/// Runs Swift tasks on one NIO event loop. A session whose tasks prefer its connection's loop
/// (`withTaskExecutorPreference`) writes to the connection on the loop's own thread: no hop between
/// threads and no wake-up of the loop per frame. An endpoint's connections share one executor, so a relay's
/// fan-out wakes one batch per tick, not one per subscriber.
///
/// Jobs wait in the executor's own queue and run in batches, one loop task per batch: handing each job to
/// `EventLoop.execute` allocated a closure per job, that is per frame per subscriber in a relay.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop
    private let queue = NIOLockedValueBox(JobQueue())

    private struct JobQueue {
        var jobs: [UnownedJob] = []
        /// The last batch's array, emptied, so that queueing never allocates once warmed up.
        var spare: [UnownedJob] = []
        /// A loop task to run `jobs` is on its way.
        var scheduled = false
    }

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Jobs wait for a batch: work woken on the loop has not settled yet.
    var hasQueuedJobs: Bool { queue.withLockedValue { !$0.jobs.isEmpty } }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let schedule = queue.withLockedValue { queue -> Bool in
            queue.jobs.append(job)
            defer { queue.scheduled = true }
            return !queue.scheduled
        }
        if schedule { eventLoop.execute { self.runBatch() } }
    }

    /// Runs the jobs queued so far; jobs they queue run in the next loop tick, as separate loop tasks would.
    private func runBatch() {
        var batch = queue.withLockedValue { queue -> [UnownedJob] in
            var batch: [UnownedJob] = []
            swap(&batch, &queue.jobs)
            swap(&queue.jobs, &queue.spare)
            queue.scheduled = false
            return batch
        }
        let executor = asUnownedTaskExecutor()
        for job in batch { job.runSynchronously(on: executor) }
        batch.removeAll(keepingCapacity: true)
        queue.withLockedValue { queue in
            if queue.spare.capacity < batch.capacity { swap(&queue.spare, &batch) }
        }
    }
}
