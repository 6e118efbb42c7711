import Foundation
import TestSupport
import Testing

/// A `moq-relay` with its NTRIP caster on ephemeral loopback ports.
struct RunningCaster {
    let process: PeerProcess
    let ntripPort: Int
    let httpPort: Int
    let url: String
    let pin: String
    let directory: URL

    /// Starts the relay; `directory` (the data directory's parent) is reused to restart on the same state.
    static func start(
        users: [String] = ["user:password", "rover:secret:M1"], directory: URL? = nil,
        adminToken: String = "admintoken",
        extra: [String] = []
    ) async throws -> RunningCaster {
        let binary = try Repository.product("moq-relay")
        let directory = try directory ?? Repository.temporaryDirectory()
        var arguments = [
            "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--ntrip-listen", "127.0.0.1:0",
            "--ntrip-source-password", "sourcepw", "--log-level", "info",
            "--data-dir", directory.appendingPathComponent("data").path,
        ]
        for user in users { arguments += ["--ntrip-user", user] }
        arguments += extra
        setenv("MOQ_ADMIN_TOKEN", adminToken, 1)
        let process = try PeerProcess(binary, arguments, name: "moq-relay")
        let listening = try await process.waitForLine(prefix: "moq-relay listening on ")
        let caster = try await process.waitForLine(prefix: "moq-relay NTRIP caster on ")
        let pin = String(try await process.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        let address = caster.split(separator: " ")[4]
        // With port 0 the relay prints the HTTP port it bound, once bound.
        let http = try await process.waitForLine(prefix: "moq-relay HTTP API on ").split(separator: " ")[4]
        let httpPort = try #require(Int(http.split(separator: ":").last!.dropLast()))
        let running = RunningCaster(
            process: process, ntripPort: Int(address.split(separator: ":").last!)!, httpPort: httpPort,
            url: String(listening.split(separator: " ")[3]), pin: pin, directory: directory)
        // The HTTP listener starts with the service group, just after the lines above.
        for _ in 0..<100 {
            if (try? await running.http("GET", "/health").0) == 200 { return running }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PeerError("the HTTP API did not come up: \(process.stderr.suffix(1000))")
    }

    /// The peer helpers for a caster at `ntripPort` that this process runs itself (no relay process).
    static func helpers(ntripPort: Int) -> RunningCaster {
        let process = try! PeerProcess("/bin/true", [], name: "no relay")
        return RunningCaster(
            process: process, ntripPort: ntripPort, httpPort: 0, url: "", pin: "",
            directory: try! Repository.temporaryDirectory())
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `Tests/Peers/ntrip_peer.py COMMAND ...`.
    func peer(_ command: String, _ arguments: [String]) throws -> PeerProcess {
        try PeerProcess(
            Repository.python, [Repository.peer("ntrip_peer.py"), command] + arguments, name: "ntrip_peer \(command)")
    }

    /// A deterministic RTCM3 stream of `epochs` epochs (about 0.6 KiB each) in the test directory.
    func makeStream(_ name: String, epochs: Int) async throws -> String {
        let file = path(name)
        let maker = try peer("make", ["--out", file, "--epochs", "\(epochs)"])
        #expect(try await maker.waitForExit(timeout: .seconds(30)) == 0)
        return file
    }

    /// The check's JSON: is `out` a byte-exact slice of `source`, made of CRC-valid frames that pyrtcm parses?
    func check(source: String, out: String, stripGGA: Bool = false) async throws -> [String: Any] {
        let checker = try peer("check", ["--source", source, "--out", out] + (stripGGA ? ["--strip-gga"] : []))
        _ = try await checker.waitForExit(timeout: .seconds(60))
        guard let line = checker.lines.last(where: { $0.hasPrefix("{") }),
            let result = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw PeerError("check printed nothing: \(checker.stderr.suffix(1000))") }
        return result
    }

    /// A v1 str2str source pushing `file` paced at `interval` seconds per epoch (str2str reads stdin).
    /// str2str replaces the shell (so `terminate` reaches it: it ignores SIGTERM while reading stdin, and the
    /// SIGKILL that follows ends it); the pacer ends at its next write or after its short hold.
    func str2strSource(file: String, mount: String, interval: Double = 0.1, hold: Double = 1) throws -> PeerProcess {
        let pace =
            "'\(Repository.python)' '\(Repository.peer("ntrip_peer.py"))' pace '\(file)' --interval \(interval) --hold \(hold)"
        return try PeerProcess(
            "/bin/bash",
            ["-c", "exec str2str -out ntrips://:sourcepw@127.0.0.1:\(ntripPort)/\(mount) < <(exec \(pace))"],
            name: "str2str source")
    }

    func stop(keepingData: Bool = false) {
        process.terminate()
        if !keepingData { try? FileManager.default.removeItem(at: directory) }
    }

    /// An HTTP/1.1 request on its own connection: (status code, body).
    func http(
        _ method: String, _ path: String, json: String? = nil, token: String? = "admintoken", basic: String? = nil
    ) async throws -> (Int, String) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let basic { head += "Authorization: Basic \(Data(basic.utf8).base64EncodedString())\r\n" }
        let body = json ?? ""
        if json != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        let reply = try await rawExchange(port: httpPort, head + body)
        let status = reply.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let parts = reply.components(separatedBy: "\r\n\r\n")
        return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

/// Bytes of a file (empty if missing).
func fileBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

extension PeerProcess {
    /// The events named `name` (JSON lines with "event").
    func events(_ name: String) -> [[String: Any]] { events.filter { $0["event"] as? String == name } }
}
