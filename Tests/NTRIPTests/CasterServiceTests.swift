import Foundation
import MoQ
import NTRIP
import TestSupport
import Testing

/// The caster as a library `Service` in this process (short timeouts): head timeout, source idle
/// timeout, and the grace time after a source vanishes.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CasterServiceTests {
    /// Runs a caster with 1 s timeouts on an ephemeral port for the duration of `body`.
    func withCaster(
        configure: (inout NTRIPConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (Int, Origin, RunningCaster) async throws -> Void
    ) async throws {
        let origin = Origin()
        var configuration = NTRIPConfiguration(
            host: "127.0.0.1", port: 0,
            access: NTRIPUserList(sourcePassword: "sourcepw", users: [.init(name: "user", password: "password")]))
        configuration.headTimeout = .seconds(1)
        configuration.sourceIdleTimeout = .seconds(1)
        configuration.graceTime = .seconds(1)
        configure(&configuration)
        let server = try await NTRIPServer(configuration: configuration, origin: origin)
        let port = Int(server.listenAddress.split(separator: ":").last!)!
        // Only for its peer helpers: no relay process is started.
        let helpers = RunningCaster.helpers(ntripPort: port)
        defer { try? FileManager.default.removeItem(at: helpers.directory) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await body(port, origin, helpers)
            group.cancelAll()
        }
    }

    @Test func aHeadWithoutItsBlankLineTimesOut() async throws {
        try await withCaster { port, _, _ in
            let started = ContinuousClock.now
            let reply = try await rawExchange(port: port, "GET /M1 HTTP/1.0\r\nUser-Agent: NTRIP slow")
            #expect(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test func aSilentSourceIsClosedAndItsBroadcastEnds() async throws {
        try await withCaster { port, origin, helpers in
            let source = try helpers.peer(
                "source", ["--port", "\(port)", "--mount", "IDLE", "--password", "sourcepw", "--hold", "6"])
            defer { source.terminate() }
            _ = try await source.waitForEvent { $0["event"] as? String == "done" }
            #expect(origin.announced(prefix: "ntrip") == ["ntrip/IDLE"])
            try await Task.sleep(for: .seconds(2))
            #expect(origin.announced(prefix: "ntrip").isEmpty, "closed after 1 s without data")
        }
    }

    @Test func clientsAreClosedWhenTheSourceStaysAwayPastTheGraceTime() async throws {
        try await withCaster { port, _, helpers in
            let stream = try await helpers.makeStream("s.rtcm", epochs: 40)
            let source = try helpers.peer(
                "source",
                [
                    "--port", "\(port)", "--mount", "G1", "--password", "sourcepw", "--file", stream, "--interval",
                    "0.05", "--hold", "0",
                ])
            defer { source.terminate() }
            _ = try await source.waitForEvent { $0["event"] as? String == "sent" }
            let client = try helpers.peer(
                "client",
                [
                    "--port", "\(port)", "--mount", "G1", "--user", "user", "--password", "password",
                    "--out", helpers.path("c.rtcm"), "--seconds", "8",
                ])
            #expect(try await source.waitForExit(timeout: .seconds(20)) == 0)
            let ended = ContinuousClock.now
            #expect(try await client.waitForExit(timeout: .seconds(20)) == 0)
            #expect(client.events("done").first?["closed"] as? Bool == true, "closed by the caster")
            #expect(ContinuousClock.now - ended < .seconds(5), "after the 1 s grace time, not the client's 8 s")
            let result = try await helpers.check(source: stream, out: helpers.path("c.rtcm"))
            #expect(result["ok"] as? Bool == true, "\(result)")
        }
    }

    @Test func perUserAndGlobalClientLimits() async throws {
        try await withCaster(configure: {
            $0.maxClientsPerUser = 1
            $0.maxClients = 2
            $0.access = NTRIPUserList(
                sourcePassword: "sourcepw",
                users: [
                    .init(name: "a", password: "x"), .init(name: "b", password: "x"), .init(name: "c", password: "x"),
                ])
        }) { port, _, helpers in
            let stream = try await helpers.makeStream("s.rtcm", epochs: 200)
            let source = try helpers.peer(
                "source",
                [
                    "--port", "\(port)", "--mount", "L1", "--password", "sourcepw", "--file", stream, "--interval",
                    "0.05",
                ])
            defer { source.terminate() }
            _ = try await source.waitForEvent { $0["event"] as? String == "sent" }
            func client(_ user: String) throws -> PeerProcess {
                try helpers.peer(
                    "client",
                    [
                        "--port", "\(port)", "--mount", "L1", "--user", user, "--password", "x", "--out",
                        helpers.path(user + UUID().uuidString), "--seconds", "3",
                    ])
            }
            let first = try client("a")
            _ = try await first.waitForEvent { $0["event"] as? String == "reply" }
            let sameUser = try client("a")
            _ = try await sameUser.waitForExit(timeout: .seconds(20))
            #expect(
                (sameUser.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.0 503 ") == true,
                "per-user limit")
            let second = try client("b")
            _ = try await second.waitForEvent { $0["event"] as? String == "reply" }
            let third = try client("c")
            _ = try await third.waitForExit(timeout: .seconds(20))
            #expect(
                (third.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.0 503 ") == true, "global limit")
            for peer in [first, second] {
                _ = try await peer.waitForExit(timeout: .seconds(20))
                #expect(peer.events("reply").first?["text"] as? String == "ICY 200 OK\r\n")
            }
        }
    }
}
