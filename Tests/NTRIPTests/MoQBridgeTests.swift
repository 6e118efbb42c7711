import Foundation
import TestSupport
import Testing

/// The bridge both ways with the reference moq-lite implementation (moq-rs): mount `M` is broadcast
/// `ntrip/M`, track `rtcm`, one RTCM3 message per frame.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MoQBridgeTests {
    @Test func referenceSubscriberReadsAnNTRIPSourceMessageByMessage() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let source = try await caster.makeStream("source.rtcm", epochs: 200)
        let hashes = try caster.peer("hashes", [source])
        _ = try await hashes.waitForExit(timeout: .seconds(30))
        let sent = Set(hashes.lines.filter { $0.count == 64 })
        #expect(sent.count > 500)

        let subscriber = try PeerProcess(
            Repository.python,
            [
                Repository.peer("moq_ref.py"), "subscribe", "--url", caster.url, "--fingerprint", caster.pin,
                "--broadcast", "ntrip/B1", "--track", "rtcm", "--count", "40", "--timeout", "40",
            ],
            name: "moq_ref subscribe")
        defer { subscriber.terminate() }
        _ = try await subscriber.waitForEvent { $0["event"] as? String == "connected" }
        let ntripSource = try caster.peer(
            "source",
            [
                "--port", "\(caster.ntripPort)", "--mount", "B1", "--password", "sourcepw", "--file", source,
                "--interval", "0.05",
            ])
        defer { ntripSource.terminate() }
        #expect(
            try await subscriber.waitForExit(timeout: .seconds(45)) == 0,
            "\(subscriber.lines.suffix(4)) \(subscriber.stderr.suffix(800))")
        let frames = subscriber.events("frame")
        #expect(frames.count == 40)
        // Every frame is one whole message the source sent, byte for byte.
        #expect(frames.allSatisfy { sent.contains($0["sha256"] as? String ?? "") })
    }

    @Test func ntripClientsReadAReferencePublisher() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let publisher = try PeerProcess(
            Repository.python,
            [
                Repository.peer("moq_ref.py"), "publish", "--url", caster.url, "--fingerprint", caster.pin,
                "--broadcast", "ntrip/MQ", "--track", "rtcm", "--groups", "400", "--frames-per-group", "5",
                "--frame-size", "300", "--interval-ms", "10", "--timeout", "60",
            ],
            name: "moq_ref publish")
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        try await waitUntilLive(caster, mount: "MQ")
        let port = "\(caster.ntripPort)"
        let v1 = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "MQ", "--user", "user", "--password", "password", "--out",
                caster.path("v1.bin"), "--seconds", "3",
            ])
        let v2 = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "MQ", "--user", "user", "--password", "password", "--version", "2",
                "--out", caster.path("v2.bin"), "--seconds", "3",
            ])
        for client in [v1, v2] {
            #expect(try await client.waitForExit(timeout: .seconds(20)) == 0)
            let check = try caster.peer(
                "check-moq",
                [
                    "--out", client === v1 ? caster.path("v1.bin") : caster.path("v2.bin"), "--frame-size", "300",
                    "--frames-per-group", "5",
                ])
            _ = try await check.waitForExit(timeout: .seconds(20))
            let result = check.lines.last ?? ""
            #expect(result.contains("\"ok\": true"), "\(client.name): \(result)")
            // About 3 s at 100 frames/s.
            #expect(fileBytes(client === v1 ? caster.path("v1.bin") : caster.path("v2.bin")).count >= 100 * 300)
        }
        // The sourcetable lists the moq-lite mount too.
        let table = try await rawExchange(port: caster.ntripPort, "GET / HTTP/1.0\r\nUser-Agent: NTRIP t\r\n\r\n")
        #expect(table.contains("\r\nSTR;MQ;"))
    }

    @Test func anNTRIPSourceOnOneRelayFeedsClientsOfAnotherTwoLinksAway() async throws {
        // Three nodes in a line: near -> middle -> far (each dials the next).
        let far = try await RunningCaster.start()
        defer { far.stop() }
        let middle = try await RunningCaster.start(extra: [
            "--cluster-connect", far.url, "--cluster-fingerprint", far.pin,
        ])
        defer { middle.stop() }
        let near = try await RunningCaster.start(extra: [
            "--cluster-connect", middle.url, "--cluster-fingerprint", middle.pin,
        ])
        defer { near.stop() }
        let source = try await far.makeStream("source.rtcm", epochs: 300)
        let ntripSource = try far.peer(
            "source",
            [
                "--port", "\(far.ntripPort)", "--mount", "FAR", "--password", "sourcepw", "--file", source,
                "--interval", "0.05",
            ])
        defer { ntripSource.terminate() }
        _ = try await ntripSource.waitForEvent { $0["event"] as? String == "sent" }
        // The mount reaches the near relay as broadcast ntrip/FAR over two links, and its caster serves it.
        try await waitUntilLive(near, mount: "FAR")
        let v1 = try near.peer(
            "client",
            [
                "--port", "\(near.ntripPort)", "--mount", "FAR", "--user", "user", "--password", "password", "--out",
                near.path("chain.rtcm"), "--seconds", "4",
            ])
        #expect(try await v1.waitForExit(timeout: .seconds(20)) == 0)
        let result = try await near.check(source: source, out: near.path("chain.rtcm"))
        #expect(result["ok"] as? Bool == true, "a byte-exact slice of the far source: \(result)")
        #expect(fileBytes(near.path("chain.rtcm")).count > 20 * 500, "about 4 s of 0.6 KiB epochs every 50 ms")
    }

    @Test func ntripstreamsV2SourceAndChunkedSourceFeedClients() async throws {
        let caster = try await RunningCaster.start()
        defer { caster.stop() }
        let port = "\(caster.ntripPort)"
        let source = try await caster.makeStream("source.rtcm", epochs: 150)
        let ntripstreams = try caster.peer(
            "ntripstreams-source",
            [
                "--port", port, "--mount", "NS", "--user", "src", "--password", "sourcepw", "--file", source,
                "--interval", "0.05", "--hold", "20",
            ])
        defer { ntripstreams.terminate() }
        _ = try await ntripstreams.waitForEvent(timeout: .seconds(20)) { $0["event"] as? String == "connected" }
        let chunked = try caster.peer(
            "source",
            [
                "--port", port, "--mount", "CH", "--version", "2", "--user", "src", "--password", "sourcepw",
                "--chunked",
                "--file", source, "--interval", "0.05", "--loops", "4",
            ])
        defer { chunked.terminate() }
        _ = try await chunked.waitForEvent { $0["event"] as? String == "sent" }
        try await waitUntilLive(caster, mount: "NS")
        let fromNS = try caster.peer(
            "pyg",
            [
                "--port", port, "--mount", "NS", "--user", "user", "--password", "password", "--version", "2.0",
                "--out", caster.path("ns.rtcm"), "--seconds", "4",
            ])
        let fromCH = try caster.peer(
            "client",
            [
                "--port", port, "--mount", "CH", "--user", "user", "--password", "password", "--out",
                caster.path("ch.rtcm"),
                "--seconds", "4",
            ])
        for client in [fromNS, fromCH] { #expect(try await client.waitForExit(timeout: .seconds(30)) == 0) }
        for name in ["ns", "ch"] {
            let result = try await caster.check(source: source, out: caster.path(name + ".rtcm"), stripGGA: true)
            #expect(result["ok"] as? Bool == true, "\(name): \(result)")
        }
        // ntripstreams as a v2 client (chunked; it CRC-checks and decodes every message) and reading the sourcetable.
        let binary = Repository.root.appendingPathComponent(".venv/bin/ntripstreams").path
        let client = try PeerProcess(
            "/usr/bin/timeout",
            [
                "-k", "2", "3", binary, "http://127.0.0.1:\(port)", "-m", "CH", "-u", "user", "-p", "password", "-v",
                "-v", "-v",
            ],
            name: "ntripstreams client")
        _ = try await client.waitForExit(timeout: .seconds(20))
        let decoded = client.stderr.components(separatedBy: "CH:RTCM message #:").count - 1
        #expect(decoded >= 20, "ntripstreams decoded \(decoded): \(client.stderr.suffix(800))")
        #expect(!client.stderr.contains("Failed to decode"))
        let table = try PeerProcess(
            "/usr/bin/timeout", ["-k", "2", "5", binary, "http://127.0.0.1:\(port)", "-v", "-v"],
            name: "ntripstreams table")
        _ = try await table.waitForExit(timeout: .seconds(20))
        let output = table.lines.joined(separator: "\n") + table.stderr
        #expect(output.contains("STR;CH;") && output.contains("STR;NS;"), "\(output.suffix(800))")
    }
}
