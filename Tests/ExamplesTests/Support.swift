import Foundation
import TestSupport

/// An example or interop server started by a test, with the port and certificate pin it printed first.
struct ServerProcess {
    let process: PeerProcess
    let port: Int
    let fingerprint: String

    var url: String { "moqt://127.0.0.1:\(port)/" }

    /// `<product> server ...` of the examples: waits for `<product> server listening on moqt://HOST:PORT/...`
    /// and `certificate sha256 HEX`.
    static func example(_ product: String, _ arguments: [String] = []) async throws -> ServerProcess {
        let process = try PeerProcess(
            try Repository.product(product), ["server", "--listen", "127.0.0.1:0"] + arguments,
            name: "\(product) server")
        let listening = try await process.waitForLine(prefix: "\(product) server listening on moqt://")
        let certificate = try await process.waitForLine(prefix: "certificate sha256 ")
        let authority = listening.dropFirst("\(product) server listening on moqt://".count).prefix { $0 != "/" }
        guard let port = authority.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw PeerError("bad listening line: \(listening)")
        }
        return ServerProcess(
            process: process, port: port, fingerprint: String(certificate.dropFirst("certificate sha256 ".count)))
    }

    /// `moq-interop server --version V ...`: waits for `LISTENING <port> <sha256>`.
    static func interop(version: String, _ arguments: [String] = []) async throws -> ServerProcess {
        let process = try PeerProcess(
            try Repository.product("moq-interop"),
            ["server", "--listen", "127.0.0.1:0", "--version", version] + arguments,
            name: "moq-interop server")
        return try await fromReadyLine(process, prefix: "LISTENING")
    }

    /// `moq_ref.py server ...` (the reference): waits for `READY <port> <sha256>`.
    static func reference(_ arguments: [String]) async throws -> ServerProcess {
        let process = try PeerProcess(
            Repository.python, [Repository.peer("moq_ref.py"), "server"] + arguments, name: "moq_ref server")
        return try await fromReadyLine(process, prefix: "READY")
    }

    private static func fromReadyLine(_ process: PeerProcess, prefix: String) async throws -> ServerProcess {
        let words = try await process.waitForLine(prefix: prefix + " ").split(separator: " ")
        guard words.count >= 3, let port = Int(words[1]) else { throw PeerError("bad \(prefix) line: \(words)") }
        return ServerProcess(process: process, port: port, fingerprint: String(words[2]))
    }
}

extension PeerProcess {
    var transcript: String { "\(name) stdout: \(lines.suffix(12)); stderr: \(stderr.suffix(1500))" }
}

/// Starts `moq_ref.py <command>` (a reference client) against `server`.
func referenceClient(_ command: String, of server: ServerProcess, _ arguments: [String]) throws -> PeerProcess {
    try PeerProcess(
        Repository.python,
        [
            Repository.peer("moq_ref.py"), command, "--url", server.url, "--fingerprint", server.fingerprint,
            "--timeout", "30",
        ] + arguments,
        name: "moq_ref \(command)")
}

/// "HELLO" as the reference peers print payloads (`payload_hex`).
let helloHex = Array("HELLO".utf8).map { String(format: "%02x", $0) }.joined()
