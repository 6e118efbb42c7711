import Foundation
import TestSupport
import Testing

/// The caster inside `moq-relay` with real NTRIP peers: RTKLIB str2str, pygnssutils, raw sockets.
/// Every client's bytes must be a byte-exact slice of what the source sent, and parse with pyrtcm.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CasterPeerTests {
    @Test func str2strSourceFeedsStr2strRawAndPygnssutilsClients() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let source = try await caster.makeStream("source.rtcm", epochs: 150)
        let str2str = try caster.str2strSource(file: source, mount: "M1")
        defer { str2str.terminate() }
        try await waitUntilLive(caster, mount: "M1")

        let port = "\(caster.ntripPort)"
        let rtklib = try PeerProcess(
            "/usr/bin/timeout",
            [
                "-k", "3", "6", "str2str", "-in", "ntrip://user:password@127.0.0.1:\(port)/M1", "-out",
                "file://" + caster.path("str2str.rtcm"),
                "-n", "1000", "-p", "50.1", "8.1", "100",
            ],
            name: "str2str client")
        defer { rtklib.terminate() }
        let raw1 = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "M1", "--user", "user", "--password", "password", "--out",
                caster.path("raw1.rtcm"),
                "--seconds", "5", "--gga", "$GPGGA,120000.00,5006.0000,N,00806.0000,E,1,08,1.0,100.0,M,48.0,M,,*4F",
            ])
        let raw2 = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "M1", "--user", "user", "--password", "password", "--out",
                caster.path("raw2.rtcm"),
                "--seconds", "5", "--version", "2",
            ])
        let pyg1 = try caster.peer(
            "pyg",
            [
                "--port", port, "--mount", "M1", "--user", "user", "--password", "password", "--version", "1.0",
                "--out", caster.path("pyg1.rtcm"), "--seconds", "5", "--gga-interval", "1",
            ])
        let pyg2 = try caster.peer(
            "pyg",
            [
                "--port", port, "--mount", "M1", "--user", "user", "--password", "password", "--version", "2.0",
                "--out", caster.path("pyg2.rtcm"), "--seconds", "5", "--gga-interval", "1",
            ])
        for peer in [raw1, raw2, pyg1, pyg2] {
            #expect(try await peer.waitForExit(timeout: .seconds(40)) == 0, "\(peer.name): \(peer.stderr.suffix(1500))")
        }
        _ = try await rtklib.waitForExit(timeout: .seconds(30))
        #expect(raw1.events("reply").first?["text"] as? String == "ICY 200 OK\r\n")
        #expect((raw2.events("reply").first?["text"] as? String)?.contains("Content-Type: gnss/data\r\n") == true)

        for (name, strip) in [("str2str", false), ("raw1", false), ("raw2", false), ("pyg1", true), ("pyg2", true)] {
            let result = try await caster.check(source: source, out: caster.path(name + ".rtcm"), stripGGA: strip)
            #expect(result["ok"] as? Bool == true, "\(name): \(result)")
            #expect((result["bytes"] as? Int ?? 0) > 2_000, "\(name) got data: \(result)")
        }
        // The caster kept the GGA sentences: str2str's in-band lines are logged with the client's status.
        #expect(str2str.isRunning, "the source stayed connected")
    }

    @Test func wrongPasswordForbiddenMountAndSecondSourceAreRefused() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let port = "\(caster.ntripPort)"
        let source = try await caster.makeStream("source.rtcm", epochs: 200)

        let badSource = try caster.peer(
            "source", ["--port", port, "--mount", "M1", "--password", "wrong", "--file", source])
        #expect(try await badSource.waitForExit(timeout: .seconds(20)) == 1)
        #expect(badSource.events("reply").first?["text"] as? String == "ERROR - Bad Password\r\n")
        let badV2 = try caster.peer(
            "source",
            ["--port", port, "--mount", "M1", "--version", "2", "--user", "u", "--password", "wrong", "--file", source])
        #expect(try await badV2.waitForExit(timeout: .seconds(20)) == 1)
        #expect((badV2.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.1 401 Unauthorized\r\n") == true)

        let first = try caster.peer(
            "source",
            ["--port", port, "--mount", "M1", "--password", "sourcepw", "--file", source, "--interval", "0.1"])
        defer { first.terminate() }
        _ = try await first.waitForEvent { $0["event"] as? String == "sent" }
        let second = try caster.peer(
            "source", ["--port", port, "--mount", "M1", "--password", "sourcepw", "--file", source])
        #expect(try await second.waitForExit(timeout: .seconds(20)) == 1)
        #expect(second.events("reply").first?["text"] as? String == "ERROR - Mount Point Taken or Invalid\r\n")
        let secondV2 = try caster.peer(
            "source",
            [
                "--port", port, "--mount", "M1", "--version", "2", "--user", "s", "--password", "sourcepw", "--file",
                source,
            ])
        #expect(try await secondV2.waitForExit(timeout: .seconds(20)) == 1)
        #expect((secondV2.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.1 409 Conflict\r\n") == true)

        // Clients: wrong password (401), a user limited to another mount (403), then the allowed user.
        let second2 = try caster.peer(
            "source",
            ["--port", port, "--mount", "M2", "--password", "sourcepw", "--file", source, "--interval", "0.1"])
        defer { second2.terminate() }
        _ = try await second2.waitForEvent { $0["event"] as? String == "sent" }
        let wrong = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "M1", "--user", "user", "--password", "nope", "--out", caster.path("w.bin"),
                "--seconds", "2",
            ])
        let forbidden = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "M2", "--user", "rover", "--password", "secret", "--out",
                caster.path("f.bin"), "--seconds", "2",
            ])
        let allowed = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "M1", "--user", "rover", "--password", "secret", "--out",
                caster.path("a.rtcm"), "--seconds", "3",
            ])
        for peer in [wrong, forbidden, allowed] { _ = try await peer.waitForExit(timeout: .seconds(20)) }
        #expect((wrong.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.0 401 Unauthorized\r\n") == true)
        #expect(wrong.events("done").first?["closed"] as? Bool == true)
        #expect((forbidden.events("reply").first?["text"] as? String)?.hasPrefix("HTTP/1.0 403 Forbidden\r\n") == true)
        #expect(allowed.events("reply").first?["text"] as? String == "ICY 200 OK\r\n")
        let result = try await caster.check(source: source, out: caster.path("a.rtcm"))
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect(first.isRunning, "the first source is still connected")
    }

    @Test func clientsStayWhileTheSourceReconnects() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let port = "\(caster.ntripPort)"
        let stream = try await caster.makeStream("all.rtcm", epochs: 80)
        // Two halves of one stream: the second source carries on where the first stopped.
        let bytes = fileBytes(stream)
        let half = epochStart(bytes, epoch: 40)
        let firstHalf = caster.path("first.rtcm")
        let secondHalf = caster.path("second.rtcm")
        _ = FileManager.default.createFile(atPath: firstHalf, contents: Data(bytes[..<half]))
        _ = FileManager.default.createFile(atPath: secondHalf, contents: Data(bytes[half...]))

        let first = try caster.peer(
            "source",
            [
                "--port", port, "--mount", "R1", "--password", "sourcepw", "--file", firstHalf, "--interval", "0.05",
                "--hold", "0",
            ])
        _ = try await first.waitForEvent { $0["event"] as? String == "sent" }
        let client = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "R1", "--user", "user", "--password", "password", "--out",
                caster.path("c.rtcm"),
                "--seconds", "6",
            ])
        #expect(try await first.waitForExit(timeout: .seconds(20)) == 0)
        try await Task.sleep(for: .milliseconds(700))
        let second = try caster.peer(
            "source",
            [
                "--port", port, "--mount", "R1", "--password", "sourcepw", "--file", secondHalf, "--interval", "0.05",
                "--hold", "5",
            ])
        defer { second.terminate() }
        #expect(try await client.waitForExit(timeout: .seconds(20)) == 0)
        #expect(client.events("done").first?["closed"] as? Bool == false, "the client stayed connected across the gap")
        let result = try await caster.check(source: stream, out: caster.path("c.rtcm"))
        #expect(result["ok"] as? Bool == true, "\(result)")
        let received = fileBytes(caster.path("c.rtcm"))
        #expect(received.count > bytes.count - half, "bytes from both sources: \(received.count)")
    }

    @Test func sourcetableForNTRIPAndHTTPAgents() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let port = "\(caster.ntripPort)"
        let source = try await caster.makeStream("source.rtcm", epochs: 300)
        let str2str = try caster.str2strSource(file: source, mount: "TABLE1")
        defer { str2str.terminate() }
        try await waitUntilLive(caster, mount: "TABLE1")

        let v1 = try await rawExchange(port: caster.ntripPort, "GET / HTTP/1.0\r\nUser-Agent: NTRIP test\r\n\r\n")
        #expect(v1.hasPrefix("SOURCETABLE 200 OK\r\n"))
        #expect(v1.contains("\r\nSTR;TABLE1;"))
        #expect(v1.hasSuffix("ENDSOURCETABLE\r\n"))
        // An unknown mount in v1 answers the sourcetable too; in v2 it is 404.
        let unknown = try await rawExchange(
            port: caster.ntripPort, "GET /NOPE HTTP/1.0\r\nUser-Agent: NTRIP test\r\n\r\n")
        #expect(unknown.hasPrefix("SOURCETABLE 200 OK\r\n"))
        let unknownV2 = try await rawExchange(
            port: caster.ntripPort, "GET /NOPE HTTP/1.1\r\nUser-Agent: NTRIP test\r\nNtrip-Version: Ntrip/2.0\r\n\r\n")
        #expect(unknownV2.hasPrefix("HTTP/1.1 404 Not Found\r\n"))

        let curl = try PeerProcess(
            "/usr/bin/curl", ["-s", "-i", "--max-time", "10", "http://127.0.0.1:\(port)/"], name: "curl")
        let curlStatus = try await curl.waitForExit(timeout: .seconds(15))
        let curlReply = curl.lines.joined(separator: "\n")
        #expect(curlReply.hasPrefix("HTTP/1.1 200 OK\r\n"), "curl exit \(curlStatus): \(curl.stderr.suffix(500))")
        #expect(curlReply.contains("\r\nContent-Type: gnss/sourcetable\r\n"))
        #expect(curlReply.contains("\r\nSTR;TABLE1;"))

        let pyg = try caster.peer("sourcetable-pyg", ["--port", port])
        #expect(try await pyg.waitForExit(timeout: .seconds(30)) == 0)
        #expect(
            pyg.events("sourcetable").first?["mounts"] as? [String] == ["DEMO", "TABLE1"],
            "\(pyg.lines) \(pyg.stderr.suffix(800))")

        let browser = try PeerProcess(
            Repository.root.appendingPathComponent(".venv/bin/ntripbrowser").path,
            ["127.0.0.1", "-p", port, "-t", "5"],
            name: "ntripbrowser")
        _ = try await browser.waitForExit(timeout: .seconds(30))
        #expect(
            browser.lines.contains { $0.contains("TABLE1") },
            "\(browser.lines.suffix(20)) \(browser.stderr.suffix(800))")
    }

    @Test func badInputGetsAClearReplyOrCloseAndOthersAreUnaffected() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let garbage = try await rawExchange(port: caster.ntripPort, "\u{0}\u{1}\u{2}\u{3}binary garbage")
        #expect(garbage.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        let huge = try await rawExchange(
            port: caster.ntripPort, "GET /M1 HTTP/1.0\r\nX-Long: " + String(repeating: "a", count: 1 << 20) + "\r\n\r\n"
        )
        #expect(huge.hasPrefix("HTTP/1.1 431 "))
        let method = try await rawExchange(port: caster.ntripPort, "DELETE /M1 HTTP/1.1\r\n\r\n")
        #expect(method.hasPrefix("HTTP/1.1 501 "))
        let source = try await rawExchange(port: caster.ntripPort, "SOURCE\r\n\r\n")
        #expect(source == "ERROR - Mount Point Taken or Invalid\r\n")
    }
}

