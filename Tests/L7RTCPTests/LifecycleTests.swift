import Foundation
import TestSupport
import Testing

/// Transmission lifecycle against a running relay: pause/resume/cancel, TTL expiry, multistream,
/// long-poll 204, backpressure's 503, stateless ids, metrics.
@Suite(.serialized) struct LifecycleTests {
    func pull(_ relay: TestRelay, _ id: String, _ stream: String, _ packet: Int, wait: Int = 5000) async throws
        -> HTTPExchange
    {
        try await relay.exchange(
            "POST", "/l7rtcp/transmit",
            ["X-Transmission-ID": id, "X-Stream-ID": stream, "X-Packet-ID": String(packet), "X-Wait-Ms": String(wait)])
    }

    func control(_ relay: TestRelay, _ id: String, _ value: String) async throws -> HTTPExchange {
        try await relay.exchange("POST", "/l7rtcp/transmit", ["X-Transmission-ID": id, "X-Stream-Control": value])
    }

    @Test func pauseResumeCancelAndMultistream() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let created = try await relay.exchange("POST", "/l7rtcp/init", readmeInit)
        let id = try #require(created.headers["x-transmission-id"])
        #expect(try await pull(relay, id, "video;res=480", 0).status == 209)
        #expect(try await pull(relay, id, "audio;lang=en", 0).status == 209)

        #expect(try await control(relay, id, "video;res=480=pause").status == 200)
        let paused = try await pull(relay, id, "video;res=480", 1)
        #expect(paused.status == 409 && paused.json["error"] as? String == "stream_paused")
        // The other stream goes on.
        #expect(try await pull(relay, id, "audio;lang=en", 1).status == 209)
        #expect(try await control(relay, id, "video;res=480=pause").status == 200)  // idempotent
        #expect(try await control(relay, id, "video;res=480=resume").status == 200)
        #expect(try await pull(relay, id, "video;res=480", 1).status == 209)

        let cancelled = try await control(relay, id, "audio;lang=en=cancel")
        #expect(cancelled.text.contains("\"state\":\"cancelled\""))
        let gone = try await pull(relay, id, "audio;lang=en", 2)
        #expect(gone.status == 410 && gone.json["error"] as? String == "stream_cancelled")
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        let streams = status.json["streams"] as? [String: [String: Any]]
        #expect(streams?["audio;lang=en"]?["state"] as? String == "cancelled")
        #expect(streams?["video;res=480"]?["received"] as? [Int] == [0, 1])

