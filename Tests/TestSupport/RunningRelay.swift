public import Foundation

/// A running `moq-relay` on ephemeral loopback ports, with its own data directory (or on its node's
/// address inside a `NetworkLab` namespace, where its HTTP API is reached from inside that namespace).
public struct RunningRelay: Sendable {
    public let process: PeerProcess
    public let url: String
    public let pin: String
    public let http: String
    public let dataDirectory: URL
    /// The network namespace the relay runs in (nil: the test's own).
    public var namespace: String? = nil

    /// Starts the relay with `arguments` added to its defaults (ephemeral ports, a fresh data directory).
    public static func start(_ arguments: [String] = [], dataDirectory: URL? = nil, logLevel: String = "warning")
        async throws
        -> RunningRelay
    {
        let data = try dataDirectory ?? Repository.temporaryDirectory()
        let process = try PeerProcess(
            try Repository.product("moq-relay"),
            [
                "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--ntrip-listen", "127.0.0.1:0",
                "--log-level", logLevel,
                "--data-dir", data.path,
            ] + arguments,
            name: "moq-relay")
        // With port 0 the relay prints the HTTP port it bound, once bound.
        let http = try await process.waitForLine(prefix: "moq-relay HTTP API on ").split(separator: " ")[4]
        return try await started(process, http: String(http.dropLast()), dataDirectory: data)
    }

    /// Starts the relay inside `node`'s namespace of `lab`, listening on the node's address (UDP 4443,
    /// HTTP 8080, NTRIP 2101: the namespace has no other listeners), with `arguments` added.
    public static func start(
        in lab: NetworkLab, node: String, _ arguments: [String] = [], logLevel: String = "warning"
    ) async throws -> RunningRelay {
        let host = lab.address(node)
        let data = try Repository.temporaryDirectory()
        let process = try lab.process(
            in: node, try Repository.product("moq-relay"),
            [
                "--listen", "\(host):4443", "--http-listen", "\(host):8080", "--ntrip-listen", "\(host):2101",
                "--log-level", logLevel, "--data-dir", data.path,
            ] + arguments,
            name: "moq-relay \(node)")
        return try await started(
            process, http: "http://\(host):8080", dataDirectory: data, namespace: lab.namespace(node))
    }

    /// Waits for a started relay's first lines and its HTTP listener.
    private static func started(
        _ process: PeerProcess, http: String, dataDirectory: URL, namespace: String? = nil
    ) async throws -> RunningRelay {
        let listening = try await process.waitForLine(prefix: "moq-relay listening on ")
        let url = String(listening.split(separator: " ")[3])
        let pin = String(try await process.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        let relay = RunningRelay(
            process: process, url: url, pin: pin, http: http, dataDirectory: dataDirectory, namespace: namespace)
        // The HTTP listener starts with the service group, just after those lines: wait until it answers.
        for _ in 0..<200 {
            if (try? await relay.get("/health")) == "ok\n" { return relay }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PeerError("moq-relay's HTTP listener did not come up: \(process.stderr.suffix(1500))")
    }

    /// Stops the relay (SIGTERM, then SIGKILL) and deletes its data directory.
    public func stop() {
        process.terminate()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// GET `path` (e.g. `/announced/site`) from the relay's HTTP API, from inside its namespace if it has one.
    public func get(_ path: String) async throws -> String {
        try await httpGet(http + path, in: namespace)
    }

    /// A value from the relay's `/metrics` (nil if the line is missing).
    public func metric(_ name: String) async throws -> Int? {
        let metrics = try await get("/metrics")
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
        let peer = [
            Repository.python, Repository.peer("moq_ref.py"), command, "--url", base + path, "--fingerprint", pin,
        ]
        guard let namespace else {
            return try PeerProcess(peer[0], Array(peer.dropFirst()) + arguments, name: "moq_ref \(command)")
        }
        return try PeerProcess(
            NetworkLab.ip, ["netns", "exec", namespace] + peer + arguments, name: "moq_ref \(command) in \(namespace)")
    }
}
