public import Foundation

/// A running `moq-relay` on ephemeral loopback ports, with its own data directory.
public struct RunningRelay: Sendable {
    public let process: PeerProcess
    public let url: String
    public let pin: String
    public let http: String
    public let dataDirectory: URL

    /// Starts the relay with `arguments` added to its defaults (ephemeral ports, a fresh data directory).
    public static func start(_ arguments: [String] = [], dataDirectory: URL? = nil, logLevel: String = "warning")
        async throws
        -> RunningRelay
    {
        let httpPort = try freeTCPPort()
        let data = try dataDirectory ?? Repository.temporaryDirectory()
        let process = try PeerProcess(
            try Repository.product("moq-relay"),
            [
                "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:\(httpPort)", "--ntrip-listen", "127.0.0.1:0",
                "--log-level", logLevel,
                "--data-dir", data.path,
            ] + arguments,
            name: "moq-relay")
        let listening = try await process.waitForLine(prefix: "moq-relay listening on ")
        let url = String(listening.split(separator: " ")[3])
        let pin = String(try await process.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        let relay = RunningRelay(
            process: process, url: url, pin: pin, http: "http://127.0.0.1:\(httpPort)", dataDirectory: data)
        // The HTTP listener starts with the service group, just after those lines: wait until it answers.
        for _ in 0..<200 {
            if (try? await httpGet(relay.http + "/health")) == "ok\n" { return relay }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PeerError("moq-relay's HTTP listener did not come up: \(process.stderr.suffix(1500))")
    }

    /// A value from the relay's `/metrics` (nil if the line is missing).
    public func metric(_ name: String) async throws -> Int? {
        let metrics = try await httpGet("\(http)/metrics")
        return metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
            Int($0.split(separator: " ")[1])
        }
    }

    /// A reference (moq-rs) client command against the relay; `path` is added to the relay's URL
    /// (e.g. `demo?jwt=...`).
    /// `webTransport` dials `https://` (WebTransport) instead of `moqt://` (raw QUIC).
    public func reference(_ command: String, _ arguments: [String], path: String = "", webTransport: Bool = false)
        throws
        -> PeerProcess
    {
        let base = webTransport ? url.replacingOccurrences(of: "moqt://", with: "https://") : url
        return try PeerProcess(
            Repository.python,
            [Repository.peer("moq_ref.py"), command, "--url", base + path, "--fingerprint", pin] + arguments,
            name: "moq_ref \(command)")
    }
}