/// Waits until `mount` answers a v2 client (its source is live), within a bound.
func waitUntilLive(_ caster: RunningCaster, mount: String) async throws {
    for _ in 0..<100 {
        let reply = try await rawExchange(
            port: caster.ntripPort,
            "GET /\(mount) HTTP/1.1\r\nUser-Agent: NTRIP probe\r\nNtrip-Version: Ntrip/2.0\r\nAuthorization: Basic dXNlcjpwYXNzd29yZA==\r\n\r\n",
            maxBytes: 16)
        if reply.hasPrefix("HTTP/1.1 200") { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw PeerError("mount \(mount) never became live")
}

/// Byte offset where epoch `epoch` (counted by 1005 messages) starts in a stream made by ntrip_peer.py.
func epochStart(_ bytes: [UInt8], epoch: Int) -> Int {
    var index = 0
    var seen = -1
    while index + 5 < bytes.count {
        let length = Int(bytes[index + 1] & 0x03) << 8 | Int(bytes[index + 2])
        let type = Int(bytes[index + 3]) << 4 | Int(bytes[index + 4]) >> 4
        if type == 1005 {
            seen += 1
            if seen == epoch { return index }
        }
        index += length + 6
    }
    return bytes.count
}

/// Clients never stall each other: a client that stops reading is dropped once its backlog passes the
/// bound, while a reading client of the same mount gets every byte.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SlowClientTests {
    /// The clients of `mount` in the status API: address to bytes handed to it.
    static func clients(_ caster: RunningCaster, mount: String) async throws -> [String: Int] {
        let (status, body) = try await caster.http("GET", "/api/ntrip/status")
        guard status == 200, let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let mounts = json["mounts"] as? [[String: Any]]
        else { throw PeerError("status answered \(status): \(body.prefix(500))") }
        let clients = mounts.first { $0["mount"] as? String == mount }?["clients"] as? [[String: Any]] ?? []
        return Dictionary(
            clients.map { ($0["address"] as? String ?? "?", $0["bytesOut"] as? Int ?? 0) }, uniquingKeysWith: max)
    }

    @Test func aClientThatNeverReadsIsDroppedAndOthersAreUnaffected() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let port = "\(caster.ntripPort)"
        // The source sends until the drop is seen, bounded in bytes (8 loops of 1.2 MB, at most
        // ~600 KB/s) and time (below). The bound is in bytes (256 KiB), so however slow a loaded machine makes
        // the source, the stuck client's backlog passes it long before the source runs out; a reading client
        // keeps up with that pace.
        let loops = 8
        let one = try await caster.makeStream("one.rtcm", epochs: 2000)
        let source = caster.path("source.rtcm")
        _ = FileManager.default.createFile(
            atPath: source, contents: Data(Array(repeating: fileBytes(one), count: loops).joined()))
        let feeder = try caster.peer(
            "source",
            [
                "--port", port, "--mount", "FAST", "--password", "sourcepw", "--file", one, "--interval", "0.001",
                "--loops", "\(loops)", "--hold", "2",
            ])
        defer { feeder.terminate() }
        _ = try await feeder.waitForEvent { $0["event"] as? String == "sent" }
        // The stuck client reads nothing until `release` exists; the reader reads until `stop` exists.
        let release = caster.path("release")
        let stop = caster.path("stop")
        let stuck = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "FAST", "--user", "user", "--password", "password", "--stall", "120",
                "--stall-until", release, "--out", caster.path("stuck.bin"), "--seconds", "10",
            ])
        defer { stuck.terminate() }
        let reader = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "FAST", "--user", "user", "--password", "password", "--out",
                caster.path("reader.rtcm"), "--seconds", "120", "--until", stop,
            ])
        defer { reader.terminate() }
        let stuckPort = try await stuck.waitForEvent { $0["event"] as? String == "connected" }["port"] as? Int ?? 0
        let readerPort = try await reader.waitForEvent { $0["event"] as? String == "connected" }["port"] as? Int ?? 0
        let stuckAddress = "127.0.0.1:\(stuckPort)"
        let readerAddress = "127.0.0.1:\(readerPort)"
        try await waitUntil {
            let clients = try await Self.clients(caster, mount: "FAST")
            return clients[stuckAddress] != nil && clients[readerAddress] != nil
        }
        // Wait for the drop (while the source still sends), then for the reader to have had 600 KB.
        try await waitUntil(timeout: .seconds(90)) {
            try await Self.clients(caster, mount: "FAST")[stuckAddress] == nil || !feeder.isRunning
        }
        #expect(feeder.isRunning, "the source ran out before the stuck client was dropped: \(feeder.lines.suffix(3))")
        try await waitUntil(timeout: .seconds(60)) {
            try await Self.clients(caster, mount: "FAST")[readerAddress] ?? 0 >= 600_000 || !feeder.isRunning
        }
        #expect(try await Self.clients(caster, mount: "FAST")[readerAddress] != nil, "the reader is still served")
        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        #expect(FileManager.default.createFile(atPath: stop, contents: nil))
        #expect(try await stuck.waitForExit(timeout: .seconds(30)) == 0)
        #expect(try await reader.waitForExit(timeout: .seconds(30)) == 0)
        let dropped = stuck.events("done").first ?? [:]
        #expect(dropped["closed"] as? Bool == true, "the stuck client was dropped: \(stuck.lines)")
        // What it finally read is what the kernel held when the caster closed it: within the bound.
        #expect((dropped["bytes"] as? Int ?? .max) <= 256 * 1024, "the backlog stayed within its bound: \(dropped)")
        let result = try await caster.check(source: source, out: caster.path("reader.rtcm"))
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect((result["bytes"] as? Int ?? 0) > 500_000, "the reader kept up: \(result)")
        #expect(reader.events("done").first?["closed"] as? Bool == false)
    }
}
