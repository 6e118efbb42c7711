// One reader thread: its own epoll set of client sockets, one read per ready socket, no locks or
// allocations per read, so the load client costs little beside the caster it measures.
import CEpoll
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a reader counted; merged by the main thread after the readers stop.
struct ReaderTotals {
    var latencies: [UInt64] = []
    var epochs = 0
    var connected = 0
    var refused = 0
    var closed = 0
}

/// A client socket's progress: waiting for the caster's reply, then streaming epochs.
private struct ClientState {
    var answered = false
    var carryCount = 0
}

/// Reads the sockets given to it on its own thread until `stop`, recording epoch latencies while `measuring`.
final class Reader: @unchecked Sendable {
    private let epoll: Int32
    private let maxDescriptors: Int
    /// Per socket (indexed by descriptor): its state and up to one marker's worth of carried bytes.
    private let states: UnsafeMutablePointer<ClientState>
    private let carry: UnsafeMutablePointer<UInt8>
    private let scratch: UnsafeMutablePointer<UInt8>
    private let scratchSize = 64 * 1024
    private let measuring: Atomic<Bool>
    private let answered = Atomic<Int>(0)
    private let thread = LoopThread()
    /// Written by the reader thread only; read by the main thread after `stop`.
    private(set) var totals = ReaderTotals()

    /// While data arrives, the thread sleeps this long between non-blocking polls (0: it always waits in
    /// `epoll_wait`). Over loopback a write to a socket whose reader is waiting in `epoll_wait` wakes that
    /// reader inside the writer's system call (a cross-CPU wake-up, charged to the caster); a fleet of real
    /// clients on other machines costs the caster no such thing. Each latency gains at most one tick.
    private let pollTick: timespec

    init(maxDescriptors: Int, expectedLatencies: Int, pollTickMicroseconds: Int) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        self.maxDescriptors = maxDescriptors
        states = .allocate(capacity: maxDescriptors)
        states.initialize(repeating: ClientState(), count: maxDescriptors)
        carry = .allocate(capacity: maxDescriptors * EpochMarker.length)
        scratch = .allocate(capacity: EpochMarker.length + scratchSize)
        measuring = Atomic(false)
        let tick = max(0, pollTickMicroseconds)
        pollTick = timespec(tv_sec: tick / 1_000_000, tv_nsec: tick % 1_000_000 * 1000)
        totals.latencies.reserveCapacity(expectedLatencies)
    }

    deinit {
        close(epoll)
        states.deallocate()
        carry.deallocate()
        scratch.deallocate()
    }

    /// Adds a connected, non-blocking client socket (called before `start` or from the main thread).
    func add(_ descriptor: Int32) {
        precondition(Int(descriptor) < maxDescriptors, "descriptor \(descriptor) over the limit \(maxDescriptors)")
        states[Int(descriptor)] = ClientState()
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.fd = descriptor
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0, "epoll_ctl failed: errno \(errno)")
    }

    /// Clients that have had the caster's reply (accepted or refused), for the main thread's wait.
    var answeredSoFar: Int { answered.load(ordering: .relaxed) }

    func setMeasuring(_ on: Bool) { measuring.store(on, ordering: .releasing) }

    func start() { thread.start(name: "ntrip-bench reader") { [self] in run() } }

    /// Stops the thread and waits for it (bounded by its 100 ms poll timeout).
    func stop() { thread.stop() }

    private func run() {
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 1024)
        defer { events.deallocate() }
        var polling = false
        while thread.isRunning {
            if polling { var tick = pollTick; nanosleep(&tick, nil) }
            let ready = epoll_wait(epoll, events, 1024, polling ? 0 : 100)
            // Polls while each one finds something; waits in epoll_wait again once one finds nothing.
            polling = ready > 0 && (pollTick.tv_sec > 0 || pollTick.tv_nsec > 0)
            guard ready > 0 else { continue }
            for index in 0..<Int(ready) { read(cepoll_event_fd(events + index)) }
        }
    }

    private func read(_ descriptor: Int32) {
        let slot = Int(descriptor)
        let carried = states[slot].carryCount
        let saved = carry + slot * EpochMarker.length
        scratch.update(from: saved, count: carried)
        let received = Glibc.read(descriptor, scratch + carried, scratchSize)
        guard received > 0 else {
            if received < 0, errno == EAGAIN || errno == EINTR { return }
            if states[slot].answered { totals.closed += 1 }
            epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
            close(descriptor)
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        let count = carried + received
        var start = 0
        if !states[slot].answered {
            let reply = "ICY 200 OK".utf8
            guard count >= reply.count else {
                saved.update(from: scratch, count: count)
                states[slot].carryCount = count
                return
            }
            guard zip(reply, UnsafeBufferPointer(start: scratch, count: reply.count)).allSatisfy({ $0 == $1 }) else {
                totals.refused += 1
                answered.add(1, ordering: .relaxed)
                epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
                close(descriptor)
                return
            }
            states[slot].answered = true
            totals.connected += 1
            answered.add(1, ordering: .relaxed)
            start = reply.count
        }
        let counting = measuring.load(ordering: .relaxed)
        let tail = scanEpochMarkers(scratch + start, count: count - start) { sent in
            guard counting else { return }
            totals.latencies.append(nanoseconds &- sent)
            totals.epochs += 1
        }
        let kept = count - start - tail
        saved.update(from: scratch + start + tail, count: kept)
        states[slot].carryCount = kept
    }
}
