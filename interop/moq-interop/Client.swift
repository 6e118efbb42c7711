import ArgumentParser
import ExampleSupport
import MoQ
import MoQWire
import NIOCore
import QUIC

/// `moq-interop client`: connects, reads `interop/server`, publishes `interop/client` for the server to
/// read, FETCHes the group it received (lite-05+), and closes; one PASS/FAIL line per step.
struct InteropClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Check a moq-lite server: announce, subscribe, publish, fetch, close.")

    @Option(help: "Server URL, e.g. moqt://127.0.0.1:9000/.")
    var url: String

    @Option(help: "Trust only the certificate with this SHA-256 (hex, as the server prints it).")
    var fingerprint: String?

    @Flag(help: "Accept any certificate.")
    var insecure = false

    @Option(help: "Trust certificates issued by the CAs in this PEM file.")
    var ca: String?

    @Option(help: "Offer only this moq-lite version (04, 05 or 06); default: all, newest first.")
    var version: VersionOption?

    @Option(help: "Check that the server's frame is exactly this text.")
    var expectPayload: String?

    @Option(help: "Seconds each step may take.")
    var timeout = 10

    func validate() throws {
        guard [fingerprint != nil, insecure, ca != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("use at most one of --fingerprint, --insecure, --ca")
        }
        if let fingerprint, AddressText.hexBytes(fingerprint)?.count != 32 {
            throw ValidationError("--fingerprint must be 64 hex digits")
        }
    }

    func run() async throws {
        let report = Report()
        let stepTimeout = Duration.seconds(timeout)
        let target = try MoQURL(url)
        let endpoint = try await QUICEndpoint.bind(host: target.host.contains(":") ? "::" : "0.0.0.0", port: 0)
        let configuration = MoQClient.Configuration(
            verification: verification, versions: version.map { [$0.version] } ?? MoQVersion.serverPreference,
            endpoint: endpoint)

        let session: MoQSession
        do {
            session = try await withTimeout(stepTimeout) {
                try await MoQClient.connect(url: url, configuration: configuration)
            }
            report.pass("connected (\(session.version))")
        } catch {
            report.fail("connected", "\(error)")
            await endpoint.close()
            throw ExitCode.failure
        }

        let sessionEnded = Locked(false)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                await session.run()
                sessionEnded.withLock { $0 = true }
            }
            await runSteps(session, report: report, stepTimeout: stepTimeout)
            if sessionEnded.withLock({ $0 }) {
                let (code, reason) = await session.closed()
                report.fail("closed", "the server ended the session first (code \(code): \(reason))")
            } else {
                session.close()
                report.pass("closed")
            }
        }
        // Flushes our CONNECTION_CLOSE before the process goes away.
        await endpoint.close()
        if !report.passed { throw ExitCode.failure }
    }

    private var verification: QUICPeerVerification {
        if let fingerprint, let pin = AddressText.hexBytes(fingerprint) { return .pinnedSHA256([pin]) }
        if insecure { return .insecureNoVerification }
        if let ca { return .certificateAuthorities(pemFile: ca) }
        return .systemRoots
    }

    /// The steps after connecting; each one bounded, later ones run even when an earlier one failed.
    private func runSteps(_ session: MoQSession, report: Report, stepTimeout: Duration) async {
        // 1. The server announces its broadcast. (Polled rather than read from `session.announcements()`:
        //    cancelling that stream on a timeout can deadlock with an announcement arriving at that moment.)
        do {
            try await withTimeout(stepTimeout) {
                while session.broadcast(Interop.serverBroadcast) == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            report.pass("announced \(Interop.serverBroadcast)")
        } catch {
            report.fail("announced \(Interop.serverBroadcast)", "\(error)")
        }

        // 2. Its track "" delivers a frame (HELLO from a gomoqt-style server).
        let received = await receiveServerFrame(session, report: report, stepTimeout: stepTimeout)

        // 3. We publish interop/client and the server subscribes to it.
        let broadcast = BroadcastProducer(path: Interop.clientBroadcast)
        let group = broadcast.createTrack(Interop.track).appendGroup()
        group.write(ByteBuffer(string: Interop.payload))
        group.finish()
        session.publish(broadcast)
        do {
            try await withTimeout(stepTimeout) {
                while session.subscriptionsReceived == 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            report.pass("published \(Interop.clientBroadcast) and the server subscribed")
        } catch {
            report.fail("published \(Interop.clientBroadcast) and the server subscribed", "\(error)")
        }

        // 4. FETCH (lite-05+) of the group we received returns the same first frame.
        let fetchStep = "fetched \(Interop.serverBroadcast) group \(received.map { String($0.group) } ?? "?")"
        if session.version < .lite05 {
            report.skip("fetch", "\(session.version) has no FETCH")
        } else if let received {
            do {
                let frames = try await withTimeout(stepTimeout) {
                    try await session.fetch(
                        broadcast: Interop.serverBroadcast, track: Interop.track, group: received.group)
                }
                if frames.first?.payload == received.frame.payload {
                    report.pass("\(fetchStep): same frame")
                } else {
                    report.fail(
                        fetchStep,
                        "got \(frames.first.map { describe($0.payload) } ?? "no frame"), subscribed \(describe(received.frame.payload))"
                    )
                }
            } catch {
                report.fail(fetchStep, "\(error)")
            }
        } else {
            report.fail(fetchStep, "no frame was received to compare with")
        }

        // The server reads our frame after subscribing: give it a moment before we close.
        try? await Task.sleep(for: .milliseconds(300))
    }

    /// Subscribes to `interop/server` track "" and reads its first frame (checked against --expect-payload).
    private func receiveServerFrame(
        _ session: MoQSession, report: Report, stepTimeout: Duration
    ) async -> (group: UInt64, frame: Frame)? {
        let step = "received a frame of \(Interop.serverBroadcast)"
        let subscription = session.subscribe(broadcast: Interop.serverBroadcast, track: Interop.track)
        defer { subscription.cancel() }
        do {
            let received = try await withTimeout(stepTimeout) { try await firstFrame(of: subscription.track) }
            if let expectPayload, received.frame.payload != ByteBuffer(string: expectPayload) {
                report.fail(step, "got \(describe(received.frame.payload)), expected \"\(expectPayload)\"")
            } else {
                report.pass("\(step): \(describe(received.frame.payload)) (group \(received.group))")
            }
            return received
        } catch {
            report.fail(step, "\(error)")
            return nil
        }
    }
}
