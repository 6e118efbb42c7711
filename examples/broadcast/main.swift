// broadcast: a live clock (gomoqt's examples/broadcast). The server publishes the broadcast
// `server.broadcast` with the track `clock`: every 100 ms a new group holding one frame, the current time
// as text. The client waits for the broadcast to be announced, subscribes, and prints each tick.
//
//     swift run broadcast server                  # prints its address and certificate SHA-256 first
//     swift run broadcast client --url moqt://127.0.0.1:4444/ --fingerprint <sha256> --count 20
import ArgumentParser
import ExampleSupport
import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC

@main
struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast", abstract: "moq-lite live broadcast: a clock, one group per tick.",
        subcommands: [Server.self, Client.self])
}

let broadcastPath = "server.broadcast"
let trackName = "clock"

// MARK: server

extension Broadcast {
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish the clock to every client.")

        @Option(help: "UDP address to listen on.")
        var listen = "127.0.0.1:4444"

        @Option(help: "Milliseconds between ticks.")
        var intervalMs = 100

        func run() async throws {
            let (host, port) = try AddressText.hostPort(listen)
            let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1", "::1"])
            let endpoint = try await QUICEndpoint.bind(
                host: host, port: port, server: QUICServerConfiguration(alpn: MoQServer.alpn(), identity: identity))
            say("broadcast server listening on moqt://\(host):\(endpoint.localAddress.port ?? port)/")
            say("certificate sha256 \(identity.fingerprintHex)")

            // One origin for every session: each client sees the same live broadcast.
            let origin = Origin()
            let broadcast = BroadcastProducer(path: broadcastPath)
            // Timestamps in milliseconds since 1970; a tick is only worth its latest value, so keep 1 s.
            let clock = broadcast.createTrack(trackName, info: TrackInfo(maxLatency: .seconds(1), timescale: 1000))
            origin.publish(broadcast)
            let server = MoQServer(endpoint: endpoint) { MoQSessionConfiguration(publish: origin, consume: Origin()) }

            await withDiscardingTaskGroup { tasks in
                tasks.addTask { await server.run() }
                tasks.addTask { await tick(clock, every: .milliseconds(intervalMs)) }
            }
        }
    }
}

/// Appends one group per tick, holding one frame: the time as ISO 8601 text.
func tick(_ clock: TrackProducer, every interval: Duration) async {
    let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    var next = ContinuousClock.now
    while !Task.isCancelled {
        let now = Date()
        let group = clock.appendGroup()
        group.write(ByteBuffer(string: format.format(now)), timestamp: UInt64(now.timeIntervalSince1970 * 1000))
        group.finish()
        // Paced by deadline, so ticks do not drift.
        next += interval
        try? await Task.sleep(until: next)
    }
}

// MARK: client

extension Broadcast {
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe to the clock and print its ticks.")

        @Option(help: "Server URL.")
        var url = "moqt://127.0.0.1:4444/"

        @Option(help: "Trust only the certificate with this SHA-256 (hex, as the server prints it).")
        var fingerprint: String?

        @Flag(help: "Accept any certificate.")
        var insecure = false

        @Option(help: "Ticks to print before leaving.")
        var count = 10

        @Option(help: "Seconds the whole run may take.")
        var timeout = 30

        func run() async throws {
            let configuration = MoQClient.Configuration(
                verification: try verification(fingerprint: fingerprint, insecure: insecure))
            try await withTimeout(.seconds(timeout)) {
                try await MoQClient.withSession(url: url, configuration: configuration) { session in
                    try await printTicks(count: count, on: session)
                }
            }
        }
    }
}

/// Waits for the clock to be announced, subscribes, and prints `count` ticks as `tick <group> <time>`.
func printTicks(count: Int, on session: MoQSession) async throws {
    // Discover the broadcast through the server's announcements.
    for await announcement in session.announcements() {
        if case .active(broadcastPath, _, _) = announcement { break }
    }
    say("announced \(broadcastPath)")
    let subscription = session.subscribe(broadcast: broadcastPath, track: trackName)
    defer { subscription.cancel() }
    var printed = 0
    // Each tick is a group of one frame. The subscription starts at the live edge and moves forward.
    for try await group in subscription.track {
        for try await frame in group {
            say("tick \(group.sequence) \(String(buffer: frame.payload))")
            printed += 1
        }
        if printed >= count { return }
    }
    throw TrackEnded()
}

struct TrackEnded: Error, CustomStringConvertible {
    var description: String { "the clock track ended" }
}

// MARK: helpers
