import Foundation
import TestSupport
import Testing

/// A `moq-relay` with its NTRIP caster on ephemeral loopback ports.
struct RunningCaster {
    let process: PeerProcess
    let ntripPort: Int
    let url: String
    let pin: String
    let directory: URL

    static func start(users: [String] = ["user:password", "rover:secret:M1"]) async throws -> RunningCaster {
        let binary = try Repository.product("moq-relay")
        var arguments = [
            "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--ntrip-listen", "127.0.0.1:0",
            "--ntrip-source-password", "sourcepw", "--log-level", "info",
        ]
        for user in users { arguments += ["--ntrip-user", user] }
        let process = try PeerProcess(binary, arguments, name: "moq-relay")
        let listening = try await process.waitForLine(prefix: "moq-relay listening on ")
        let caster = try await process.waitForLine(prefix: "moq-relay NTRIP caster on ")
        let pin = String(try await process.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        let address = caster.split(separator: " ")[4]
        return RunningCaster(
            process: process, ntripPort: Int(address.split(separator: ":").last!)!,
            url: String(listening.split(separator: " ")[3]), pin: pin, directory: try Repository.temporaryDirectory())
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
    func str2strSource(file: String, mount: String, interval: Double = 0.1, hold: Double = 30) throws -> PeerProcess {
        let pace =
            "'\(Repository.python)' '\(Repository.peer("ntrip_peer.py"))' pace '\(file)' --interval \(interval) --hold \(hold)"
        return try PeerProcess(
            "/bin/bash",
            ["-c", "exec \(pace) | exec str2str -out ntrips://:sourcepw@127.0.0.1:\(ntripPort)/\(mount)"],
            name: "str2str source")
    }

    func stop() {
        process.terminate()
        try? FileManager.default.removeItem(at: directory)
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
