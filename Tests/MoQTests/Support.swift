import Foundation
import MoQ
import MoQWire
import QUIC
import TestSupport

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

/// Our moq-lite server on an ephemeral loopback port, sharing one origin across sessions (a mini relay,
/// like the echo example's server), for the duration of `body`.
/// An origin publishing one broadcast with one track, and that track's producer (a test writes its groups).
func publishedTrack(broadcast path: String, track name: String) -> (Origin, TrackProducer) {
    let origin = Origin()
    let broadcast = BroadcastProducer(path: path)
    let track = broadcast.createTrack(name)
    origin.publish(broadcast)
    return (origin, track)
}

func withOurServer<T: Sendable>(
    versions: [MoQVersion], origin: Origin = Origin(), setupTimeout: Duration = .seconds(10),
    _ body: @Sendable (_ url: String, _ pin: String, _ origin: Origin) async throws -> T
) async throws -> T {
    let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])
    let endpoint = try await QUICEndpoint.bind(
        host: "127.0.0.1", port: 0,
        server: QUICServerConfiguration(alpn: MoQServer.alpn(for: versions), identity: identity))
    let server = MoQServer(endpoint: endpoint, versions: versions) {
        MoQSessionConfiguration(publish: origin, consume: origin, setupTimeout: setupTimeout)
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
