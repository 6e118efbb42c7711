import Foundation
import TestSupport
import Testing

/// The relay the L7RTCP tests run (TestSupport's `RunningRelay`), with the reference publisher and a
/// curl-based HTTP exchange for the L7RTCP routes.
typealias TestRelay = RunningRelay

extension RunningRelay {
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
    /// A stateful transmission of `stream` (resend, pull, pause; 1000-byte chunks) for `clientID`, and a
    /// stateless one of the same stream: the pair the persistence and cluster-resume tests carry over.
    func createTransmissions(of stream: String, clientID: String) async throws -> (stateful: String, stateless: String)
    {
        let created = try await exchange(
            "POST", "/l7rtcp/init",
            [
                "X-Client-ID": clientID, "X-Features-Supported": "core,resend,pull,pause",
                "X-Session-Type": "stateful", "X-Streams": stream, "X-Chunk-Size": "1000",
            ])
        let stateful = try #require(created.headers["x-transmission-id"], "\(created.status) \(created.text)")
        var stateless = readmeInit
        stateless["X-Session-Type"] = "stateless"
        stateless["X-Streams"] = stream
        stateless["X-Features-Supported"] = "core,pull"
        let statelessID = try #require(
            try await exchange("POST", "/l7rtcp/init", stateless).headers["x-transmission-id"])
        return (stateful, statelessID)
    }

    /// Pulls packet `packet` of `stream` in transmission `id`, waiting up to 5 s for it.
    func pull(_ id: String, stream: String, packet: Int) async throws -> HTTPExchange {
        try await exchange(
            "POST", "/l7rtcp/transmit",
            ["X-Transmission-ID": id, "X-Stream-ID": stream, "X-Packet-ID": String(packet), "X-Wait-Ms": "5000"])
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
