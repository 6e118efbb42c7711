import Foundation
import TestSupport
import Testing

/// A Python `requests` client pulls a track the reference moq-rs client publishes through moq-relay,
/// drops some chunks on purpose, resends them, and checks every byte (Tests/Peers/l7rtcp_client.py).
@Suite(.serialized) struct ReferencePullTests {
    func runClient(_ relay: TestRelay, _ arguments: [String]) async throws -> [String: Any] {
        let client = try PeerProcess(
            Repository.python,
            [Repository.peer("l7rtcp_client.py"), "--base", relay.http, "--timeout", "60"] + arguments,
            name: "l7rtcp_client")
        let code = try await client.waitForExit(timeout: .seconds(90))
        let done = client.events.last { $0["event"] as? String == "done" } ?? [:]
        #expect(code == 0, "client: \(client.lines.suffix(5)) \(client.stderr.suffix(1500))")
        return done
    }

    @Test func pythonClientPullsTheReferencePublisherByteExactWithResends() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("room/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.closeInput() }
        // 1000-byte frames cut into 256-byte chunks: 4 chunks per frame, 120 chunks = 30 frames.
        let done = try await runClient(
            relay,
            [
                "--stream", "video;broadcast=room/cam", "--chunk-size", "256", "--count", "120", "--drop", "0,5,63,119",
                "--frame-size", "1000",
            ])
        #expect(done["ok"] as? Bool == true, "\(done)")
        #expect(done["frames"] as? Int == 30 && done["resent"] as? [Int] == [0, 5, 63, 119])
    }

    @Test func aTransmissionOnOneNodePullsATrackPublishedOnAnother() async throws {
        // The reference publisher is on node A; the transmission is made on node B, linked to A.
        let a = try await TestRelay.start()
        defer { a.process.terminate() }
        let publisher = try await a.publish("site/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.closeInput() }
        let b = try await TestRelay.start(["--cluster-connect", a.url, "--cluster-fingerprint", a.pin])
        defer { b.process.terminate() }
        try await waitUntil(timeout: .seconds(20)) {
            try await httpGet(b.http + "/announced").split(separator: "\n").contains("site/cam")
        }
        let done = try await runClient(
            b,
            [
                "--stream", "video;broadcast=site/cam", "--chunk-size", "500", "--count", "60", "--drop", "3,40",
                "--frame-size", "1000",
            ])
        #expect(done["ok"] as? Bool == true, "\(done)")
        #expect(done["frames"] as? Int == 30 && done["resent"] as? [Int] == [3, 40])
    }

    @Test func pythonClientJoinsSmallFramesIntoChunks() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("room/mic", tracks: ["audio"], frameSize: 100, intervalMs: 5)
        defer { publisher.closeInput() }
        // Three 100-byte frames per group join into one 300-byte chunk (the group's end flushes it).
        let done = try await runClient(
            relay,
            [
                "--stream", "room/mic/audio", "--chunk-size", "4096", "--count", "40", "--drop", "7",
                "--frame-size", "100",
            ])
        #expect(done["ok"] as? Bool == true, "\(done)")
        #expect(done["bytes"] as? Int == 40 * 300)
    }

    @Test func statelessClientRoundTrip() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("room/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.closeInput() }
        let done = try await runClient(
            relay,
            [
                "--stream", "video;broadcast=room/cam", "--session", "stateless",
                "--features", "core,resend,pull,stateless", "--chunk-size", "512", "--count", "30", "--drop", "2,9",
                "--frame-size", "1000",
            ])
        #expect(done["ok"] as? Bool == true, "\(done)")
    }

    @Test func webSocketPushIsByteExactWithResend() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("room/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.closeInput() }
        // 1000-byte frames in 300-byte chunks: 300, 300, 300, 100 per frame; 40 chunks = 10 frames.
        let client = try PeerProcess(
            Repository.python,
            [
                Repository.peer("l7rtcp_ws_client.py"), "--base", relay.http, "--stream", "video;broadcast=room/cam",
                "--chunk-size", "300", "--count", "40", "--resend", "0,1,2,39", "--frame-size", "1000",
                "--timeout", "60",
            ],
            name: "l7rtcp_ws_client")
        let code = try await client.waitForExit(timeout: .seconds(90))
        let done = client.events.last { $0["event"] as? String == "done" } ?? [:]
        #expect(code == 0, "\(client.lines.suffix(5)) \(client.stderr.suffix(1500))")
        #expect(done["ok"] as? Bool == true && done["frames"] as? Int == 10, "\(done)")
    }

    @Test func webSocketPushRefusesPullTransmissions() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let id = try #require(
            try await relay.exchange("POST", "/l7rtcp/init", readmeInit).headers["x-transmission-id"])
        // A pull transmission: the upgrade succeeds, then the server closes with 4409.
        let reply = try await relay.exchange(
            "GET", "/l7rtcp/ws/\(id)",
            [
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            ])
        #expect(reply.status == 101)
        #expect(reply.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        // A close frame with code 4409.
        #expect(reply.body.count >= 4 && reply.body.prefix(4) == Data([0x88, UInt8(reply.body.count - 2), 0x11, 0x39]))
    }
}
