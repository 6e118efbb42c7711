import Foundation
import TestSupport
import Testing

/// The interop pair (`moq-interop server` / `moq-interop client`) against each other and against the
/// reference (moq_ref.py), on each moq-lite version, forced on our side.
@Suite(.timeLimit(.minutes(2)))
struct InteropTests {
    static let versions = ["04", "05", "06"]

    /// Starts `moq-interop client` against `server`.
    private func interopClient(_ server: ServerProcess, version: String, _ arguments: [String] = []) throws
        -> PeerProcess
    {
        try PeerProcess(
            try Repository.product("moq-interop"),
            ["client", "--url", server.url, "--fingerprint", server.fingerprint, "--version", version] + arguments,
            name: "moq-interop client")
    }

    /// The client's steps, in order, all passed (FETCH skipped on lite-04).
    private func expectClientPassed(_ client: PeerProcess, version: String, payload: String?) {
        let steps = client.lines.filter { $0.hasPrefix("PASS ") || $0.hasPrefix("FAIL ") || $0.hasPrefix("SKIP ") }
        let expected = [
            "PASS connected (moq-lite-\(version))",
            "PASS announced interop/server",
            "PASS received a frame of interop/server: \(payload ?? "")",
            "PASS published interop/client and the server subscribed",
            version == "04" ? "SKIP fetch" : "PASS fetched interop/server group ",
            "PASS closed",
        ]
        #expect(steps.count == expected.count, "\(client.transcript)")
        for (line, prefix) in zip(steps, expected) { #expect(line.hasPrefix(prefix), "\(client.transcript)") }
    }

    @Test(arguments: versions)
    func ourClientAgainstOurServer(version: String) async throws {
        let server = try await ServerProcess.interop(version: version, ["--sessions", "1"])
        defer { server.process.terminate() }
        let client = try interopClient(server, version: version, ["--expect-payload", "HELLO"])
        defer { client.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(40)) == 0, "\(client.transcript)")
        expectClientPassed(client, version: version, payload: "\"HELLO\"")
        // The server checked the session and, asked for one session, exits with its verdict.
        let serverStatus = try? await server.process.waitForExit(timeout: .seconds(10))
        #expect(serverStatus == 0, "\(server.process.transcript)")
        #expect(
            server.process.lines.dropFirst() == [
                "PASS session 1 accepted (moq-lite-\(version))",
                "PASS session 1 client broadcast announced: interop/client",
                "PASS session 1 client frame received from interop/client: \"HELLO\" (group 0)",
            ])
    }

    @Test(arguments: versions)
    func ourClientAgainstReferenceServer(version: String) async throws {
        // The reference publishes interop/server (its own payloads, not HELLO) and reads what we announce.
        let server = try await ServerProcess.reference([
            "--publish", "interop/server", "--track", "", "--subscribe-announced", "",
        ])
        defer { server.process.terminate() }
        let client = try interopClient(server, version: version)
        defer { client.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(40)) == 0, "\(client.transcript)")
        expectClientPassed(client, version: version, payload: nil)
        // The reference subscribed to interop/client and read our HELLO.
        let frame = try await server.process.waitForEvent(timeout: .seconds(5)) {
            $0["event"] as? String == "frame" && $0["broadcast"] as? String == "interop/client"
        }
        #expect(frame["payload_hex"] as? String == helloHex)
    }

    @Test(arguments: versions)
    func referenceClientsAgainstOurServer(version: String) async throws {
        let server = try await ServerProcess.interop(version: version)
        defer { server.process.terminate() }

        // A reference publisher: our server discovers its broadcast and reads a frame of it.
        let publisher = try referenceClient(
            "publish", of: server,
            ["--broadcast", "interop/client", "--track", "", "--groups", "5", "--hold-seconds", "1"])
        defer { publisher.terminate() }
        _ = try await server.process.waitForLine(prefix: "PASS session 1 client frame received from interop/client: ")
        #expect(try await publisher.waitForExit(timeout: .seconds(20)) == 0, "\(publisher.transcript)")

        // A reference subscriber reads HELLO from interop/server.
        let subscriber = try referenceClient(
            "subscribe", of: server, ["--broadcast", "interop/server", "--track", "", "--count", "1"])
        defer { subscriber.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(20)) == 0, "\(subscriber.transcript)")
        #expect(
            subscriber.events.filter { $0["event"] as? String == "frame" }.map { $0["payload_hex"] as? String } == [
                helloHex
            ])

        // lite-05+: a reference FETCH of group 0 gets HELLO too.
        if version != "04" {
            let fetcher = try referenceClient(
                "fetch", of: server, ["--broadcast", "interop/server", "--track", "", "--group", "0"])
            defer { fetcher.terminate() }
            #expect(try await fetcher.waitForExit(timeout: .seconds(20)) == 0, "\(fetcher.transcript)")
            #expect(
                fetcher.events.filter { $0["event"] as? String == "frame" }.map { $0["payload_hex"] as? String } == [
                    helloHex
                ])
        }
        // Every step of the publisher's session passed (the subscriber's and fetcher's sessions announce
        // nothing, so the server reports that step as failed for them).
        let session1 = server.process.lines.filter { $0.contains(" session 1 ") }
        #expect(session1.count == 3 && session1.allSatisfy { $0.hasPrefix("PASS ") }, "\(server.process.transcript)")
    }
}
