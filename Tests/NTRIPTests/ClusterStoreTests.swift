import Foundation
import TestSupport
import Testing

/// Two relay nodes on one PostgreSQL store (`--store postgres://...`): what the management API of one node
/// creates, the NTRIP caster of the other uses.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterStoreTests {
    @Test func aStreampointAndAUserMadeOnNodeAServeOnNodeB() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let a = try await RunningCaster.start(users: [], extra: ["--store", server.url])
        defer { a.stop() }
        // Node B names the store in its config file (key `store`) instead of the flag.
        let config = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: config) }
        let configFile = config.appendingPathComponent("relay.toml")
        try "store = \"\(server.url)\"\n".write(to: configFile, atomically: true, encoding: .utf8)
        let b = try await RunningCaster.start(users: [], extra: ["--config", configFile.path])
        defer { b.stop() }

        let create = "{\"mount\":\"C1\",\"sourcePassword\":\"c1pw\",\"str\":\"Cluster;RTCM 3.2\"}"
        #expect(try await a.http("POST", "/api/ntrip/streampoints", json: create).0 == 201)
        #expect(
            try await a.http(
                "POST", "/api/ntrip/users", json: "{\"name\":\"cu\",\"password\":\"cupw\",\"mounts\":[\"C1\"]}"
            ).0 == 201)
        // Node B's API and caster know them within the store's bound (NOTIFY, else the one-second poll).
        try await waitUntil(timeout: .seconds(3)) {
            let user = try await b.http("GET", "/api/ntrip/users/cu").0
            let streampoint = try await b.http("GET", "/api/ntrip/streampoints/C1").0
            return user == 200 && streampoint == 200
        }
        // Creating it on B too is a conflict: one store.
        #expect(try await b.http("POST", "/api/ntrip/streampoints", json: create).0 == 409)

        // On B, the shared --ntrip-source-password no longer opens C1 (a streampoint now), its own password does.
        let port = "\(b.ntripPort)"
        let stream = try await b.makeStream("source.rtcm", epochs: 400)
        let shared = try b.peer(
            "source", ["--port", port, "--mount", "C1", "--password", "sourcepw", "--file", stream])
        #expect(try await shared.waitForExit(timeout: .seconds(20)) == 1)
        #expect(shared.events("reply").first?["text"] as? String == "ERROR - Bad Password\r\n")
        let source = try b.peer(
            "source", ["--port", port, "--mount", "C1", "--password", "c1pw", "--file", stream, "--interval", "0.05"])
        defer { source.terminate() }
        _ = try await source.waitForEvent { $0["event"] as? String == "sent" }
        try await waitUntilLive(b, mount: "C1")

        // A client with the user made on A reads C1 on B, byte-exact.
        let client = try b.peer(
            "client",
            [
                "--port", port, "--mount", "C1", "--user", "cu", "--password", "cupw", "--out", b.path("c.rtcm"),
                "--seconds", "3",
            ])
        #expect(try await client.waitForExit(timeout: .seconds(20)) == 0, "\(client.stderr.suffix(800))")
        #expect(fileBytes(b.path("c.rtcm")).count > 1000)
        let result = try await b.check(source: stream, out: b.path("c.rtcm"))
        #expect(result["ok"] as? Bool == true, "\(result)")
        let wrong = try await rawExchange(
            port: b.ntripPort,
            "GET /C1 HTTP/1.0\r\nUser-Agent: NTRIP t\r\nAuthorization: Basic \(Data("cu:bad".utf8).base64EncodedString())\r\n\r\n",
            maxBytes: 30)
        #expect(wrong.contains("401 Unauthorized"), "\(wrong)")

        // Deleting the user on B locks it out on A too.
        #expect(try await b.http("DELETE", "/api/ntrip/users/cu").0 == 204)
        try await waitUntil(timeout: .seconds(3)) { try await a.http("GET", "/api/ntrip/users/cu").0 == 404 }
    }
}
