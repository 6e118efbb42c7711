import Crypto
import L7RTCP
import Testing

/// Header grammar, feature negotiation, ids and tokens (§3.2, §3.3, §3.8) without any server.
@Suite struct GrammarTests {
    static func headers(_ values: [String: String]) -> (String) -> String? {
        let lowered = Dictionary(uniqueKeysWithValues: values.map { ($0.key.lowercased(), $0.value) })
        return { lowered[$0.lowercased()] }
    }

    static let readme: [String: String] = [
        "X-Client-ID": "cli-123",
        "X-Features-Supported": "core,resend,ttl,multistream,pull,backpressure,pause,fec,metrics,stateless",
        "X-Session-Type": "stateful",
        "X-Streams": "video;res=480,audio;lang=en",
        "X-TTL": "3600",
        "X-Chunk-Size": "1024",
        "X-Max-Packet-Size": "4096",
    ]

    @Test func initParsesTheReadmeExample() throws {
        let request = try InitRequest.parse(Self.headers(Self.readme)).get()
        #expect(request.clientID == "cli-123")
        #expect(request.streams.map(\.id) == ["video;res=480", "audio;lang=en"])
        #expect(request.ttl == 3600 && request.chunkSize == 1024 && request.maxPacketSize == 4096)
        #expect(request.sessionType == .stateful)
    }

    @Test func missingAndMalformedInitHeaders() {
        for name in ["X-Client-ID", "X-Features-Supported", "X-Session-Type"] {
            var values = Self.readme
            values[name] = nil
            guard case .failure(let error) = InitRequest.parse(Self.headers(values)) else {
                Issue.record("accepted without \(name)")
                continue
            }
            #expect(error == .missingHeader(name) && error.status == 422)
            #expect(
                error.jsonBody.contains("\"type\":\"missing\"")
                    && error.jsonBody.contains("\"error\":\"missing_header\""))
        }
        let cases: [(String, String, Int)] = [
            ("X-Session-Type", "sometimes", 400), ("X-TTL", "abc", 422), ("X-TTL", "-5", 422), ("X-TTL", "0", 422),
            ("X-TTL", "604801", 422), ("X-Chunk-Size", "63", 422), ("X-Chunk-Size", "16777217", 422),
            ("X-Chunk-Size", "99999999999", 422), ("X-Max-Packet-Size", "1e3", 422), ("X-Client-ID", "bad id!", 422),
            ("X-Streams", "video;res", 422), ("X-Streams", "", 422), ("X-L7RTCP-Version", "2", 400),
            ("X-Features-Supported", "core,BAD", 422),
        ]
        for (name, value, status) in cases {
            var values = Self.readme
            values[name] = value
            guard case .failure(let error) = InitRequest.parse(Self.headers(values)) else {
                Issue.record("accepted \(name): \(value)")
                continue
            }
            #expect(error.status == status, "\(name): \(value) gave \(error)")
            #expect(error.jsonBody.contains("\"detail\":"))
        }
    }

    @Test func featuresNegotiateInCanonicalOrderIgnoringUnknown() {
        #expect(Feature.negotiate(["pull", "bogus", "resend", "fec"]) == [.core, .resend, .pull])
        #expect(Feature.headerValue(Feature.negotiate([])) == "core")
    }

    @Test func transmitHeaderCombinations() {
        let base = ["X-Transmission-ID": "tx-x"]
        func parse(_ extra: [String: String]) -> Result<TransmitRequest, L7RTCPError> {
            TransmitRequest.parse(Self.headers(base.merging(extra) { $1 }))
        }
        if case .failure(let error) = parse(["X-Stream-ID": "video"]) {
            #expect(error.status == 400 && error.detail.contains("X-Packet-ID"))
        } else {
            Issue.record("pull without X-Packet-ID accepted")
        }
        for bad in ["-1", "abc", "9007199254740992", "12345678901234567", ""] {
            guard case .failure(let error) = parse(["X-Stream-ID": "v", "X-Packet-ID": bad]) else {
                Issue.record("packet id \(bad) accepted")
                continue
            }
            #expect(error.status == 422)
        }
        #expect(
            (try? parse(["X-Stream-ID": "v", "X-Packet-ID": "9007199254740991"]).get())
                == .pull(transmission: "tx-x", stream: "v", packet: 9_007_199_254_740_991, waitMs: 0))
        // Control wins over a pull.
        let control = try? parse(["X-Stream-Control": "video;res=480=pause, audio;lang=en=resume", "X-Stream-ID": "v"])
            .get()
        #expect(
            control
                == .control(
                    transmission: "tx-x",
                    StreamControl(items: [
                        .init(stream: "video;res=480", command: .pause),
                        .init(stream: "audio;lang=en", command: .resume),
                    ])))
        if case .failure(let error) = parse(["X-Stream-Control": "video=explode"]) {
            #expect(error == .badStreamControl(item: "video=explode"))
        } else {
            Issue.record("bad control accepted")
        }
    }

    @Test func transmissionIDsAreUUIDv7() {
        var seen = Set<String>()
        for _ in 0..<100 {
            let id = TransmissionID.make(milliseconds: 1_795_290_000_000)
            #expect(TransmissionID.isValid(id), "\(id)")
            #expect(id.count == 39 && id.hasPrefix("tx-01"))
            seen.insert(id)
        }
        #expect(seen.count == 100)
        #expect(!TransmissionID.isValid("tx-01a1ffa0030c01e619ed3643f3835"))
    }

    @Test func statelessTokensVerifyAndRejectTampering() throws {
        let key = SymmetricKey(size: .bits256)
        let token = StatelessToken(
            uuid: TransmissionID.make(milliseconds: 1), clientID: "c", streams: ["video;broadcast=a"],
            features: [.core, .pull, .stateless], chunkSize: 1024, maxPacketSize: 4096, ttl: 60, createdAt: 10,
            anchors: [.init(feed: 7, base: 3)])
        let text = token.encode(key: key)
        #expect(StatelessToken.decode(text, key: key) == token)
        #expect(StatelessToken.decode(text, key: SymmetricKey(size: .bits256)) == nil)
        var bytes = Array(text.utf8)
        bytes[50] = bytes[50] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(StatelessToken.decode(String(decoding: bytes, as: UTF8.self), key: key) == nil)
        #expect(StatelessToken.decode("tx-nope", key: key) == nil)
    }

    @Test func streamsMapOntoTracks() throws {
        #expect(TrackSource(StreamSpec("ntrip;mount=GMSD7")!) == TrackSource(broadcast: "ntrip/GMSD7", track: "rtcm"))
        #expect(
            TrackSource(StreamSpec("video;broadcast=room/cam1;res=480")!)
                == TrackSource(broadcast: "room/cam1", track: "video"))
        #expect(TrackSource(StreamSpec("room/cam1/video")!) == TrackSource(broadcast: "room/cam1", track: "video"))
        #expect(TrackSource(StreamSpec("video;res=480")!) == TrackSource(broadcast: "l7rtcp", track: "video"))
        #expect(StreamSpec("bad name") == nil && StreamSpec("a;=b") == nil)
    }
}

