import Foundation
import TestSupport
import Testing

/// The source document's curl quick start and the §4 compatibility checklist, against a running moq-relay
/// whose streams a reference (moq-rs) publisher feeds.
@Suite(.serialized) struct CompatibilityTests {
    @Test func curlQuickStartAndChecklist() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }

        // init with the README example: 200, the five X- headers, a tx- id.
        let initReply = try await relay.exchange("POST", "/l7rtcp/init", readmeInit)
        #expect(initReply.status == 200)
        let id = try #require(initReply.headers["x-transmission-id"])
        #expect(id.hasPrefix("tx-") && id.count == 39)
        #expect(
            initReply.headers["x-features-enabled"] == "core,resend,ttl,backpressure,multistream,pull,pause,metrics")
        #expect(initReply.headers["x-accepted-streams"] == "video;res=480,audio;lang=en")
        #expect(initReply.headers["x-ttl"] == "3600")
        #expect(initReply.headers["x-max-packet-size"] == "1024" && initReply.headers["x-chunk-size"] == "1024")
        #expect(initReply.headers["x-l7rtcp-version"] == "1" && initReply.headers["x-resumed"] == "false")

        // transmit pull: 209 Pending Transmission, octet-stream of at most the chunk size, the advice.
        let pull = try await relay.exchange(
            "POST", "/l7rtcp/transmit",
            ["X-Transmission-ID": id, "X-Stream-ID": "video;res=480", "X-Packet-ID": "0", "X-Wait-Ms": "5000"])
        #expect(pull.status == 209)
        #expect(pull.statusLine.hasPrefix("HTTP/1.1 209 Pending Transmission"))
        #expect(pull.headers["content-type"] == "application/octet-stream")
        #expect(pull.body.count == 900 && pull.body.count <= 1024)  // one group: 3 frames of 300 bytes
        #expect(pull.headers["x-backpressure-advice"] != nil && pull.headers["x-packet-id"] == "0")
        #expect(pull.headers["x-next-packet-id"] == "1" && pull.headers["x-chunk-crc32c"]?.count == 8)

        // Only X-Stream-ID: 400 whose detail mentions X-Packet-ID.
        let half = try await relay.exchange(
            "POST", "/l7rtcp/transmit", ["X-Transmission-ID": id, "X-Stream-ID": "video;res=480"])
        #expect(half.status == 400 && (half.json["detail"] as? String)?.contains("X-Packet-ID") == true)

        // Stream control: 200.
        let control = try await relay.exchange(
            "POST", "/l7rtcp/transmit", ["X-Transmission-ID": id, "X-Stream-Control": "audio;lang=en=pause"])
        #expect(control.status == 200 && control.headers["x-backpressure-advice"] != nil)
        #expect(control.text.contains("\"state\":\"paused\""))

        // status: the PoC keys.
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        #expect(status.status == 200 && status.headers["content-type"] == "application/json")
        for key in ["transmission_id", "streams", "ttl", "alive", "last_received_time"] {
            #expect(status.json[key] != nil, "status lacks \(key)")
        }
        let video = (status.json["streams"] as? [String: Any])?["video;res=480"] as? [String: Any]
        #expect(video?["received"] as? [Int] == [0] && video?["missing"] as? [Int] == [])
        #expect(video?.keys.contains("total") == true && status.json["alive"] as? Bool == true)

        // resend: 200 with message and chunks_queued.
        let resend = try await relay.exchange(
            "POST", "/l7rtcp/resend/\(id)", body: #"{"stream":"video;res=480","chunks":[0]}"#)
        #expect(resend.status == 200 && resend.json["message"] as? String == "Resend request accepted")
        #expect(resend.json["chunks_queued"] as? [Int] == [0])

        // Error bodies carry detail (and a machine code).
        let unknown = try await relay.exchange("GET", "/l7rtcp/status/tx-nope")
        #expect(unknown.status == 404 && unknown.json["detail"] as? String == "Transmission not found")
        #expect(unknown.json["error"] as? String == "transmission_not_found")

        // Deviations: unknown features ignored; unknown id on init 404; resume checks the client id.
        var bogus = readmeInit
        bogus["X-Features-Supported"] = "core,pull,bogus"
        bogus["X-Streams"] = "video;res=480"
        let ignored = try await relay.exchange("POST", "/l7rtcp/init", bogus)
        #expect(ignored.status == 200 && ignored.headers["x-features-enabled"] == "core,pull")
        var squat = readmeInit
        squat["X-Transmission-ID"] = "tx-01a200fb-0000-7000-8000-000000000000"
        let squatted = try await relay.exchange("POST", "/l7rtcp/init", squat)
        #expect(squatted.status == 404 && squatted.json["error"] as? String == "transmission_not_found")
    }

    @Test func resumeWithTheSameAndADifferentClient() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let first = try await relay.exchange("POST", "/l7rtcp/init", readmeInit)
        let id = try #require(first.headers["x-transmission-id"])

        // Same client: the stored parameters come back, whatever the new request asks.
        var again = readmeInit
        again["X-Transmission-ID"] = id
        again["X-Chunk-Size"] = "4096"
        again["X-Streams"] = "video;res=480"
        let resumed = try await relay.exchange("POST", "/l7rtcp/init", again)
        #expect(resumed.status == 200 && resumed.headers["x-resumed"] == "true")
        #expect(resumed.headers["x-transmission-id"] == id && resumed.headers["x-chunk-size"] == "1024")
        #expect(resumed.headers["x-accepted-streams"] == "video;res=480,audio;lang=en")

        // Another client: 403 client_mismatch, and status with its X-Client-ID too.
        again["X-Client-ID"] = "intruder"
        let refused = try await relay.exchange("POST", "/l7rtcp/init", again)
        #expect(refused.status == 403 && refused.json["error"] as? String == "client_mismatch")
        let peek = try await relay.exchange("GET", "/l7rtcp/status/\(id)", ["X-Client-ID": "intruder"])
        #expect(peek.status == 403)
        let own = try await relay.exchange("GET", "/l7rtcp/status/\(id)", ["X-Client-ID": "cli-123"])
        #expect(own.status == 200)
    }

    @Test func routesAnswerOverHTTP3() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let id = try #require(
            try await relay.exchange("POST", "/l7rtcp/init", readmeInit).headers["x-transmission-id"])
        let port = try #require(relay.url.split(separator: ":").last.flatMap { Int($0.filter(\.isNumber)) })
        let client = try PeerProcess(
            Repository.python,
            [
                Repository.peer("aioquic_h3_get.py"), "--port", String(port), "--path", "/l7rtcp/status/\(id)",
                "--path", "/l7rtcp/status/tx-unknown",
            ],
            name: "aioquic_h3_get")
        #expect(try await client.waitForExit(timeout: .seconds(30)) == 0, "\(client.stderr.suffix(800))")
        let responses = client.events.filter { $0["path"] != nil }
        #expect(responses.count == 2)
        #expect(responses.first?["status"] as? Int == 200)
        #expect((responses.first?["body"] as? String)?.contains("\"transmission_id\":\"\(id)\"") == true)
        #expect(responses.last?["status"] as? Int == 404)
    }
}
