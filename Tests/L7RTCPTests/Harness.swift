import Foundation
import TestSupport

/// A `moq-relay` on ephemeral loopback ports with its own data directory (as MoQRelayTests' RunningRelay),
/// plus the reference publisher and a curl-based HTTP exchange for the L7RTCP routes.
struct TestRelay {
    let process: PeerProcess
    let url: String
    let pin: String
    let http: String
    let dataDirectory: URL

    static func start(_ arguments: [String] = [], dataDirectory: URL? = nil) async throws -> TestRelay {
        let httpPort = try freeTCPPort()
        let data = try dataDirectory ?? Repository.temporaryDirectory()
        let process = try PeerProcess(
            try Repository.product("moq-relay"),
            [
                "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:\(httpPort)", "--ntrip-listen", "127.0.0.1:0",
                "--log-level", "warning", "--data-dir", data.path,
            ] + arguments,
            name: "moq-relay")
        let listening = try await process.waitForLine(prefix: "moq-relay listening on ")
        let url = String(listening.split(separator: " ")[3])
        let pin = String(try await process.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        return TestRelay(
            process: process, url: url, pin: pin, http: "http://127.0.0.1:\(httpPort)", dataDirectory: data)
    }

    /// The reference (moq-rs) client publishing `broadcast` with fixed-size frames until `groups` are written,
    /// waiting until the relay announces it.
    func publish(
        _ broadcast: String, tracks: [String] = ["data"], groups: Int = 2000, frameSize: Int = 1000,
        intervalMs: Int = 10, extra: [String] = []
    ) async throws -> PeerProcess {
        let publisher = try PeerProcess(
            Repository.python,
            [
                Repository.peer("moq_ref.py"), "publish", "--url", url, "--fingerprint", pin, "--broadcast", broadcast,
                "--groups", String(groups), "--frame-size", String(frameSize), "--interval-ms", String(intervalMs),
                "--timeout", "90",
            ] + tracks.flatMap { ["--track", $0] } + extra,
            name: "moq_ref publish")
        try await waitUntil(timeout: .seconds(20)) {
            try await httpGet(http + "/announced").split(separator: "\n").contains { $0 == broadcast }
        }
        return publisher
    }

    func exchange(_ method: String, _ path: String, _ headers: [String: String] = [:], body: String? = nil)
        async throws -> HTTPExchange
    {
        try await HTTPExchange.run(method, http + path, headers, body: body)
    }
}

/// One HTTP request made with curl: status, headers (lower-cased names) and body bytes.
struct HTTPExchange {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var statusLine: String = ""

    static func run(_ method: String, _ url: String, _ headers: [String: String], body: String?) async throws
        -> HTTPExchange
    {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerFile = directory.appendingPathComponent("headers").path
        let bodyFile = directory.appendingPathComponent("body").path
        var arguments = [
            "-s", "--max-time", "40", "-X", method, "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}\n",
        ]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        arguments.append(url)
        let process = try PeerProcess("/usr/bin/curl", arguments, name: "curl")
        _ = try await process.waitForExit(timeout: .seconds(45))
        var exchange = HTTPExchange(
            status: Int(process.lines.last ?? "") ?? 0, headers: [:],
            body: FileManager.default.contents(atPath: bodyFile) ?? Data())
        let head = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        for (index, line) in head.split(separator: "\r\n").enumerated() {
            if index == 0 {
                exchange.statusLine = String(line)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            exchange.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        return exchange
    }
}

/// The source document's init example (§2.2), with the correctly spelled `X-Chunk-Size`.
let readmeInit: [String: String] = [
    "X-Client-ID": "cli-123",
    "X-Features-Supported": "core,resend,ttl,multistream,pull,backpressure,pause,fec,metrics,stateless",
    "X-Session-Type": "stateful",
    "X-Streams": "video;res=480,audio;lang=en",
    "X-TTL": "3600",
    "X-Chunk-Size": "1024",
    "X-Max-Packet-Size": "1024",
]
