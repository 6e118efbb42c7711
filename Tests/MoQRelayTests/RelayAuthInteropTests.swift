import Foundation
import MoQ
import MoQWire
import TestSupport
import Testing

/// moq-relay with `--auth-key`: reference (moq-rs) clients carry tokens minted by `moq-relay token sign`
/// in `?jwt=`, and the relay enforces root, put, get and exp the way moq-relay does.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayAuthInteropTests {
    /// `moq-relay token <arguments>`, its stdout trimmed.
    static func token(_ arguments: [String]) async throws -> String {
        let process = try PeerProcess(
            try Repository.product("moq-relay"), ["token"] + arguments, name: "moq-relay token")
        #expect(try await process.waitForExit(timeout: .seconds(20)) == 0, "\(process.stderr)")
        return process.lines.last?.trimmingCharacters(in: .whitespaces) ?? ""
    }

    static func sign(_ key: URL, _ arguments: [String]) async throws -> String {
        try await token(["sign", "--key", key.path] + arguments)
    }

    static func announced(_ relay: RunningRelay, _ prefix: String) async throws -> [String] {
        try await httpGet("\(relay.http)/announced/\(prefix)").split(separator: "\n").map(String.init)
    }

    @Test func tokensGrantExactlyTheirPutAndGetAndNothingElse() async throws {
        let directory = try Repository.temporaryDirectory()
        let key = directory.appendingPathComponent("root.jwk")
        _ = try await Self.token(["generate", "--key", key.path])
        let relay = try await RunningRelay.start(["--auth-key", key.path, "--auth-public", "anon"])
        defer { relay.process.terminate() }

        let publish = try await Self.sign(key, ["--root", "demo", "--put", "cam", "--expires-in", "600"])
        let read = try await Self.sign(key, ["--root", "demo", "--get", "", "--expires-in", "600"])
        let readOther = try await Self.sign(key, ["--root", "demo", "--get", "other", "--expires-in", "600"])
        let publishOther = try await Self.sign(key, ["--root", "demo", "--put", "other", "--expires-in", "600"])

        // A valid put token publishes demo/cam; a valid get token reads it byte-exact.
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "cam", "--track", "v", "--frames-per-group", "2", "--interval-ms", "20", "--groups",
                "1000",
                "--timeout", "60",
            ],
            path: "demo?jwt=\(publish)")
        defer { publisher.terminate() }
        try await waitUntil { try await Self.announced(relay, "demo") == ["demo/cam"] }
        let reader = try relay.reference(
            "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "6", "--timeout", "30"],
            path: "demo?jwt=\(read)")
        defer { reader.terminate() }
        #expect(try await reader.waitForExit(timeout: .seconds(40)) == 0, "\(reader.lines.suffix(3))")
        let frames = reader.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 6 && frames.allSatisfy { $0["ok"] as? Bool == true })

        // A get token for another prefix: the broadcast is not announced to it, and a SUBSCRIBE (our
        // client, which subscribes without waiting for an announcement) is reset UNAUTHORIZED (0x3a).
        let stranger = try relay.reference(
            "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "1", "--timeout", "3"],
            path: "demo?jwt=\(readOther)")
        defer { stranger.terminate() }
        #expect(try await stranger.waitForExit(timeout: .seconds(15)) == 1)
        #expect(!stranger.events.contains { $0["event"] as? String == "frame" })
        let configuration = MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(relay.pin)!]))
        let code = try await MoQClient.withSession(
            url: relay.url + "demo?jwt=\(readOther)", configuration: configuration
        ) {
            session in
            do {
                for try await _ in session.subscribe(broadcast: "cam", track: "v").track {}
                return UInt64?.none
            } catch let error as MoQStreamError {
                return error.code
            }
        }
        #expect(code == StreamErrorCode.unauthorized.rawValue)

        // A put token for another prefix: the broadcast never reaches the relay's origin.
        let squatter = try relay.reference(
            "publish",
            ["--broadcast", "cam2", "--track", "v", "--interval-ms", "20", "--groups", "1000", "--timeout", "60"],
            path: "demo?jwt=\(publishOther)")
        defer { squatter.terminate() }
        _ = try await squatter.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "connected" }
        try await Task.sleep(for: .seconds(1))
        #expect(try await Self.announced(relay, "demo") == ["demo/cam"])
        #expect(squatter.isRunning, "the session itself is valid; only the broadcast is not taken")

        // Public prefix without a token works; anything else without a token is refused.
        let anonymous = try relay.reference(
            "publish",
            ["--broadcast", "room", "--track", "v", "--interval-ms", "20", "--groups", "1000", "--timeout", "60"],
            path: "anon")
        defer { anonymous.terminate() }
        try await waitUntil { try await Self.announced(relay, "anon") == ["anon/room"] }
        let intruder = try relay.reference(
            "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "1", "--timeout", "20"], path: "demo")
        defer { intruder.terminate() }
        #expect(try await intruder.waitForExit(timeout: .seconds(30)) == 1)
        #expect(!intruder.events.contains { $0["event"] as? String == "frame" })

        let metrics = try await httpGet("\(relay.http)/metrics")
        #expect(metrics.contains("moq_relay_sessions_refused_total 1"), "\(metrics)")
    }

    @Test func webTransportSessionsCarryTheTokenInTheirConnectPath() async throws {
        let directory = try Repository.temporaryDirectory()
        let key = directory.appendingPathComponent("root.jwk")
        _ = try await Self.token([
            "generate", "--key", key.path, "--algorithm", "ES256", "--public",
            directory.appendingPathComponent("public.jwk").path,
        ])
        let relay = try await RunningRelay.start(["--auth-key", directory.appendingPathComponent("public.jwk").path])
        defer { relay.process.terminate() }
        let publish = try await Self.sign(key, ["--root", "wt", "--put", "cam"])
        let read = try await Self.sign(key, ["--root", "wt", "--get", ""])
        let publisher = try relay.reference(
            "publish",
            ["--broadcast", "cam", "--track", "v", "--interval-ms", "20", "--groups", "1000", "--timeout", "60"],
            path: "wt?jwt=\(publish)", webTransport: true)
        defer { publisher.terminate() }
        try await waitUntil { try await Self.announced(relay, "wt") == ["wt/cam"] }
        let reader = try relay.reference(
            "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "10", "--timeout", "30"],
            path: "wt?jwt=\(read)", webTransport: true)
        defer { reader.terminate() }
        #expect(try await reader.waitForExit(timeout: .seconds(40)) == 0, "\(reader.lines.suffix(3))")
        let frames = reader.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 10 && frames.allSatisfy { $0["ok"] as? Bool == true })
        // Without a token the WebTransport session is refused (CLOSE_WEBTRANSPORT_SESSION code 2, then
        // CONNECTION_CLOSE 0x52e4a40fa8dd as the reference server does; moq-rs reports it as a closed
        // connection), counted in the relay's metrics.
        let anonymous = try relay.reference(
            "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "1", "--timeout", "20"], path: "wt",
            webTransport: true)
        defer { anonymous.terminate() }
        #expect(try await anonymous.waitForExit(timeout: .seconds(30)) == 1)
        #expect(anonymous.events.contains { $0["event"] as? String == "closed" }, "\(anonymous.lines.suffix(4))")
        #expect(!anonymous.events.contains { $0["event"] as? String == "frame" })
        let metrics = try await httpGet("\(relay.http)/metrics")
        #expect(metrics.contains("moq_relay_sessions_refused_total 1"))
    }

    @Test func expiredForgedAndExpiringTokensCloseTheSessionAsUnauthorized() async throws {
        let directory = try Repository.temporaryDirectory()
        let key = directory.appendingPathComponent("root.jwk")
        let otherKey = directory.appendingPathComponent("other.jwk")
        _ = try await Self.token(["generate", "--key", key.path])
        _ = try await Self.token(["generate", "--key", otherKey.path])
        let relay = try await RunningRelay.start(["--auth-key", key.path])
        defer { relay.process.terminate() }

        let now = Int(Date().timeIntervalSince1970)
        let expired = try await Self.sign(key, ["--root", "demo", "--get", "", "--expires-at", "\(now - 10)"])
        let forged = try await Self.sign(otherKey, ["--root", "demo", "--get", ""])
        for token in [expired, forged] {
            let client = try relay.reference(
                "subscribe", ["--broadcast", "cam", "--track", "v", "--count", "1", "--timeout", "20"],
                path: "demo?jwt=\(token)")
            defer { client.terminate() }
            #expect(try await client.waitForExit(timeout: .seconds(30)) == 1)
            let ends = client.events.filter { ["closed", "error"].contains($0["event"] as? String) }
            #expect(ends.contains { $0["code"] as? Int == 2 }, "session code UNAUTHORIZED: \(client.lines.suffix(4))")
        }

        // exp is enforced for the whole session: a token that expires mid-session closes it then.
        let brief = try await Self.sign(key, ["--root", "demo", "--put", "", "--get", "", "--expires-in", "3"])
        let publisher = try relay.reference(
            "publish",
            ["--broadcast", "cam", "--track", "v", "--interval-ms", "20", "--groups", "1000", "--timeout", "30"],
            path: "demo?jwt=\(brief)")
        defer { publisher.terminate() }
        try await waitUntil { try await Self.announced(relay, "demo") == ["demo/cam"] }
        #expect(try await publisher.waitForExit(timeout: .seconds(15)) == 1)
        let closed = publisher.events.first { $0["event"] as? String == "closed" }
        #expect(closed?["code"] as? Int == 2, "\(publisher.lines.suffix(4))")
        try await waitUntil { try await Self.announced(relay, "demo").isEmpty }
    }
}
