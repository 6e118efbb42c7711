// native-quic: the echo example (examples/echo) with the QUIC layer in plain sight (gomoqt's
// examples/native_quic): the server takes connections from a `QUICEndpoint` itself and wraps each in a
// `MoQSession`; the client dials with `QUICEndpoint.connect` and does the same, sending the URL's path
// (`/nativequic`) in SETUP on moq-lite 05+. `MoQServer` and `MoQClient` do exactly this for you.
//
//     swift run native-quic server                # 127.0.0.1:4469; prints its certificate SHA-256 first
//     swift run native-quic client --fingerprint <sha256>        # moqt://localhost:4469/nativequic
import ArgumentParser
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

let trackName = "data"

// MARK: server

extension NativeQUIC {
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Echo every broadcast a client announces as echo/<path>.")

        @Option(help: "UDP address to listen on.")
        var listen = "127.0.0.1:4469"

        func run() async throws {
            let (host, port) = try parseHostPort(listen)
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

/// Republishes every broadcast the client announces as `echo/<path>`, until the session closes.
func echoBroadcasts(of session: MoQSession, into echoes: Origin) async {
    await withTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            await withDiscardingTaskGroup { copies in
                for await announcement in session.announcements() {
                    guard case .active(let path, _) = announcement else { continue }
                    copies.addTask { await echo(path, of: session, into: echoes) }
                }
            }
        }
        // The session closing stops the copies (once the library has unannounced the client's broadcasts).
        _ = await session.closed()
        await waitUntilUnannounced(session)
        tasks.cancelAll()
    }
}

/// Copies track `data` of the client's broadcast `path` into `echo/<path>`, group by group, sharing the
/// frames' ByteBuffers; the echo is unannounced when the client's track ends.
func echo(_ path: String, of session: MoQSession, into echoes: Origin) async {
    let copy = BroadcastProducer(path: "echo/" + path)
    let output = copy.createTrack(trackName)
    echoes.publish(copy)
    say("echoing \(path) as echo/\(path)\(session.peerSetup.path.map { " (SETUP path \($0))" } ?? "")")
    defer { copy.finish() }
    let source = session.subscribe(broadcast: path, track: trackName, options: SubscribeOptions(startGroup: 0))
    defer { source.cancel() }
    do {
        try await withThrowingDiscardingTaskGroup { groups in
            for try await group in source.track {
                let echoed = output.createGroup(sequence: group.sequence)
                groups.addTask {
                    do {
                        for try await frame in group { echoed.write(frame) }
                        echoed.finish()
                    } catch {
                        echoed.abort(error as? MoQStreamError ?? .cancelled)
                    }
                }
            }
        }
        output.finish()
    } catch {
        output.abort(error as? MoQStreamError ?? .cancelled)
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

/// Publishes `sent` as broadcast `path`, reading each group back from `echo/<path>`; returns the echoed frames by group.
func roundTrip(_ sent: [[ByteBuffer]], as path: String, on session: MoQSession) async throws -> [UInt64: [ByteBuffer]] {
    let broadcast = BroadcastProducer(path: path)
    let track = broadcast.createTrack(trackName)
    session.publish(broadcast)
    defer { broadcast.finish() }
    let echoPath = "echo/" + path
    for await announcement in session.announcements() {
        if case .active(echoPath, _) = announcement { break }
    }
    let echo = session.subscribe(broadcast: echoPath, track: trackName, options: SubscribeOptions(startGroup: 0))
    defer { echo.cancel() }
    // One group at a time, like ping: publish it, then wait for it to come back. (Groups travel on
    // separate streams; with several in flight a later one may land first, and a live subscription moves
    // on to the newest group, skipping the older one.)
    var echoed = echo.track.makeAsyncIterator()
    var received: [UInt64: [ByteBuffer]] = [:]
    for frames in sent {
        let group = track.appendGroup()
        for frame in frames { group.write(frame) }
        group.finish()
        guard let back = try await echoed.next() else { throw EchoEnded() }
        received[back.sequence] = try await back.collect().map(\.payload)
    }
    return received
}

struct EchoEnded: Error, CustomStringConvertible {
    var description: String { "the echo track ended early" }
}

// MARK: helpers

/// Waits (at most 2 s) until the broadcasts a closed session learned from its peer are all unannounced:
/// only then is it safe to cancel a task iterating `session.announcements()` (`Origin` notifies its
/// watchers under its lock, which a watcher's cancellation also takes).
func waitUntilUnannounced(_ session: MoQSession) async {
    for _ in 0..<200 where !session.configuration.consume.announced().isEmpty {
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// Writes one line to stdout at once (unbuffered, so a script waiting for it sees it immediately).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// `HOST:PORT` or `[V6]:PORT`.
func parseHostPort(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else { throw ValidationError("expected HOST:PORT, got \(text)") }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

/// `--fingerprint HEX` pins the server's certificate, `--insecure` accepts any; otherwise the system CAs.
func verification(fingerprint: String?, insecure: Bool) throws -> QUICPeerVerification {
    if insecure { return .insecureNoVerification }
    guard let fingerprint else { return .systemRoots }
    let digits = Array(fingerprint.filter { $0 != ":" })
    guard digits.count == 64 else { throw ValidationError("--fingerprint must be 64 hex digits") }
    let pin = try stride(from: 0, to: 64, by: 2).map { index in
        guard let byte = UInt8(String(digits[index..<index + 2]), radix: 16) else {
            throw ValidationError("--fingerprint is not hex")
        }
        return byte
    }
    return .pinnedSHA256([pin])
}

struct TimedOut: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "timed out after \(timeout)" }
}

/// Runs `body`, throwing `TimedOut` after `timeout` (the body is cancelled then).
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(timeout: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
