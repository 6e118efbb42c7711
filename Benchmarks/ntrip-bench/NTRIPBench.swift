// ntrip-bench: one NTRIP source and many NTRIP v1 clients (many sockets, one process) against a caster;
// reports per-epoch delivery latency (p50/p99), epochs received and clients dropped.
//
// The source sends one epoch every --interval-ms: "EPOCH<19-digit monotonic ns>\n" padded to --epoch-bytes
// (ASCII, so the caster passes it as raw reads). Each client finds the markers in its byte stream. The
// clients are plain non-blocking sockets read by --threads epoll threads (see Reader), so the load client
// costs about one read per client per epoch and leaves the cores to the caster.
import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

@main
struct NTRIPBench: ParsableCommand {
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
    @Option(help: "Threads reading the clients' sockets (one per core is what a real fleet of clients has).")
    var threads: Int = 2
    @Option(
        help: """
            While epochs arrive, readers sleep this many microseconds between non-blocking polls, so that the \
            caster's loopback writes do not each wake a reader (0: always wait in epoll_wait).
            """)
    var pollTickUs: Int = 1000

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let (host, port) = try Self.hostPort(caster)
        // The source first, so the mount is live when clients come.
        let sourceSocket: Int32
        if source == "ntrip" {
            sourceSocket = try Self.connect(host: host, port: port)
            try Self.send("SOURCE \(sourcePassword) /\(mount)\r\nSource-Agent: NTRIP bench\r\n\r\n", to: sourceSocket)
        } else {
            let (sourceHost, sourcePort) = try Self.hostPort(source)
            sourceSocket = try Self.connect(host: sourceHost, port: sourcePort)
        }
        let sender = EpochSender(socket: sourceSocket, epochBytes: epochBytes, interval: intervalMs)
        sender.start()
        Thread.sleep(forTimeInterval: 1)

        let token = Data("\(user):\(password)".utf8).base64EncodedString()
        let request = "GET /\(mount) HTTP/1.0\r\nUser-Agent: NTRIP ntrip-bench\r\nAuthorization: Basic \(token)\r\n\r\n"
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let maxDescriptors = Int(min(limit.rlim_cur, 1 << 20))
        let epochsPerClient = seconds * 1000 / max(1, intervalMs) + 2
        let readers = (0..<max(1, threads)).map { _ in
            Reader(
                maxDescriptors: maxDescriptors, expectedLatencies: clients / max(1, threads) * epochsPerClient,
                pollTickMicroseconds: pollTickUs)
        }
        readers.forEach { $0.start() }
        let started = ContinuousClock.now
        var opened: [Int32] = []
        var failures = 0
        for index in 0..<clients {
            do {
                let client = try Self.connect(host: host, port: port)
                try Self.send(request, to: client)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                readers[index % readers.count].add(client)
                opened.append(client)
            } catch {
                failures += 1
            }
            if index % batch == batch - 1 { Thread.sleep(forTimeInterval: 0.02) }
        }
        // Wait (bounded) until every client has its reply: the readers count them.
        var answered = 0
        for _ in 0..<200 {
            answered = readers.reduce(0) { $0 + $1.answeredSoFar }
            if answered >= opened.count { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let connectSeconds = (ContinuousClock.now - started).components.seconds
        readers.forEach { $0.setMeasuring(true) }
        Thread.sleep(forTimeInterval: Double(seconds))
        readers.forEach { $0.setMeasuring(false) }
        readers.forEach { $0.stop() }
        sender.stop()

        var totals = ReaderTotals()
        for reader in readers {
            totals.latencies += reader.totals.latencies
            totals.epochs += reader.totals.epochs
            totals.connected += reader.totals.connected
            totals.refused += reader.totals.refused
            totals.closed += reader.totals.closed
        }
        let sorted = totals.latencies.sorted()
        func percentile(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "-1" }
            return String(format: "%.2f", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6)
        }
        let expected = opened.count * (seconds * 1000 / max(1, intervalMs))
        print(
            "RESULT clients=\(clients) connected=\(totals.connected) refused=\(totals.refused) connect_failures=\(failures)"
                + " dropped=\(totals.closed) epochs=\(totals.epochs) expected~=\(expected)"
                + " p50_ms=\(percentile(0.5)) p99_ms=\(percentile(0.99)) max_ms=\(percentile(1)) connect_s=\(connectSeconds)"
        )
        for client in opened { close(client) }
        close(sourceSocket)
    }

    static func hostPort(_ text: String) throws -> (String, UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("expected host:port, got \(text)")
        }
        return (String(text[..<colon]), port)
    }

    /// A blocking TCP connection to an IPv4 address (the bench runs on loopback), with TCP_NODELAY.
    static func connect(host: String, port: UInt16) throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw ValidationError("\(host) is not an IPv4 address")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket: errno \(errno) (raise ulimit -n?)") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw BenchError("connect \(host):\(port): errno \(code)")
        }
        return descriptor
    }

    static func send(_ text: String, to descriptor: Int32) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw BenchError("write: errno \(errno)") }
            offset += written
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
