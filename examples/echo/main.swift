// echo: the moq-lite echo (gomoqt's examples/echo). The client publishes a broadcast; the server
// subscribes to every broadcast a client announces and republishes it as `echo/<path>`; the client
// reads `echo/<its path>` back and checks that every byte came back unchanged.
//
//     swift run echo server                  # prints its address and certificate SHA-256 first
//     swift run echo client --url moqt://127.0.0.1:4443/ --fingerprint <sha256>
import ArgumentParser
import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC

@main
struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "moq-lite echo: the server republishes what the client publishes.",
        subcommands: [Server.self, Client.self])
}

/// The track both sides use inside a broadcast.
let trackName = "data"

// MARK: server

extension Echo {
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Echo every broadcast a client announces as echo/<path>.")

        @Option(help: "UDP address to listen on.")
        var listen = "127.0.0.1:4443"

        func run() async throws {
            let (host, port) = try parseHostPort(listen)
            let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1", "::1"])
            let endpoint = try await QUICEndpoint.bind(
                host: host, port: port, server: QUICServerConfiguration(alpn: MoQServer.alpn(), identity: identity))
            say("echo server listening on moqt://\(host):\(endpoint.localAddress.port ?? port)/")
            say("certificate sha256 \(identity.fingerprintHex)")

            // Echoes are offered to every session; what a client announces is learned into its own origin.
            let echoes = Origin()
            let server = MoQServer(endpoint: endpoint) { MoQSessionConfiguration(publish: echoes, consume: Origin()) }
            await server.run { session in await echoBroadcasts(of: session, into: echoes) }
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

/// Copies track `data` of the client's broadcast `path` into the broadcast `echo/<path>`, group by group,
/// until the client's track ends; the echo is unannounced then.
func echo(_ path: String, of session: MoQSession, into echoes: Origin) async {
    let copy = BroadcastProducer(path: "echo/" + path)
    let output = copy.createTrack(trackName)
    echoes.publish(copy)
    say("echoing \(path) as echo/\(path)")
    defer { copy.finish() }
    // From the first group the client still has, so nothing published before we subscribed is missed.
    let source = session.subscribe(broadcast: path, track: trackName, options: SubscribeOptions(startGroup: 0))
    defer { source.cancel() }
    do {
        try await withThrowingDiscardingTaskGroup { groups in
            for try await group in source.track {
                let echoed = output.createGroup(sequence: group.sequence)
                groups.addTask {
                    do {
                        // Frames are copied by value: their ByteBuffers share the received bytes.
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

extension Echo {
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish random frames and check the echo is byte-exact.")

        @Option(help: "Server URL.")
        var url = "moqt://127.0.0.1:4443/"

        @Option(help: "Trust only the certificate with this SHA-256 (hex, as the server prints it).")
        var fingerprint: String?

        @Flag(help: "Accept any certificate.")
        var insecure = false

        @Option(help: "Broadcast path to publish (default: client-<random>).")
        var broadcast: String?

        @Option(help: "Groups to send.")
        var groups = 5

        @Option(help: "Frames per group.")
        var framesPerGroup = 3

        @Option(help: "Bytes per frame.")
        var frameSize = 1000

        @Option(help: "Seconds the whole round trip may take.")
        var timeout = 20

        func validate() throws {
            guard groups > 0, framesPerGroup > 0, frameSize >= 0 else { throw ValidationError("nothing to send") }
        }

        func run() async throws {
            let path = broadcast ?? "client-\(UInt32.random(in: 0...UInt32.max))"
            let sent = (0..<groups).map { _ in
                (0..<framesPerGroup).map { _ in
                    ByteBuffer(bytes: (0..<frameSize).map { _ in UInt8.random(in: 0...255) })
                }
            }
            let configuration = MoQClient.Configuration(
                verification: try verification(fingerprint: fingerprint, insecure: insecure))
            let start = ContinuousClock.now
            let received = try await withTimeout(.seconds(timeout)) {
                try await MoQClient.withSession(url: url, configuration: configuration) { session in
                    try await roundTrip(sent, as: path, on: session)
                }
            }
            let elapsed = ContinuousClock.now - start

            // Every group back, every frame byte-exact.
            var mismatches: [String] = []
            for (sequence, frames) in sent.enumerated() {
                guard let echoed = received[UInt64(sequence)] else {
                    mismatches.append("group \(sequence) missing")
                    continue
                }
                if echoed != frames { mismatches.append("group \(sequence) differs (\(echoed.count) frames back)") }
            }
            let bytes = sent.joined().reduce(0) { $0 + $1.readableBytes }
            if mismatches.isEmpty {
                say(
                    "echo OK: \(groups) groups, \(groups * framesPerGroup) frames, \(bytes) bytes came back byte-exact in \(elapsed.milliseconds) ms"
                )
            } else {
                say("echo FAILED: \(mismatches.joined(separator: "; "))")
                throw ExitCode.failure
            }
        }
    }
}

/// Publishes `sent` as broadcast `path`, reading each group back from `echo/<path>`; returns the echoed frames by group.
func roundTrip(_ sent: [[ByteBuffer]], as path: String, on session: MoQSession) async throws -> [UInt64: [ByteBuffer]] {
    // Announce the broadcast (still empty): the server subscribes and republishes it as echo/<path>.
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
