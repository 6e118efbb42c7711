import Foundation
import TestSupport
import Testing

/// The examples, run as the programs a user runs: a server subprocess, a client subprocess, their output.
@Suite(.timeLimit(.minutes(2)))
struct ExamplesTests {
    /// The echo client gets every group it published back through the server, byte for byte.
    @Test func echoRoundTripIsByteExact() async throws {
        let server = try await ServerProcess.example("echo")
        defer { server.process.terminate() }
        let client = try PeerProcess(
            try Repository.product("echo"),
            [
                "client", "--url", server.url, "--fingerprint", server.fingerprint, "--broadcast", "test/echo",
                "--groups", "8",
                "--frames-per-group", "4", "--frame-size", "3000",
            ],
            name: "echo client")
        defer { client.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(40)) == 0, "\(client.transcript)")
        let summary = try await client.waitForLine(prefix: "echo OK: ", timeout: .seconds(1))
        #expect(summary.hasPrefix("echo OK: 8 groups, 32 frames, 96000 bytes came back byte-exact"))
        // The server learned the broadcast from the client's announcement and republished it.
        _ = try await server.process.waitForLine(prefix: "echoing test/echo as echo/test/echo", timeout: .seconds(5))
    }

    /// Reference clients through the echo example's server: one publishes `ref/cam`, the other reads it back
    /// as `echo/ref/cam`, every frame byte-exact (the echo keeps the publisher's group numbers).
    @Test func referenceClientsThroughTheEchoServer() async throws {
        let server = try await ServerProcess.example("echo")
        defer { server.process.terminate() }
        let publisher = try referenceClient(
            "publish", of: server,
            ["--broadcast", "ref/cam", "--track", "data", "--groups", "200", "--frames-per-group", "3",
             "--interval-ms", "25", "--frame-size", "900", "--timeout", "60"])
        defer { publisher.terminate() }
        _ = try await server.process.waitForLine(prefix: "echoing ref/cam as echo/ref/cam", timeout: .seconds(20))
        let subscriber = try referenceClient(
            "subscribe", of: server, ["--broadcast", "echo/ref/cam", "--track", "data", "--count", "15", "--timeout", "40"])
        defer { subscriber.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(45)) == 0, "\(subscriber.transcript)")
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 15)
        #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "every frame byte-exact")
    }

    /// The embedded relay serves its own clock and relays a reference publisher to a reference subscriber.
    @Test func embeddedRelayServesItsClockAndRelays() async throws {
        let relay = try PeerProcess(try Repository.product("relay"), ["--listen", "127.0.0.1:0"], name: "relay")
        defer { relay.terminate() }
        let listening = try await relay.waitForLine(prefix: "relay listening on moqt://")
        let pin = String(try await relay.waitForLine(prefix: "certificate sha256 ").split(separator: " ")[2])
        let url = String(listening.split(separator: " ")[3])
        func reference(_ command: String, _ arguments: [String]) throws -> PeerProcess {
            try PeerProcess(
                Repository.python, [Repository.peer("moq_ref.py"), command, "--url", url, "--fingerprint", pin] + arguments,
                name: "moq_ref \(command)")
        }
        let clock = try reference("subscribe", ["--broadcast", "clock", "--track", "seconds", "--count", "5", "--timeout", "30"])
        defer { clock.terminate() }
        #expect(try await clock.waitForExit(timeout: .seconds(35)) == 0, "\(clock.transcript)")
        let ticks = clock.events.filter { $0["event"] as? String == "frame" }.compactMap { $0["payload_hex"] as? String }
        #expect(ticks.count == 5)

        let publisher = try reference(
            "publish", ["--broadcast", "cam", "--track", "v", "--groups", "200", "--interval-ms", "25", "--timeout", "40"])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "announced" }
        let viewer = try reference("subscribe", ["--broadcast", "cam", "--track", "v", "--count", "10", "--timeout", "30"])
        defer { viewer.terminate() }
        #expect(try await viewer.waitForExit(timeout: .seconds(35)) == 0, "\(viewer.transcript)")
        #expect(viewer.events.filter { $0["event"] as? String == "frame" && $0["ok"] as? Bool == true }.count == 10)
    }

    /// The same echo on sessions built by hand from QUIC connections, dialled by name (`localhost`) with
    /// the URL path the example uses by default.
    @Test func nativeQUICRoundTrip() async throws {
        let server = try await ServerProcess.example("native-quic")
        defer { server.process.terminate() }
        let client = try PeerProcess(
            try Repository.product("native-quic"),
            [
                "client", "--url", "moqt://localhost:\(server.port)/nativequic", "--fingerprint", server.fingerprint,
                "--groups", "6",
            ],
            name: "native-quic client")
        defer { client.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(40)) == 0, "\(client.transcript)")
        _ = try await client.waitForLine(prefix: "echo OK: 6 groups, 18 frames, 18000 bytes", timeout: .seconds(1))
        _ = try await server.process.waitForLine(prefix: "session from ", timeout: .seconds(5))
    }

    /// The broadcast client prints the requested number of clock ticks, one group each, in order.
    @Test func broadcastClientReceivesTicksInOrder() async throws {
        let server = try await ServerProcess.example("broadcast")
        defer { server.process.terminate() }
        let client = try PeerProcess(
            try Repository.product("broadcast"),
            ["client", "--url", server.url, "--fingerprint", server.fingerprint, "--count", "8"],
            name: "broadcast client")
        defer { client.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(40)) == 0, "\(client.transcript)")
        let ticks = client.lines.filter { $0.hasPrefix("tick ") }.map { $0.split(separator: " ") }
        #expect(ticks.count == 8, "\(client.transcript)")
        let groups = ticks.compactMap { UInt64($0[1]) }
        #expect(
            groups.count == 8 && zip(groups, groups.dropFirst()).allSatisfy { $0 < $1 }, "groups increase: \(groups)")
        let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let times = ticks.compactMap { try? format.parse(String($0[2])) }
        #expect(
            times.count == 8 && zip(times, times.dropFirst()).allSatisfy { $0 < $1 },
            "times increase: \(ticks.map { $0[2] })")
    }
}
