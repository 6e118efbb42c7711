import Foundation
import MoQ
import MoQWire
import QUIC

/// A reference (moq-rs) process started by a test, with its port and certificate pin.
struct ReferencePeer {
    let process: PeerProcess
    let port: Int
    let fingerprint: [UInt8]

    /// `moq_ref.py server` with extra arguments; waits for READY.
    static func server(_ arguments: [String] = []) async throws -> ReferencePeer {
        let process = try PeerProcess(Repository.python, [Repository.peer("moq_ref.py"), "server"] + arguments)
        let ready = try await process.waitForLine(prefix: "READY").split(separator: " ")
        guard ready.count >= 3, let port = Int(ready[1]), let pin = hexBytes(String(ready[2])) else {
            throw PeerError("bad READY line: \(ready)")
        }
        return ReferencePeer(process: process, port: port, fingerprint: pin)
    }

    var url: String { "moqt://127.0.0.1:\(port)/" }

    func clientConfiguration(versions: [MoQVersion], session: MoQSessionConfiguration = .init())
        -> MoQClient.Configuration
    {
        MoQClient.Configuration(verification: .pinnedSHA256([fingerprint]), versions: versions, session: session)
    }

    /// JSON events printed by the process so far.
    var events: [[String: Any]] { process.events }
}

extension PeerProcess {
    var events: [[String: Any]] {
        lines.compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Waits until an event satisfying `predicate` was printed.
    func waitForEvent(timeout: Duration = .seconds(30), _ predicate: ([String: Any]) -> Bool) async throws -> [String:
        Any]
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = events.first(where: predicate) { return event }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError(
            "\(name): no matching event within \(timeout); stdout tail: \(lines.suffix(8)); stderr: \(stderr.suffix(1500))"
        )
    }
}

func hexBytes(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex
        guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}

/// Fails after `timeout` instead of hanging a test run.
func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw PeerError("timed out after \(timeout): \(what)")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// Our moq-lite server on an ephemeral loopback port, sharing one origin across sessions (a mini relay,
/// like the echo example's server), for the duration of `body`.
func withOurServer<T: Sendable>(
    versions: [MoQVersion], origin: Origin = Origin(),
    _ body: @Sendable (_ url: String, _ pin: String, _ origin: Origin) async throws -> T
) async throws -> T {
    let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])
    let endpoint = try await QUICEndpoint.bind(
        host: "127.0.0.1", port: 0,
        server: QUICServerConfiguration(alpn: MoQServer.alpn(for: versions), identity: identity))
    let server = MoQServer(endpoint: endpoint, versions: versions) {
        MoQSessionConfiguration(publish: origin, consume: origin)
    }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await server.run()
            return nil
        }
        do {
            let result = try await body(
                "moqt://127.0.0.1:\(endpoint.localAddress.port!)/", identity.fingerprintHex, origin)
            await endpoint.close()
            group.cancelAll()
            return result
        } catch {
            await endpoint.close()
            group.cancelAll()
            throw error
        }
    }
}

/// Starts `moq_ref.py <command>` against `url` with the pin and extra arguments.
func referenceClient(_ command: String, url: String, pin: String, _ arguments: [String]) throws -> PeerProcess {
    try PeerProcess(
        Repository.python, [Repository.peer("moq_ref.py"), command, "--url", url, "--fingerprint", pin] + arguments,
        name: "moq_ref \(command)")
}
