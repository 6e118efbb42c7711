// ntrip-bench: one NTRIP source and many NTRIP v1 clients (many sockets, one process) against a caster;
// reports per-epoch delivery latency (p50/p99), epochs received and clients dropped.
//
// The source sends one epoch every --interval-ms: "EPOCH<19-digit monotonic ns>\n" padded to --epoch-bytes
// (ASCII, so the caster passes it as raw reads). Each client finds the markers in its byte stream.
import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Latencies and counters shared by every client.
final class Stats: Sendable {
    struct State {
        var latencies: [UInt64] = []
        var epochs = 0
        var connected = 0
        var closed = 0
        var refused = 0
    }

    let state = NIOLockedValueBox(State())
    let measuring = NIOLockedValueBox(false)
}

/// One client: sends the v1 request, then scans what it receives for epoch markers.
final class ClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let stats: Stats
    let request: String
    let tail = NIOLockedValueBox<[UInt8]>([])
    let ok = NIOLockedValueBox(false)

    init(stats: Stats, request: String) {
        self.stats = stats
        self.request = request
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = DispatchTime.now().uptimeNanoseconds
        let buffer = unwrapInboundIn(data)
        var bytes = tail.withLockedValue { $0 }
        bytes.append(contentsOf: buffer.readableBytesView)
        if !ok.withLockedValue({ $0 }) {
            guard bytes.count >= 12 else {
                tail.withLockedValue { $0 = bytes }
                return
            }
            guard bytes.starts(with: Array("ICY 200 OK".utf8)) else {
                stats.state.withLockedValue { $0.refused += 1 }
                context.close(promise: nil)
                return
            }
            ok.withLockedValue { $0 = true }
            stats.state.withLockedValue { $0.connected += 1 }
        }
        // Find "EPOCH" + 19 digits.
        var found: [UInt64] = []
        var searchFrom = 0
        let marker = Array("EPOCH".utf8)
        var keepFrom = max(0, bytes.count - 24)
        while let start = Self.find(marker, in: bytes, from: searchFrom) {
            let digitsStart = start + 5
            guard digitsStart + 19 <= bytes.count else {
                keepFrom = start
                break
            }
            if let sent = UInt64(String(decoding: bytes[digitsStart..<digitsStart + 19], as: UTF8.self)) {
                found.append(now &- sent)
            }
            searchFrom = digitsStart + 19
            keepFrom = max(keepFrom, searchFrom)
        }
        tail.withLockedValue { $0 = Array(bytes[min(keepFrom, bytes.count)...]) }
        if !found.isEmpty, stats.measuring.withLockedValue({ $0 }) {
            stats.state.withLockedValue {
                $0.latencies.append(contentsOf: found)
                $0.epochs += found.count
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if ok.withLockedValue({ $0 }) { stats.state.withLockedValue { $0.closed += 1 } }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], Array(haystack[index..<index + needle.count]) == needle { return index }
            index += 1
        }
        return nil
    }
}

@main
struct NTRIPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "NTRIP fan-out benchmark: 1 source, N v1 clients.")

    @Option(help: "Caster host:port for clients.") var caster: String = "127.0.0.1:2101"
    @Option(help: "Where the source connects: ntrip (v1 SOURCE to --caster) or raw host:port (str2str tcpsvr).")
    var source: String = "ntrip"
    @Option var mount: String = "BENCH"
    @Option var sourcePassword: String = "source"
    @Option var user: String = "user"
    @Option var password: String = "password"
    @Option var clients: Int = 1000
    @Option(help: "Seconds measured after every client connected.") var seconds: Int = 10
    @Option var epochBytes: Int = 1024
    @Option var intervalMs: Int = 1000
    @Option(help: "Client connections opened per batch (then a short pause).") var batch: Int = 200
    @Option(help: "Event loops reading the clients' sockets (one per core is what a real fleet of clients has).")
    var threads: Int = 2

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let stats = Stats()
        let (host, port) = Self.hostPort(caster)
        // The source first, so the mount is live when clients come.
        let sourceChannel: any Channel
        if source == "ntrip" {
            sourceChannel = try await ClientBootstrap(group: group).connect(host: host, port: port).get()
            try await sourceChannel.writeAndFlush(
                ByteBuffer(string: "SOURCE \(sourcePassword) /\(mount)\r\nSource-Agent: NTRIP bench\r\n\r\n"))
        } else {
            let (sourceHost, sourcePort) = Self.hostPort(source)
            sourceChannel = try await ClientBootstrap(group: group).connect(host: sourceHost, port: sourcePort).get()
        }
        let interval = Duration.milliseconds(intervalMs)
        let epochBytes = self.epochBytes
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                while !Task.isCancelled {
                    var text = "EPOCH" + String(format: "%019llu", DispatchTime.now().uptimeNanoseconds) + "\n"
                    text += String(repeating: "x", count: max(0, epochBytes - text.utf8.count - 1)) + "\n"
                    try await sourceChannel.writeAndFlush(ByteBuffer(string: text))
                    try await Task.sleep(for: interval)
                }
            }
            try await Task.sleep(for: .seconds(1))
            let token = Data("\(user):\(password)".utf8).base64EncodedString()
            let request =
                "GET /\(mount) HTTP/1.0\r\nUser-Agent: NTRIP ntrip-bench\r\nAuthorization: Basic \(token)\r\n\r\n"
            var channels: [any Channel] = []
            let started = ContinuousClock.now
            var failures = 0
            for index in 0..<clients {
                do {
                    let channel = try await ClientBootstrap(group: group)
                        .channelOption(.socketOption(.so_reuseaddr), value: 1)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(
                                    ClientHandler(stats: stats, request: request))
                            }
                        }
                        .connect(host: host, port: port).get()
                    channels.append(channel)
                } catch {
                    failures += 1
                }
                if index % batch == batch - 1 { try await Task.sleep(for: .milliseconds(20)) }
            }
            // Wait until every client has its reply (bounded).
            for _ in 0..<200 {
                let answered = stats.state.withLockedValue { $0.connected + $0.refused }
                if answered >= channels.count { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let connectSeconds = (ContinuousClock.now - started).components.seconds
            stats.measuring.withLockedValue { $0 = true }
            try await Task.sleep(for: .seconds(seconds))
            stats.measuring.withLockedValue { $0 = false }
            let state = stats.state.withLockedValue { $0 }
            let sorted = state.latencies.sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return -1 }
                return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
            }
            let expected = channels.count * (seconds * 1000 / max(1, intervalMs))
            print(
                "RESULT clients=\(clients) connected=\(state.connected) refused=\(state.refused) connect_failures=\(failures)"
                    + " dropped=\(state.closed) epochs=\(state.epochs) expected~=\(expected)"
                    + " p50_ms=\(String(format: "%.2f", percentile(0.5))) p99_ms=\(String(format: "%.2f", percentile(0.99)))"
                    + " max_ms=\(String(format: "%.2f", percentile(1))) connect_s=\(connectSeconds)")
            tasks.cancelAll()
            for channel in channels { channel.close(promise: nil) }
            sourceChannel.close(promise: nil)
        }
        try await group.shutdownGracefully()
    }

    static func hostPort(_ text: String) -> (String, Int) {
        let colon = text.lastIndex(of: ":")!
        return (String(text[..<colon]), Int(text[text.index(after: colon)...])!)
    }
}
