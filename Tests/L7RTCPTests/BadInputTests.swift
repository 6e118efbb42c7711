import Foundation
import TestSupport
import Testing

/// Bad input against a running relay: each gets its specified status and a JSON error, and the
/// transmission's state does not change.
@Suite(.serialized) struct BadInputTests {
    @Test func badRequestsGetTheSpecifiedStatusAndChangeNothing() async throws {
        let relay = try await TestRelay.start()
        let publisher = try await relay.publish("l7rtcp", tracks: ["video", "audio"], frameSize: 300)
        defer { publisher.closeInput() }
        let created = try await relay.exchange("POST", "/l7rtcp/init", readmeInit)
        let id = try #require(created.headers["x-transmission-id"])
        let pull = ["X-Transmission-ID": id, "X-Stream-ID": "video;res=480", "X-Wait-Ms": "5000"]
        #expect(
            try await relay.exchange("POST", "/l7rtcp/transmit", pull.merging(["X-Packet-ID": "0"]) { $1 }).status
                == 209)
        let before = try await relay.exchange("GET", "/l7rtcp/status/\(id)?compact=1")

        func expectError(
            _ method: String, _ path: String, _ headers: [String: String], body: String? = nil, status: Int,
            error: String, sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let reply = try await relay.exchange(method, path, headers, body: body)
            #expect(reply.status == status, "\(headers) \(body ?? ""): \(reply.text)", sourceLocation: sourceLocation)
            #expect(reply.json["error"] as? String == error, "\(reply.text)", sourceLocation: sourceLocation)
            #expect(reply.json["detail"] != nil, sourceLocation: sourceLocation)
            #expect(reply.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
        }

        // init: missing and malformed headers, sizes out of range, streams.
        for name in ["X-Client-ID", "X-Features-Supported", "X-Session-Type"] {
            var headers = readmeInit
            headers[name] = nil
            try await expectError("POST", "/l7rtcp/init", headers, status: 422, error: "missing_header")
        }
        for (name, value) in [
            ("X-Chunk-Size", "16"), ("X-Chunk-Size", "16777217"), ("X-Chunk-Size", "-1"), ("X-Chunk-Size", "abc"),
            ("X-Max-Packet-Size", "8"), ("X-TTL", "0"), ("X-TTL", "99999999999"), ("X-Client-ID", "a b"),
            ("X-Streams", "video;res"),
        ] {
            var headers = readmeInit
            headers[name] = value
            try await expectError("POST", "/l7rtcp/init", headers, status: 422, error: "invalid_header")
        }
        var session = readmeInit
        session["X-Session-Type"] = "sometimes"
        try await expectError("POST", "/l7rtcp/init", session, status: 400, error: "invalid_session_type")
        var version = readmeInit
        version["X-L7RTCP-Version"] = "2"
        try await expectError("POST", "/l7rtcp/init", version, status: 400, error: "unsupported_version")
        var single = readmeInit
        single["X-Features-Supported"] = "core,pull"
        try await expectError("POST", "/l7rtcp/init", single, status: 400, error: "multistream_not_enabled")
        var missingStream = readmeInit
        missingStream["X-Streams"] = "video;broadcast=nowhere"
        try await expectError("POST", "/l7rtcp/init", missingStream, status: 404, error: "unknown_stream")

