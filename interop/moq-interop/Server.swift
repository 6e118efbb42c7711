import ArgumentParser
import ExampleSupport
import MoQ
import MoQWire
import NIOCore
import QUIC

/// `moq-interop server`: publishes `interop/server` (track "", one group, frame HELLO) and, for each
/// session, reads one frame of every broadcast the client announces. FETCH is answered by the library.
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serve interop/server and check each client's session (prints LISTENING <port> <sha256> first).")

    @Option(help: "UDP address to listen on.")
    var listen = "127.0.0.1:9000"

    @Option(help: "Accept only this moq-lite version (04, 05 or 06); default: all, newest first.")
    var version: VersionOption?

    @Option(help: "Exit after this many sessions ended (status 0 iff every step passed); default: serve until killed.")
    var sessions: Int?

    @Option(help: "Seconds each step may take.")
    var timeout = 10

    func validate() throws {
        if let sessions, sessions < 1 { throw ValidationError("--sessions must be at least 1") }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
    }

    func run() async throws {
        let (host, port) = try AddressText.hostPort(listen)
        let versions = version.map { [$0.version] } ?? MoQVersion.serverPreference
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1", "::1"])
        let endpoint = try await QUICEndpoint.bind(
            host: host, port: port,
            server: QUICServerConfiguration(alpn: MoQServer.alpn(for: versions), identity: identity))
        say("LISTENING \(endpoint.localAddress.port ?? port) \(identity.fingerprintHex)")

        // What every session sees from us: one broadcast, kept live until we exit.
        let published = Origin()
        let broadcast = BroadcastProducer(path: Interop.serverBroadcast)
        let group = broadcast.createTrack(Interop.track).appendGroup()
        group.write(ByteBuffer(string: Interop.payload))
        group.finish()
        published.publish(broadcast)

        // Each session learns the client's broadcasts into its own origin, so checks never mix clients.
        let server = MoQServer(endpoint: endpoint, versions: versions) {
            MoQSessionConfiguration(publish: published, consume: Origin())
        }
        let (outcomes, outcomeSink) = AsyncStream.makeStream(of: Bool.self)
        let sessionCount = Locked(0)
        let stepTimeout = Duration.seconds(timeout)
        let allPassed = await withTaskGroup(of: Void.self) { tasks -> Bool in
            tasks.addTask {
                await server.run { session in
                    let number = sessionCount.withLock { count in
                        count += 1
                        return count
                    }
                    outcomeSink.yield(await check(session, number: number, stepTimeout: stepTimeout))
                }
            }
            guard let sessions else {
                await tasks.waitForAll()
                return true
            }
            var ended = 0
            var allPassed = true
            for await passed in outcomes {
                ended += 1
                allPassed = allPassed && passed
                if ended >= sessions { break }
            }
            await endpoint.close()
            return allPassed
        }
        if !allPassed { throw ExitCode.failure }
    }
}

/// Checks one client session until it closes: reads a frame of each broadcast the client announces.
/// Once the checks are decided, a client that keeps the session open past `stepTimeout` is closed on.
/// Returns whether every step passed.
func check(_ session: MoQSession, number: Int, stepTimeout: Duration) async -> Bool {
    let report = Report(prefix: "session \(number) ")
    report.pass("accepted (\(session.version))")
    let (decided, decide) = AsyncStream.makeStream(of: Never.self)
    await withTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            await readClientBroadcasts(session, report: report, stepTimeout: stepTimeout, decided: { decide.finish() })
        }
        tasks.addTask {
            for await _ in decided {}
            try? await Task.sleep(for: stepTimeout)
            if !Task.isCancelled { session.close(reason: "interop checks done") }
        }
        let (code, reason) = await session.closed()
        note("session \(number) ended: code \(code) \(reason)")
        // The session closing ends the checks still running (they report what they missed).
        tasks.cancelAll()
    }
    return report.passed
}

/// Reads one frame of track "" of every broadcast the client announces, while the session is open;
/// calls `decided` once the first broadcast's frame step (or the announcement step) has an outcome.
private func readClientBroadcasts(
    _ session: MoQSession, report: Report, stepTimeout: Duration, decided: @escaping @Sendable () -> Void
) async {
    let seen = Locked<Set<String>>([])
    await withDiscardingTaskGroup { readers in
        readers.addTask {
            try? await Task.sleep(for: stepTimeout)
            guard seen.withLock({ $0.isEmpty }) else { return }
            report.fail(
                "client broadcast announced",
                Task.isCancelled
                    ? "the session closed before the client announced a broadcast"
                    : "nothing announced within \(stepTimeout)")
            decided()
        }
        for await announcement in session.announcements(prefix: "") {
            guard case .active(let path, _, _) = announcement, seen.withLock({ $0.insert(path).inserted }) else {
                continue
            }
            report.pass("client broadcast announced: \(path)")
            readers.addTask {
                defer { decided() }
                let step = "client frame received from \(path)"
                let subscription = session.subscribe(broadcast: path, track: Interop.track)
                defer { subscription.cancel() }
                do {
                    let (group, frame) = try await withTimeout(stepTimeout) {
                        try await firstFrame(of: subscription.track)
                    }
                    report.pass("\(step): \(describe(frame.payload)) (group \(group))")
                } catch is CancellationError {
                    report.fail(step, "the session closed before a frame arrived")
                } catch {
                    report.fail(step, "\(error)")
                }
            }
        }
    }
}
