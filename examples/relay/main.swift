// relay: a moq-lite relay embedded in a program through the library (MoQRelay), next to the program's
// own publisher: it serves a `clock` broadcast from inside the relay's origin, and anything that clients
// publish is relayed to every other client.
//
//     swift run relay --listen 127.0.0.1:4443
//     # then, e.g., the reference client: moq_ref.py subscribe --url moqt://127.0.0.1:4443/ --fingerprint <sha256> --broadcast clock --track seconds
import ArgumentParser
import ExampleSupport
import Foundation
import Logging
import MoQ
import MoQRelay
import NIOCore
import QUIC
import ServiceLifecycle

@main
struct EmbeddedRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay", abstract: "A relay inside a program, with a clock published into its origin.")

    @Option(help: "UDP address to listen on.")
    var listen = "127.0.0.1:4443"

    func run() async throws {
        let (host, port) = try AddressText.hostPort(listen)
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])
        let relay = try await Relay(configuration: RelayConfiguration(host: host, port: port, identity: identity))
        say("relay listening on moqt://\(relay.listenAddress)/")
        say("certificate sha256 \(identity.fingerprintHex)")

        // The program's own broadcast lives in the relay's origin: every session can subscribe to it.
        let clock = BroadcastProducer(path: "clock")
        let seconds = clock.createTrack("seconds")
        relay.origin.publish(clock)

        // The relay and the clock run side by side in one ServiceGroup; SIGINT/SIGTERM stop both.
        let group = ServiceGroup(
            services: [relay, ClockService(track: seconds)], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "relay-example"))
        try await group.run()
    }
}

/// Appends one group per 100 ms holding the current time as text, until shutdown.
struct ClockService: Service {
    let track: TrackProducer

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let group = track.appendGroup()
            group.write(ByteBuffer(string: Date().formatted(.iso8601)), timestamp: UInt64(Date().timeIntervalSince1970 * 1e6))
            group.finish()
            try? await Task.sleep(for: .milliseconds(100))
        }
        track.finish()
    }
}
