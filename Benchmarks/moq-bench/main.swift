// moq-bench: one publisher, one subscriber, 1 KiB frames, through our moq-lite session directly or through
// a relay given by URL (e.g. the reference server). Reports frames/s, p50/p99 latency and heap allocations
// per delivered frame. Publisher and subscriber live in this process, so both read the same clock.
import ArgumentParser
import CMallocCounter
import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC

@main
struct MoQBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moq-bench",
        abstract: "moq-lite publisher -> subscriber benchmark (frames/s, latency, allocations).")

    @Option(help: "Relay URL to publish and subscribe through (default: a direct session to an in-process server).")
    var relay: String?
    @Option(help: "Relay certificate SHA-256 (hex) to pin.") var fingerprint: String?
    @Option(help: "Frames to send.") var frames = 50_000
    @Option(help: "Payload bytes per frame.") var frameSize = 1024
    @Option(help: "Frames per group.") var groupLength = 30
    @Option(help: "Frames per second offered by the publisher (a subscriber that falls behind loses groups).")
    var rate = 5000
    @Option(help: "moq-lite version: 04, 05 or 06.") var version = "06"
    @Option(help: "Label for the result line.") var label = "direct"

    func validate() throws {
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
    }

    func run() async throws {
        guard let version = MoQVersion(alpn: "moq-lite-\(version)") else {
            throw ValidationError("unknown version \(self.version)")
        }
        if let relay {
            guard let fingerprint, let pin = AddressText.hexBytes(fingerprint) else {
                throw ValidationError("--relay needs --fingerprint")
            }
            // Two configurations: each session needs its own origins and hop id.
            let publisherConfiguration = MoQClient.Configuration(
                verification: .pinnedSHA256([pin]), versions: [version])
            let subscriberConfiguration = MoQClient.Configuration(
                verification: .pinnedSHA256([pin]), versions: [version])
            try await MoQClient.withSession(url: relay, configuration: publisherConfiguration) { publisher in
                try await MoQClient.withSession(url: relay, configuration: subscriberConfiguration) { subscriber in
                    try await measure(publisher: publisher, subscriber: subscriber)
                }
            }
            return
        }
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])
        let endpoint = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: [version.alpn], identity: identity))
        let origin = Origin()
        let server = MoQServer(endpoint: endpoint, versions: [version]) {
            MoQSessionConfiguration(publish: origin, consume: origin)
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await server.run()
            }
            let configuration = MoQClient.Configuration(
                verification: .pinnedSHA256([identity.fingerprintSHA256]), versions: [version])
            // Direct: the publisher's broadcast sits in the server's origin; one session carries it.
            try await MoQClient.withSession(
                url: "moqt://127.0.0.1:\(endpoint.localAddress.port!)/", configuration: configuration
            ) { subscriber in
                try await measure(publishInto: origin, subscriber: subscriber)
            }
            await endpoint.close()
        }
    }

    /// Publisher on a session of its own (through a relay).
    func measure(publisher: MoQSession, subscriber: MoQSession) async throws {
        let broadcast = BroadcastProducer(path: "bench/\(UInt32.random(in: 0...UInt32.max))")
        publisher.publish(broadcast)
        try await measure(broadcast: broadcast, subscriber: subscriber)
    }

    /// Publisher inside the server's origin (direct session).
    func measure(publishInto origin: Origin, subscriber: MoQSession) async throws {
        let broadcast = BroadcastProducer(path: "bench/direct")
        origin.publish(broadcast)
        try await measure(broadcast: broadcast, subscriber: subscriber)
    }

    func measure(broadcast: BroadcastProducer, subscriber: MoQSession) async throws {
        let track = broadcast.createTrack("data", info: TrackInfo(timescale: 1_000_000_000))
        // Wait for the announcement to reach the subscriber, then subscribe.
        for await announcement in subscriber.announcements(prefix: "bench") where announcement.path == broadcast.path {
            break
        }
        let subscription = subscriber.subscribe(broadcast: broadcast.path, track: "data")
        let frames = self.frames
        let payload = ByteBuffer(repeating: 0xab, count: frameSize)
        let groupLength = self.groupLength
        let interval = Duration.nanoseconds(1_000_000_000 / rate)
        let result: Stats
        do {
            result = try await collect()
        } catch {
            let closed = await subscriber.closed()
            FileHandle.standardError.write(
                Data("benchmark failed: \(error); session closed with \(closed.code) \(closed.reason)\n".utf8))
            throw ExitCode.failure
        }
        @Sendable func collect() async throws -> Stats {
            try await withThrowingTaskGroup(of: Stats?.self) { group in
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(frames)
                    var allocationsAtFirst: UInt64 = 0
                    var firstTime: UInt64 = 0
                    var groupsDropped = 0
                    outer: for try await received in subscription.track {
                        do {
                            for try await frame in received {
                                let now = NIODeadline.now().uptimeNanoseconds
                                if latencies.isEmpty {
                                    allocationsAtFirst = cmalloc_counter_allocations()
                                    firstTime = now
                                }
                                latencies.append(now &- frame.timestamp)
                                if latencies.count >= frames { break outer }
                            }
                        } catch is MoQStreamError {
                            groupsDropped += 1  // the publisher dropped a group we fell behind on
                        }
                    }
                    let elapsed = NIODeadline.now().uptimeNanoseconds - firstTime
                    let allocations = cmalloc_counter_allocations() - allocationsAtFirst
                    return Stats(
                        latencies: latencies, seconds: Double(elapsed) / 1e9, allocations: allocations,
                        groupsDropped: groupsDropped)
                }
                group.addTask {
                    do {
                        try await publish()
                    } catch is CancellationError {
                        // The subscriber has all it needs.
                    }
                    return nil
                }
                @Sendable func publish() async throws {
                    // Give the subscription a moment to be in place so the first frames are not lost.
                    try await Task.sleep(for: .milliseconds(300))
                    var sent = 0
                    var current: GroupProducer?
                    let clock = ContinuousClock()
                    var next = clock.now
                    // Until the subscriber has its frames (it cancels us), bounded at 120 s: a subscriber that
                    // falls behind loses whole groups, so the count sent is not the count to wait for.
                    let deadline = clock.now + .seconds(120)
                    while clock.now < deadline {
                        if sent % groupLength == 0 {
                            current?.finish()
                            current = track.appendGroup()
                        }
                        current!.write(payload, timestamp: NIODeadline.now().uptimeNanoseconds)
                        sent += 1
                        if sent % 1024 == 0 { try Task.checkCancellation() }
                        next += interval
                        try await clock.sleep(until: next)
                    }
                    current?.finish()
                }
                var stats: Stats?
                for try await value in group {
                    if let value {
                        stats = value
                        group.cancelAll()
                    }
                }
                return stats!
            }
        }
        let sorted = result.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
        }
        print(
            "RESULT label=\(label) version=\(version) frames=\(sorted.count) frame_size=\(frameSize) "
                + "fps=\(String(format: "%.0f", Double(sorted.count) / result.seconds)) "
                + "p50_ms=\(String(format: "%.3f", percentile(0.5))) p99_ms=\(String(format: "%.3f", percentile(0.99))) "
                + "allocs_per_frame=\(String(format: "%.1f", Double(result.allocations) / Double(sorted.count))) "
                + "groups_dropped=\(result.groupsDropped)")
        subscription.cancel()
        broadcast.finish()
    }

    struct Stats: Sendable {
        let latencies: [UInt64]
        let seconds: Double
        let allocations: UInt64
        let groupsDropped: Int
    }
}

