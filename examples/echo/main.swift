// echo: the moq-lite echo (gomoqt's examples/echo). The client publishes a broadcast; the server
// subscribes to every broadcast a client announces and republishes it as `echo/<path>`; the client
// reads `echo/<its path>` back and checks that every byte came back unchanged.
//
//     swift run echo server                  # prints its address and certificate SHA-256 first
//     swift run echo client --url moqt://127.0.0.1:4443/ --fingerprint <sha256>
import ArgumentParser
import ExampleSupport
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

// MARK: server

extension Echo {
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Echo every broadcast a client announces as echo/<path>.")

        @Option(help: "UDP address to listen on.")
        var listen = "127.0.0.1:4443"

        func run() async throws {
            let (host, port) = try AddressText.hostPort(listen)
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