        // transmit: packet ids, headers, unknown ids and streams.
        for bad in ["-1", "abc", "1.5", "9007199254740992", "99999999999999999999"] {
            try await expectError(
                "POST", "/l7rtcp/transmit", pull.merging(["X-Packet-ID": bad]) { $1 }, status: 422,
                error: "invalid_header")
        }
        try await expectError(
            "POST", "/l7rtcp/transmit", pull.merging(["X-Packet-ID": "1", "X-Wait-Ms": "99999"]) { $1 }, status: 422,
            error: "invalid_header")
        try await expectError(
            "POST", "/l7rtcp/transmit", ["X-Transmission-ID": id], status: 400, error: "missing_header")
        try await expectError(
            "POST", "/l7rtcp/transmit", ["X-Stream-ID": "video;res=480", "X-Packet-ID": "1"], status: 422,
            error: "missing_header")
        try await expectError(
            "POST", "/l7rtcp/transmit", pull.merging(["X-Packet-ID": "1", "X-Transmission-ID": "tx-unknown"]) { $1 },
            status: 404, error: "transmission_not_found")
        try await expectError(
            "POST", "/l7rtcp/transmit", pull.merging(["X-Packet-ID": "1", "X-Stream-ID": "zzz"]) { $1 },
            status: 400, error: "unknown_stream")
        try await expectError(
            "POST", "/l7rtcp/transmit", ["X-Transmission-ID": id, "X-Stream-Control": "video;res=480=explode"],
            status: 400, error: "bad_stream_control")
        try await expectError(
            "POST", "/l7rtcp/transmit",
            ["X-Transmission-ID": id, "X-Stream-Control": "video;res=480=pause,zzz=pause"], status: 400,
            error: "bad_stream_control")
        // A forged stateless id.
        try await expectError(
            "POST", "/l7rtcp/transmit",
            pull.merging(["X-Packet-ID": "1", "X-Transmission-ID": "tx-01a200fb-0000-7000-8000-000000000000.e30.AAAA"])
            {
                $1
            }, status: 404, error: "transmission_not_found")

        // resend: unknown id, unknown stream, malformed body, too many ids.
        let many = "[" + (0..<1025).map(String.init).joined(separator: ",") + "]"
        try await expectError(
            "POST", "/l7rtcp/resend/tx-unknown", [:], body: #"{"stream":"video;res=480","chunks":[0]}"#, status: 404,
            error: "transmission_not_found")
        try await expectError(
            "POST", "/l7rtcp/resend/\(id)", [:], body: #"{"stream":"zzz","chunks":[0]}"#, status: 400,
            error: "unknown_stream")
        for body in [#"{"stream":"video;res=480"}"#, #"{"stream":"video;res=480","chunks":[-1]}"#, "not json"] {
            try await expectError("POST", "/l7rtcp/resend/\(id)", [:], body: body, status: 422, error: "invalid_body")
        }
        try await expectError(
            "POST", "/l7rtcp/resend/\(id)", [:], body: #"{"stream":"video;res=480","chunks":\#(many)}"#, status: 400,
            error: "too_many_chunks")

        // Replayed and stale mutating requests (§3.10).
        let nonce = ["X-Request-Nonce": "bm9uY2Utb2YtdGhlLXRlc3Q"]
        let control = ["X-Transmission-ID": id, "X-Stream-Control": "audio;lang=en=pause"]
        #expect(try await relay.exchange("POST", "/l7rtcp/transmit", control.merging(nonce) { $1 }).status == 200)
        try await expectError(
            "POST", "/l7rtcp/transmit", control.merging(nonce) { $1 }, status: 409, error: "replayed_request")
        try await expectError(
            "POST", "/l7rtcp/init", readmeInit.merging(nonce) { $1 }, status: 409, error: "replayed_request")
        try await expectError(
            "POST", "/l7rtcp/resend/\(id)", nonce, body: #"{"stream":"video;res=480","chunks":[0]}"#, status: 409,
            error: "replayed_request")
        try await expectError(
            "POST", "/l7rtcp/init", readmeInit.merging(["X-Request-Timestamp": "1000"]) { $1 }, status: 400,
            error: "stale_request")
        _ = try await relay.exchange(
            "POST", "/l7rtcp/transmit", ["X-Transmission-ID": id, "X-Stream-Control": "audio;lang=en=resume"])

        // Nothing changed: the same status document (compact ranges), the stream still active.
        let after = try await relay.exchange("GET", "/l7rtcp/status/\(id)?compact=1")
        let streams = { (reply: HTTPExchange) in reply.json["streams"] as? [String: [String: Any]] ?? [:] }
        #expect(streams(after)["video;res=480"]?["received"] as? [[Int]] == [[0, 0]])
        #expect(streams(after)["video;res=480"]?["state"] as? String == "active")
        #expect(streams(after)["audio;lang=en"]?["state"] as? String == "active")
        #expect(
            streams(after)["video;res=480"]?["received"] as? [[Int]]
                == streams(before)["video;res=480"]?["received"] as? [[Int]])
    }
}