        // Without the pause feature, pause is refused but cancel is allowed.
        var plain = readmeInit
        plain["X-Features-Supported"] = "core,pull"
        plain["X-Streams"] = "video;res=480"
        let other = try #require(try await relay.exchange("POST", "/l7rtcp/init", plain).headers["x-transmission-id"])
        let refused = try await control(relay, other, "video;res=480=pause")
        #expect(refused.status == 409 && refused.json["error"] as? String == "feature_not_enabled")
        #expect(try await control(relay, other, "video;res=480=cancel").status == 200)
    }

    @Test func ntripMountIsAStream() async throws {
        let relay = try await TestRelay.start()
        // Any moq-lite peer may publish a mount: broadcast ntrip/M, track rtcm.
        let publisher = try await relay.publish("ntrip/GMSD7", tracks: ["rtcm"], frameSize: 200)
        defer { publisher.closeInput() }
        let created = try await relay.exchange(
            "POST", "/l7rtcp/init",
            [
                "X-Client-ID": "rover", "X-Features-Supported": "core,pull", "X-Session-Type": "stateful",
                "X-Streams": "ntrip;mount=GMSD7", "X-Chunk-Size": "512",
            ])
        let id = try #require(created.headers["x-transmission-id"])
        let chunk = try await pull(relay, id, "ntrip;mount=GMSD7", 0)
        // Whole frames only: two 200-byte frames fit in 512, a third would not.
        #expect(chunk.status == 209 && chunk.body.count == 400)
        #expect(
            Array(chunk.body.prefix(200))
                == ReferencePayload.make(
                    group: UInt64(String(decoding: chunk.body[1..<9], as: UTF8.self)) ?? 0, frame: 0, size: 200))
    }

    @Test func theLastChunkOfAnEndedTrackIs200() async throws {
        let relay = try await TestRelay.start(["--l7rtcp-source-grace", "1"])
        // Three groups, written once the relay subscribes, then the track finishes.
        let publisher = try await relay.publish(
            "l7rtcp", tracks: ["video"], groups: 3, frameSize: 300,
            extra: ["--wait-subscriber", "--hold-seconds", "0.5"])
        defer { publisher.closeInput() }
        var headers = readmeInit
        headers["X-Streams"] = "video"
        let id = try #require(try await relay.exchange("POST", "/l7rtcp/init", headers).headers["x-transmission-id"])
        #expect(try await pull(relay, id, "video", 0).status == 209)
        // Once the end is known, the last chunk answers 200 with the total, and past it 410 stream_complete.
        try await waitUntil(timeout: .seconds(15)) { try await pull(relay, id, "video", 2, wait: 0).status == 200 }
        let last = try await pull(relay, id, "video", 2, wait: 0)
        #expect(last.status == 200 && last.headers["x-total-chunks"] == "3" && last.body.count == 900)
        let past = try await pull(relay, id, "video", 3, wait: 0)
        #expect(
            past.status == 410 && past.json["error"] as? String == "stream_complete" && past.json["total"] as? Int == 3)
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        let stream = (status.json["streams"] as? [String: [String: Any]])?["video"]
        #expect(stream?["state"] as? String == "complete" && stream?["total"] as? Int == 3)
        #expect(status.json["alive"] as? Bool == false)
    }

    @Test func ttlExpiresTheTransmission() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        var headers = readmeInit
        headers["X-TTL"] = "1"
        let id = try #require(try await relay.exchange("POST", "/l7rtcp/init", headers).headers["x-transmission-id"])
        #expect(try await pull(relay, id, "video;res=480", 0).status == 209)
        try await Task.sleep(for: .milliseconds(1600))
        let expired = try await pull(relay, id, "video;res=480", 1)
        #expect(expired.status == 410 && expired.json["error"] as? String == "transmission_expired")
        #expect(try await control(relay, id, "video;res=480=pause").status == 410)
        let resend = try await relay.exchange(
            "POST", "/l7rtcp/resend/\(id)", body: #"{"stream":"video;res=480","chunks":[0]}"#)
        #expect(resend.status == 410)
        var resume = readmeInit
        resume["X-Transmission-ID"] = id
        #expect(try await relay.exchange("POST", "/l7rtcp/init", resume).status == 410)
        // Status still answers during the grace period, with alive:false.
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        #expect(status.status == 200 && status.json["alive"] as? Bool == false)
    }

    @Test func longPollAnswers204WhenNothingIsProduced() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let id = try #require(
            try await relay.exchange("POST", "/l7rtcp/init", readmeInit).headers["x-transmission-id"])
        let start = ContinuousClock.now
        let ahead = try await pull(relay, id, "video;res=480", 100_000, wait: 300)
        #expect(ahead.status == 204 && ahead.headers["retry-after"] != nil)
        #expect(ahead.headers["x-next-packet-id"] == "100000")
        #expect(ContinuousClock.now - start >= .milliseconds(250))
    }

    @Test func ignoringStopGets503WithRetryAfter() async throws {
        // One request in flight is the whole budget, so every pull's advice is `stop`.
        let relay = try await TestRelay.start(["--l7rtcp-max-in-flight", "1"])
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let id = try #require(
            try await relay.exchange("POST", "/l7rtcp/init", readmeInit).headers["x-transmission-id"])
        let first = try await pull(relay, id, "video;res=480", 0)
        #expect(first.status == 209 && first.headers["x-backpressure-advice"] == "stop")
        #expect(first.headers["retry-after"] == "1")
        let ignored = try await pull(relay, id, "video;res=480", 1)
        #expect(ignored.status == 503 && ignored.json["error"] as? String == "overloaded")
        #expect(ignored.headers["retry-after"] == "1")
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await pull(relay, id, "video;res=480", 1).status == 209)
        // Without the backpressure feature the advice stays the PoC's `low` and nothing is refused.
        var plain = readmeInit
        plain["X-Features-Supported"] = "core,pull"
        plain["X-Streams"] = "video;res=480"
        let other = try #require(try await relay.exchange("POST", "/l7rtcp/init", plain).headers["x-transmission-id"])
        #expect(try await pull(relay, other, "video;res=480", 0).headers["x-backpressure-advice"] == "low")
        #expect(try await pull(relay, other, "video;res=480", 1).status == 209)
    }

    @Test func statelessIdsCarryEverything() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        var headers = readmeInit
        headers["X-Session-Type"] = "stateless"
        let created = try await relay.exchange("POST", "/l7rtcp/init", headers)
        let id = try #require(created.headers["x-transmission-id"])
        #expect(id.hasPrefix("tx-") && id.split(separator: ".").count == 3)
        #expect(created.headers["x-features-enabled"]?.contains("stateless") == true)
        #expect(created.headers["x-session-type"] == "stateless")
        #expect(try await pull(relay, id, "video;res=480", 0).status == 209)
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        #expect(
            status.json["session_type"] as? String == "stateless" && status.json["client_id"] as? String == "cli-123")
        var resume = headers
        resume["X-Transmission-ID"] = id
        #expect(try await relay.exchange("POST", "/l7rtcp/init", resume).headers["x-resumed"] == "true")
        resume["X-Client-ID"] = "intruder"
        #expect(try await relay.exchange("POST", "/l7rtcp/init", resume).status == 403)
        // Any change to the id breaks its signature.
        let forged = id.replacingOccurrences(of: "\"ttl\"", with: "\"ttl\"") + "x"
        #expect(try await pull(relay, forged, "video;res=480", 0).status == 404)
    }

    @Test func metricsCountWhatHappened() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let id = try #require(
            try await relay.exchange("POST", "/l7rtcp/init", readmeInit).headers["x-transmission-id"])
        for packet in 0..<3 { _ = try await pull(relay, id, "video;res=480", packet) }
        _ = try await relay.exchange("GET", "/l7rtcp/status/tx-unknown")
        let metrics = try await httpGet(relay.http + "/l7rtcp/metrics")
        #expect(metrics.contains("l7rtcp_chunks_served_total 3"))
        #expect(metrics.contains("l7rtcp_bytes_served_total 2700"))
        #expect(metrics.contains("l7rtcp_responses_total{code=\"209\"} 3"))
        #expect(metrics.contains("l7rtcp_responses_total{code=\"404\"} 1"))
        #expect(metrics.contains("l7rtcp_transmissions_active 1"))
        #expect(metrics.contains("# TYPE l7rtcp_queue_depth gauge"))
        // The relay's own /metrics carries them too (one scrape target per node).
        let relayMetrics = try await httpGet(relay.http + "/metrics")
        #expect(relayMetrics.contains("moq_relay_sessions ") && relayMetrics.contains("l7rtcp_chunks_served_total 3"))
    }
}
