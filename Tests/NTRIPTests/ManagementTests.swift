import Foundation
import TestSupport
import Testing

/// The management API on the relay's HTTP listener and the SQLite store behind it, with real NTRIP peers.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ManagementTests {
    @Test func theAPIAnswersOverHTTP3WithTheSameAdminAuthentication() async throws {
        let caster = try await RunningCaster.start(users: [])
        defer { caster.stop() }
        let port = try #require(Int(caster.url.split(separator: ":").last!.filter(\.isNumber)))
        for (header, status) in [("Authorization: Bearer admintoken", 200), ("Authorization: Bearer wrong", 401)] {
            let client = try PeerProcess(
                Repository.python,
                [
                    Repository.peer("aioquic_h3_get.py"), "--port", "\(port)", "--path", "/api/ntrip/streampoints",
                    "--header", header,
                ],
                name: "aioquic_h3_get")
            #expect(try await client.waitForExit(timeout: .seconds(30)) == 0, "\(client.stderr.suffix(800))")
            let response = try #require(client.events.first { $0["path"] != nil })
            #expect(response["status"] as? Int == status)
            if status == 200 { #expect((response["body"] as? String)?.contains("\"mount\":\"DEMO\"") == true) }
        }
    }

    @Test func crudCodesAuthAndAccessSurviveARestart() async throws {
        var caster = try await RunningCaster.start(users: [])
        let directory = caster.directory
        defer { caster.stop() }

        // Never anonymous; a wrong token is refused too; Basic with the token as password works.
        #expect(try await caster.http("GET", "/api/ntrip/streampoints", token: nil).0 == 401)
        #expect(try await caster.http("GET", "/api/ntrip/streampoints", token: "wrong").0 == 401)
        #expect(try await caster.http("GET", "/api/ntrip/users", token: nil, basic: "admin:admintoken").0 == 200)

        // A fresh data directory: the documented default streampoint and user.
        let (code, list) = try await caster.http("GET", "/api/ntrip/streampoints")
        #expect(code == 200)
        #expect(list.contains("\"mount\":\"DEMO\""))
        let users = try await caster.http("GET", "/api/ntrip/users")
        #expect(users.1.contains("\"name\":\"user\"") && !users.1.lowercased().contains("password"))

        let create =
            "{\"mount\":\"P1\",\"sourcePassword\":\"p1pw\",\"str\":\"Plant 1;RTCM 3.2;1005(1);0;GPS;NONE;DEU;50.10;8.10;0;0;test;none;B;N;2400;\"}"
        #expect(try await caster.http("POST", "/api/ntrip/streampoints", json: create).0 == 201)
        #expect(try await caster.http("POST", "/api/ntrip/streampoints", json: create).0 == 409)
        #expect(
            try await caster.http(
                "POST", "/api/ntrip/streampoints", json: "{\"mount\":\"bad mount\",\"sourcePassword\":\"x\"}"
            ).0 == 422)
        #expect(try await caster.http("POST", "/api/ntrip/streampoints", json: "not json").0 == 422)
        #expect(try await caster.http("GET", "/api/ntrip/streampoints/NOPE").0 == 404)
        #expect(try await caster.http("DELETE", "/api/ntrip/streampoints/NOPE").0 == 404)
        #expect(
            try await caster.http(
                "POST", "/api/ntrip/users", json: "{\"name\":\"u2\",\"password\":\"pw2\",\"mounts\":[\"P1\"]}"
            ).0 == 201)
        #expect(
            try await caster.http("POST", "/api/ntrip/users", json: "{\"name\":\"u2\",\"password\":\"pw2\"}").0 == 409)
        #expect(try await caster.http("POST", "/api/ntrip/users", json: "{\"name\":\"u3\"}").0 == 422)
        let openapi = try await caster.http("GET", "/api/ntrip/openapi.json")
        #expect(openapi.0 == 200 && openapi.1.contains("\"openapi\": \"3.1.0\""))

        // The caster uses it at once: P1's own source password (not the shared one), u2 limited to P1.
        let port = "\(caster.ntripPort)"
        let stream = try await caster.makeStream("source.rtcm", epochs: 400)
        let shared = try caster.peer(
            "source", ["--port", port, "--mount", "P1", "--password", "sourcepw", "--file", stream])
        #expect(try await shared.waitForExit(timeout: .seconds(20)) == 1)
        #expect(shared.events("reply").first?["text"] as? String == "ERROR - Bad Password\r\n")
        let source = try caster.peer(
            "source", ["--port", port, "--mount", "P1", "--password", "p1pw", "--file", stream, "--interval", "0.05"])
        defer { source.terminate() }
        _ = try await source.waitForEvent { $0["event"] as? String == "sent" }
        let gga = "$GPGGA,120000.00,5006.0000,N,00806.0000,E,1,08,1.0,100.0,M,48.0,M,,*4F"
        let client = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "P1", "--user", "u2", "--password", "pw2", "--out", caster.path("c.rtcm"),
                "--seconds", "3", "--gga", gga,
            ])
        try await Task.sleep(for: .seconds(1.5))
        let status = try await caster.http("GET", "/api/ntrip/status")
        #expect(status.0 == 200)
        #expect(status.1.contains("\"sourceConnected\":true"), "\(status.1)")
        #expect(status.1.contains("\"user\":\"u2\""), "\(status.1)")
        #expect(status.1.contains("\"lastGGA\":\"\(gga)\""), "the in-band GGA is kept per client: \(status.1)")
        #expect(try await client.waitForExit(timeout: .seconds(20)) == 0)
        let result = try await caster.check(source: stream, out: caster.path("c.rtcm"))
        #expect(result["ok"] as? Bool == true, "\(result)")
        let table = try await rawExchange(port: caster.ntripPort, "GET / HTTP/1.0\r\nUser-Agent: NTRIP t\r\n\r\n")
        #expect(table.contains("\r\nSTR;P1;Plant 1;RTCM 3.2;1005(1);"))
        let denied = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "DEMO", "--user", "u2", "--password", "pw2", "--out", caster.path("d.bin"),
                "--seconds", "1",
            ])
        _ = try await denied.waitForExit(timeout: .seconds(20))
        // DEMO has no source: v1 gets the sourcetable, not the stream.
        #expect((denied.events("reply").first?["text"] as? String)?.hasPrefix("SOURCETABLE 200 OK") == true)
        source.terminate()

        // Restart on the same data directory: P1 and u2 are still there, with the same passwords.
        caster.stop(keepingData: true)
        caster = try await RunningCaster.start(users: [], directory: directory)
        #expect(try await caster.http("GET", "/api/ntrip/streampoints/P1").0 == 200)
        #expect(try await caster.http("GET", "/api/ntrip/users/u2").1.contains("\"mounts\":[\"P1\"]"))
        let again = try caster.peer(
            "source",
            [
                "--port", "\(caster.ntripPort)", "--mount", "P1", "--password", "p1pw", "--file", stream, "--interval",
                "0.05",
            ])
        defer { again.terminate() }
        _ = try await again.waitForEvent { $0["event"] as? String == "sent" }
        try await waitUntilLive(caster, mount: "P1")
        let after = try await rawExchange(
            port: caster.ntripPort, "GET /P1 HTTP/1.0\r\nUser-Agent: NTRIP t\r\nAuthorization: Basic dTI6cHcy\r\n\r\n",
            maxBytes: 12)
        #expect(after.hasPrefix("ICY 200 OK\r\n"))

        // A live client of u2 is closed when its password changes (StreamCaster kept such clients streaming).
        let live = try caster.peer(
            "client",
            [
                "--port", "\(caster.ntripPort)", "--mount", "P1", "--user", "u2", "--password", "pw2", "--out",
                caster.path("live.rtcm"), "--seconds", "15",
            ])
        _ = try await live.waitForEvent { $0["event"] as? String == "reply" }
        try await Task.sleep(for: .milliseconds(500))
        // Change the password (the old one stops working), then delete: 204, then 404.
        #expect(try await caster.http("PUT", "/api/ntrip/users/u2", json: "{\"password\":\"new\"}").0 == 200)
        let old = try await rawExchange(
            port: caster.ntripPort, "GET /P1 HTTP/1.0\r\nUser-Agent: NTRIP t\r\nAuthorization: Basic dTI6cHcy\r\n\r\n")
        #expect(old.hasPrefix("HTTP/1.0 401 Unauthorized\r\n"))
        #expect(try await live.waitForExit(timeout: .seconds(10)) == 0, "closed well before its 15 s")
        #expect(live.events("done").first?["closed"] as? Bool == true)
        #expect(try await caster.http("DELETE", "/api/ntrip/users/u2").0 == 204)
        #expect(try await caster.http("DELETE", "/api/ntrip/users/u2").0 == 404)
        // Deleting a streampoint closes its live source (StreamCaster let it stream on).
        #expect(try await caster.http("DELETE", "/api/ntrip/streampoints/P1").0 == 204)
        #expect(try await again.waitForExit(timeout: .seconds(10)) == 1, "the source was closed well before its 20 s")
        #expect(again.events("error").count == 1, "\(again.lines.suffix(3))")
        try await waitUntil {
            !(try await caster.http("GET", "/api/ntrip/status").1.contains("\"sourceConnected\":true"))
        }
    }
}