/// Replay protection (§3.10) as a value type.
@Suite struct ReplayGuardTests {
    @Test func staleTimestampsAndReusedNoncesAreRefused() {
        var guardian = ReplayGuard(capacity: 3)
        #expect(guardian.admit(timestamp: "1000", nonce: nil, now: 1200) == nil)
        #expect(guardian.admit(timestamp: "1000", nonce: nil, now: 1301) == .staleRequest)
        #expect(guardian.admit(timestamp: "x", nonce: nil, now: 1000)?.status == 422)
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA"
        #expect(guardian.admit(timestamp: nil, nonce: nonce, now: 1000) == nil)
        #expect(guardian.admit(timestamp: nil, nonce: nonce, now: 1500) == .replayedRequest)
        #expect(guardian.admit(timestamp: nil, nonce: nonce, now: 1601) == nil)  // forgotten after 600 s
        #expect(guardian.admit(timestamp: nil, nonce: "short", now: 1601)?.status == 422)
        // Past the capacity the oldest nonces are forgotten first.
        for index in 0..<4 {
            #expect(guardian.admit(timestamp: nil, nonce: "nonce-\(index)-aaaaaaaaaaaa", now: 1602) == nil)
        }
        #expect(guardian.admit(timestamp: nil, nonce: "nonce-3-aaaaaaaaaaaa", now: 1603) == .replayedRequest)
    }
}
