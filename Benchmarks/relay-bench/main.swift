// relay-bench: one publisher -> relay -> N subscribers, each subscriber its own moq-lite session, all in
// this process (one clock for latency). Reports delivered throughput, lost frames and end-to-end latency
// percentiles. The relay's CPU and memory are measured from outside (Benchmarks/bench-relay.sh).
// With --subscribe-at, the subscribers are spread over several relays (the nodes of a cluster, the
// publisher on --relay) and each of them gets a RESULT line of its own (Benchmarks/bench-cluster.sh).
import ArgumentParser
import Foundation
import MoQ
import MoQWire
import NIOConcurrencyHelpers
import NIOCore
import QUIC

@main
struct RelayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-bench", abstract: "Fan-out benchmark: 1 publisher, N subscribers, through a relay URL.")

    @Option(help: "Relay URL (moqt://host:port/).") var relay: String
    @Option(help: "Relay certificate SHA-256 (hex; repeatable: one per relay of --subscribe-at).")
    var fingerprint: [String]
    @Option(help: "Subscriber sessions.") var subscribers = 100
    @Option(
        help: """
            COUNT@URL: COUNT subscriber sessions on the relay at URL (repeatable; replaces --subscribers, \
            which then all go to --relay). One RESULT line per relay, labelled LABEL-INDEX.
            """)
    var subscribeAt: [String] = []
    @Option(help: "Seconds between the announcement and the first SUBSCRIBE (it crosses the cluster links).")
    var announceWait = 0.5
    @Option(help: "Payload bytes per frame.") var frameSize = 1024
    @Option(help: "Frames per second.") var fps = 100
    @Option(help: "Frames per group (default: --fps, one group per second).") var groupLength: Int?
    @Option(help: "Seconds of publishing.") var seconds = 10
    @Option(help: "Label for the result line.") var label = "relay"
    @Option(
        help: """
            Idle mode: connect this many subscriber sessions, each subscribed to a silent track, print \
            IDLE_READY, hold them for --seconds and exit (the relay's memory per idle subscriber is read from \
            outside, Benchmarks/bench-relay.sh --idle).
            """)
    var idleSubscribers = 0

    func run() async throws {
        let pins = try fingerprint.map { text in
            guard let pin = AddressText.hexBytes(text) else { throw ValidationError("--fingerprint must be hex") }
            return pin
        }
        func configuration() -> MoQClient.Configuration {
            MoQClient.Configuration(
                verification: .pinnedSHA256(pins), versions: [.lite06],
                session: MoQSessionConfiguration(announceInterest: nil))
        }
        let targets = try subscribeAt.isEmpty ? [(relay, subscribers)] : subscribeAt.map(Self.target)
        let path = "bench/\(UInt32.random(in: 0...UInt32.max))"
        if idleSubscribers > 0 {
            try await holdIdleSubscribers(path: path, configuration: configuration)
            return
        }
        let stats = targets.map { FanOutStats(subscribers: $0.1, expectedFrames: fps * seconds) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The publisher, then the subscriber sessions in target order; each knows its target's stats and
            // its index there.
            let subscriberURLs = targets.flatMap { url, count in Array(repeating: url, count: count) }
            let sessions = try await Self.connectRunning([relay] + subscriberURLs, configuration, in: &group)
            let publisher = sessions[0]
            var ready: [(session: MoQSession, stats: FanOutStats, index: Int)] = []
            for (target, (_, count)) in targets.enumerated() {
                for index in 0..<count { ready.append((sessions[ready.count + 1], stats[target], index)) }
            }
            let broadcast = BroadcastProducer(path: path)
            let track = broadcast.createTrack("data")
            publisher.publish(broadcast)
            try await Task.sleep(for: .milliseconds(Int(announceWait * 1000)))  // the announcement reaches the relays
            // Each subscriber counts its frames on its own connection's thread, where the session's tasks run,
            // and the publisher stamps and paces them on its connection's: no hop to the global pool, whose
            // wake-ups would otherwise be in every latency measured.
            for (session, stats, index) in ready {
                group.addTask(executorPreference: session.transport.taskExecutor) {
                    await Self.consume(session.subscribe(broadcast: path, track: "data"), index, stats)
                }
            }
            try await Task.sleep(for: .seconds(1))  // subscriptions in place
            try await withTaskExecutorPreference(publisher.transport.taskExecutor) { try await publish(track) }
            try await Task.sleep(for: .seconds(2))  // stragglers
            broadcast.finish()
            for (session, _, _) in ready { session.close() }
            publisher.close()
            group.cancelAll()
        }
        if subscribeAt.isEmpty {
            stats[0].report(label: label, frameSize: frameSize, seconds: seconds)
        } else {
            for (index, (url, _)) in targets.enumerated() {
                stats[index].report(label: "\(label)-\(index)", frameSize: frameSize, seconds: seconds, at: url)
            }
        }
    }

    /// Dials `urls` in order and starts each session's `run()` in `group` as soon as it is connected: a session
    /// sends its SETUP from `run()`, and a relay closes one without SETUP after its setup timeout (10 s), which
    /// a thousand handshakes in a row can outlast. On a failure the sessions already connected are closed.
    static func connectRunning(
        _ urls: [String], _ configuration: () -> MoQClient.Configuration,
        in group: inout ThrowingTaskGroup<Void, any Error>, progress: (Int) -> Void = { _ in }
    ) async throws -> [MoQSession] {
        var sessions: [MoQSession] = []
        do {
            for url in urls {
                let session = try await MoQClient.connect(url: url, configuration: configuration())
                group.addTask { await session.run() }
                sessions.append(session)
                progress(sessions.count)
            }
        } catch {
            for session in sessions { session.close() }
            throw error
        }
        return sessions
    }

    /// `COUNT@URL` -> (URL, COUNT).
    static func target(_ text: String) throws -> (String, Int) {
        guard let at = text.firstIndex(of: "@"), let count = Int(text[..<at]), count >= 0 else {
            throw ValidationError("--subscribe-at takes COUNT@URL, not \(text)")
        }
        return (String(text[text.index(after: at)...]), count)
    }

    /// Idle mode: a publisher with one silent track and `idleSubscribers` sessions subscribed to it.
    func holdIdleSubscribers(path: String, configuration: () -> MoQClient.Configuration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let sessions = try await Self.connectRunning(
                Array(repeating: relay, count: idleSubscribers + 1), configuration, in: &group
            ) { connected in
                let subscribers = connected - 1  // after the publisher
                if subscribers > 0, subscribers % 250 == 0 {
                    FileHandle.standardError.write(Data("connected \(subscribers)\n".utf8))
                }
            }
            let publisher = sessions[0]
            let ready = Array(sessions.dropFirst())
            let broadcast = BroadcastProducer(path: path)
            _ = broadcast.createTrack("idle")
            publisher.publish(broadcast)
            try await Task.sleep(for: .milliseconds(500))  // the announcement reaches the relay
            for session in ready {
                group.addTask {
                    do { for try await _ in session.subscribe(broadcast: path, track: "idle").track {} } catch {}
                }
            }
            try await Task.sleep(for: .seconds(2))  // subscriptions in place
            FileHandle.standardOutput.write(Data("IDLE_READY sessions=\(ready.count)\n".utf8))
            try await Task.sleep(for: .seconds(seconds))
            broadcast.finish()
            for session in ready { session.close() }
            publisher.close()
            group.cancelAll()
        }
    }

    /// `fps * seconds` frames in groups of `groupLength` (one second's worth unless set), stamped with the
    /// wall clock in microseconds.
    func publish(_ track: TrackProducer) async throws {
        let payload = ByteBuffer(repeating: 0x5a, count: frameSize)
        let clock = ContinuousClock()
        var next = clock.now
        var group: GroupProducer?
        let framesPerGroup = max(1, groupLength ?? fps)
        for index in 0..<(fps * seconds) {
            if index % framesPerGroup == 0 {
                group?.finish()
                group = track.appendGroup()
            }
            group!.write(payload, timestamp: nowMicroseconds())
            next += .nanoseconds(1_000_000_000 / fps)
            try await clock.sleep(until: next)
        }
        group?.finish()
    }

    static func consume(_ subscription: MoQSubscription, _ index: Int, _ stats: FanOutStats) async {
        do {
            for try await group in subscription.track {
                for try await frame in group {
                    stats.received(
                        subscriber: index, bytes: frame.payload.readableBytes,
                        latency: nowMicroseconds() &- frame.timestamp)
                }
            }
        } catch {}
    }
}

func nowMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}

/// Per-subscriber counters and latency samples (microseconds), behind one lock.
final class FanOutStats: Sendable {
    private struct State {
        var frames: [Int]
        var bytes = 0
        var latencies: [UInt64] = []
    }

    private let state: NIOLockedValueBox<State>
    let expectedFrames: Int

    init(subscribers: Int, expectedFrames: Int) {
        state = NIOLockedValueBox(State(frames: Array(repeating: 0, count: subscribers)))
        self.expectedFrames = expectedFrames
        state.withLockedValue { $0.latencies.reserveCapacity(subscribers * expectedFrames) }
    }

    func received(subscriber: Int, bytes: Int, latency: UInt64) {
        state.withLockedValue {
            $0.frames[subscriber] += 1
            $0.bytes += bytes
            $0.latencies.append(latency)
        }
    }

    func report(label: String, frameSize: Int, seconds: Int, at url: String? = nil) {
        let snapshot = state.withLockedValue { $0 }
        let sorted = snapshot.latencies.sorted()
        func percentile(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "nan" }
            return String(format: "%.2f", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000)
        }
        let expected = expectedFrames * snapshot.frames.count
        let received = snapshot.frames.reduce(0, +)
        let place = url.map { " at=\($0)" } ?? ""
        print(
            "RESULT label=\(label)\(place) subscribers=\(snapshot.frames.count) frame_size=\(frameSize) "
                + "gbps=\(String(format: "%.4f", Double(snapshot.bytes) * 8 / Double(seconds) / 1e9)) "
                + "bytes=\(snapshot.bytes) frames=\(received) lost=\(max(0, expected - received)) "
                + "p50_ms=\(percentile(0.5)) p99_ms=\(percentile(0.99)) p999_ms=\(percentile(0.999))")
    }
}
