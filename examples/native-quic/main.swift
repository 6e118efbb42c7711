// native-quic: the echo example (examples/echo) with the QUIC layer in plain sight (gomoqt's
// examples/native_quic): the server takes connections from a `QUICEndpoint` itself and wraps each in a
// `MoQSession`; the client dials with `QUICEndpoint.connect` and does the same, sending the URL's path
// (`/nativequic`) in SETUP on moq-lite 05+. `MoQServer` and `MoQClient` do exactly this for you.
//
//     swift run native-quic server                # 127.0.0.1:4469; prints its certificate SHA-256 first
//     swift run native-quic client --fingerprint <sha256>        # moqt://localhost:4469/nativequic
import ArgumentParser
import ExampleSupport
import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC

@main
struct NativeQUIC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "native-quic", abstract: "moq-lite echo on sessions made by hand from QUIC connections.",
        subcommands: [Server.self, Client.self])
}


// MARK: server

extension NativeQUIC {
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Echo every broadcast a client announces as echo/<path>.")

        @Option(help: "UDP address to listen on.")
        var listen = "127.0.0.1:4469"

        func run() async throws {
            let (host, port) = try AddressText.hostPort(listen)
            let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1", "::1"])
            // The ALPN list is the moq-lite versions we speak, newest first: the handshake picks the version.
            let endpoint = try await QUICEndpoint.bind(
                host: host, port: port,
                server: QUICServerConfiguration(alpn: MoQVersion.serverPreference.map(\.alpn), identity: identity))
            say("native-quic server listening on moqt://\(host):\(endpoint.localAddress.port ?? port)/nativequic")
            say("certificate sha256 \(identity.fingerprintHex)")

            let echoes = Origin()
            await withDiscardingTaskGroup { sessions in
                for await connection in endpoint.incomingConnections {
                    guard let version = connection.negotiatedALPN.flatMap(MoQVersion.init(alpn:)) else {
                        connection.close(code: 0x1, reason: "no moq-lite version")
                        continue
                    }
                    say("session from \(connection.remoteAddress) (\(version))")
                    let session = MoQSession(
                        version: version, transport: QUICTransport(connection),
                        configuration: MoQSessionConfiguration(publish: echoes, consume: Origin()))
                    // The session serves its streams in `run()`; the echo runs beside it.
                    sessions.addTask { await session.run() }
                    sessions.addTask { await echoBroadcasts(of: session, into: echoes) }
                }
            }
        }
    }
}

// MARK: client

extension NativeQUIC {
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish random frames and check the echo is byte-exact.")

        @Option(help: "Server URL (moqt://HOST:PORT/PATH; the path goes in SETUP on moq-lite 05+).")
        var url = "moqt://localhost:4469/nativequic"

        @Option(help: "Trust only the certificate with this SHA-256 (hex, as the server prints it).")
        var fingerprint: String?

        @Flag(help: "Accept any certificate.")
        var insecure = false

        @Option(help: "Groups to send (frames per group: 3, 1000 bytes each).")
        var groups = 5

        @Option(help: "Seconds the whole round trip may take.")
        var timeout = 20

        func run() async throws {
            let target = try MoQURL(url)
            let path = "client-\(UInt32.random(in: 0...UInt32.max))"
            let sent = (0..<groups).map { _ in
                (0..<3).map { _ in ByteBuffer(bytes: (0..<1000).map { _ in UInt8.random(in: 0...255) }) }
            }
            let verification = try verification(fingerprint: fingerprint, insecure: insecure)
            let start = ContinuousClock.now
            let received = try await withTimeout(.seconds(timeout)) {
                let (endpoint, session) = try await dial(target, verification: verification)
                say("connected to \(url) (\(session.version))")
                do {
                    let received = try await withThrowingTaskGroup(of: [UInt64: [ByteBuffer]]?.self) { tasks in
                        // The session serves its streams in `run()`, which returns once the connection closed.
                        tasks.addTask {
                            await session.run()
                            return nil
                        }
                        defer { session.close() }
                        return try await roundTrip(sent, as: path, on: session)
                    }
                    await endpoint.close()
                    return received
                } catch {
                    await endpoint.close()
                    throw error
                }
            }
            let elapsed = ContinuousClock.now - start
            let missing = (0..<sent.count).filter { received[UInt64($0)] != sent[$0] }
            guard missing.isEmpty else {
                say("echo FAILED: groups \(missing) did not come back byte-exact")
                throw ExitCode.failure
            }
            say(
                "echo OK: \(groups) groups, \(groups * 3) frames, \(groups * 3000) bytes came back byte-exact in \(elapsed.milliseconds) ms"
            )
        }
    }
}

/// Dials `target` over raw QUIC, offering every moq-lite version, and wraps the connection in a session
/// (not running yet). Close the endpoint when done.
func dial(_ target: MoQURL, verification: QUICPeerVerification) async throws -> (QUICEndpoint, MoQSession) {
    // Dial the address `localhost` resolves to from a socket of the same family.
    let address = try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
    let endpoint = try await QUICEndpoint.bind(host: address.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
    let connection = try await endpoint.connect(
        host: address.ipAddress ?? target.host, port: target.port,
        configuration: QUICClientConfiguration(
            alpn: MoQVersion.serverPreference.map(\.alpn), serverName: target.host, verification: verification))
    guard let version = connection.negotiatedALPN.flatMap(MoQVersion.init(alpn:)) else {
        connection.close(code: 0x1, reason: "no moq-lite version")
        await endpoint.close()
        throw ValidationError("the server agreed on no moq-lite version")
    }
    var configuration = MoQSessionConfiguration()
    // moq-lite 05+ carries the URL's path (and query) in SETUP, as WebTransport would in its CONNECT.
    if version >= .lite05 { configuration.setupPath = target.pathAndQuery }
    return (endpoint, MoQSession(version: version, transport: QUICTransport(connection), configuration: configuration))
}
