import MoQWire
import NIOCore
import Testing

/// Every byte sequence captured from the reference (moq-lite.md sections 3.4 and 6) decodes to the
/// expected value, and our encoder produces exactly those bytes.
struct CaptureTests {
    static let demo = "demo"
    static let originHop: UInt64 = 0x0010_0725_3f81_e9ef
    static let serverHop: UInt64 = 2_206_611_092_851_342
    static let relayHop: UInt64 = 5_297_507_824_519_782
    static let referenceHop: UInt64 = 0x1d_b6dc_64c0_a052

    // MARK: 3.4 SETUP

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func setupCaptures(version: MoQVersion) throws {
        try expectCapture(
            "01 19 03  05 08 c0 10 07 25 3f 81 e9 ef  02 09 2f 72 6f 6f 6d 3f 78 3d 31  01 01 01",
            uni: .setup,
            Setup(parameters: [.origin(Self.originHop), .path("/room?x=1"), .probe(1)]),
            version
        )
        try expectCapture(
            "01 0e 02 05 08 c0 07 d6 e6 ae 58 ca 8e 01 01 01",
            uni: .setup,
            Setup(parameters: [.origin(Self.serverHop), .probe(1)]),
            version
        )
        try expectCapture("01 05 01 05 02 43 09", uni: .setup, Setup(parameters: [.origin(777)]), version)
        try expectCapture("01 01 00", uni: .setup, Setup(), version)
        // Section 6.13: the from-scratch server's and the reference client's SETUP.
        try expectCapture(
            "01 0e 02 05 08 c0 0a ec aa 1a d0 ac 11 01 01 01",
            uni: .setup,
            Setup(parameters: [.origin(0x0a_ecaa_1ad0_ac11), .probe(1)]),
            version
        )
        try expectCapture(
            "01 11 03 02 01 2f 01 01 01 05 08 c0 1a a3 96 dc 8d bc 17",
            uni: .setup,
            Setup(parameters: [.path("/"), .probe(1), .origin(0x1a_a396_dc8d_bc17)]),
            version
        )
    }

    @Test func setupAccessors() throws {
        var buffer = bytes("19 03  05 08 c0 10 07 25 3f 81 e9 ef  02 09 2f 72 6f 6f 6d 3f 78 3d 31  01 01 01")
        let setup = try #require(try Setup.decode(from: &buffer, version: .lite06))
        #expect(setup.origin == Self.originHop)
        #expect(setup.path == "/room?x=1")
        #expect(setup.probe == 1)
        #expect(setup.role == nil)
        #expect(setup.cost == nil)
    }

    // MARK: 6.1 ANNOUNCE_REQUEST, 6.2 ANNOUNCE_OK, 6.3 announcements

    @Test func announceRequestCaptures() throws {
        try expectCapture("01 | 01 00", bidi: .announce, AnnounceRequest(prefix: ""), .lite06)
        for version in [MoQVersion.lite04, .lite05] {
            try expectCapture("01 | 02 00 00", bidi: .announce, AnnounceRequest(prefix: ""), version)
            try expectCapture(
                "01 | 09 00 c0 1d b6 dc 64 c0 a0 52",
                bidi: .announce,
                AnnounceRequest(prefix: "", excludeHop: Self.referenceHop),
                version
            )
        }
    }

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func announceOKCapture(version: MoQVersion) throws {
        #expect(Self.serverHop == 0x7_d6e6_ae58_ca8e)
        try expectCapture("09 c0 07 d6 e6 ae 58 ca 8e 01", AnnounceOK(hopID: Self.serverHop, activeCount: 1), version)
    }

    @Test func lite06AnnouncementCaptures() throws {
        try expectCapture(
            "00 08 04 64 65 6d 6f 00 00 00", Announce.start(suffix: "demo", hops: [], cost: 0, cold: 0), .lite06)
        try expectCapture(
            "00 15 09 72 6f 6f 6d 2f 63 61 6d 31 01 c0 12 d2 0e 28 13 4a 66 01 01",
            Announce.start(suffix: "room/cam1", hops: [Self.relayHop], cost: 1, cold: 1),
            .lite06
        )
        try expectCapture("02 05 00 01 2a 02 04", Announce.update(id: 0, hops: [42], cost: 2, cold: 4), .lite06)
        try expectCapture("01 01 00", Announce.end(id: 0), .lite06)
        try expectCapture("00 05 01 78 00 00 00", Announce.start(suffix: "x", hops: [], cost: 0, cold: 0), .lite06)
    }

    @Test func lite05AnnouncementCaptures() throws {
        try expectCapture(
            "07 01 04 63 61 6d 39 00", Announce.legacy(status: .active, suffix: "cam9", hops: []), .lite05)
        try expectCapture("04 00 01 78 00", Announce.legacy(status: .ended, suffix: "x", hops: []), .lite05)
    }

    @Test func lite04AnnouncementCaptures() throws {
        try expectCapture(
            "0f 01 04 64 65 6d 6f 01 c0 1d b6 dc 64 c0 a0 52",
            Announce.legacy(status: .active, suffix: "demo", hops: [Self.referenceHop]),
            .lite04
        )
        try expectCapture(
            "1c 01 09 72 6f 6f 6d 2f 63 61 6d 31 02 c0 12 d2 0e 28 13 4a 66 c0 1d b6 dc 64 c0 a0 52",
            Announce.legacy(status: .active, suffix: "room/cam1", hops: [Self.relayHop, Self.referenceHop]),
            .lite04
        )
        try expectCapture("07 00 04 63 61 6d 39 00", Announce.legacy(status: .ended, suffix: "cam9", hops: []), .lite04)
    }

    /// Section 6.13: ANNOUNCE_OK and the first START arrive back to back on one stream.
    @Test func announceStreamFromSessionCapture() throws {
        var stream = bytes("09 c0 0a ec aa 1a d0 ac 11 01 00 08 04 64 65 6d 6f 00 00 00")
        #expect(
            try AnnounceOK.decode(from: &stream, version: .lite06)
                == AnnounceOK(hopID: 0x0a_ecaa_1ad0_ac11, activeCount: 1))
        #expect(
            try Announce.decode(from: &stream, version: .lite06) == .start(suffix: "demo", hops: [], cost: 0, cold: 0))
        #expect(stream.readableBytes == 0)
    }

    // MARK: 6.4 TRACK / TRACK_INFO

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func trackRequestCapture(version: MoQVersion) throws {
        try expectCapture(
            "06 0a 04 64 65 6d 6f 04 64 61 74 61", bidi: .track, TrackRequest(broadcast: "demo", track: "data"), version
        )
    }

    @Test func trackInfoCaptures() throws {
        try expectCapture(
            "07 7f 53 88 80 0f 42 40", TrackInfo(priority: 127, maxLatencyMs: 5000, timescale: 1_000_000), .lite06)
        try expectCapture(
            "08 7f 00 53 88 80 0f 42 40",
            TrackInfo(priority: 127, ordered: false, maxLatencyMs: 5000, timescale: 1_000_000),
            .lite05
        )
    }

    // MARK: 6.5 SUBSCRIBE / SUBSCRIBE_UPDATE

    @Test func subscribeCaptures() throws {
        let subscribe = Subscribe(id: 0, broadcast: "demo", track: "data", priority: 0)
        try expectCapture(
            "02 11 00 04 64 65 6d 6f 04 64 61 74 61 00 00 00 00 00 00", bidi: .subscribe, subscribe, .lite06)
        for version in [MoQVersion.lite04, .lite05] {
            try expectCapture(
                "02 10 00 04 64 65 6d 6f 04 64 61 74 61 00 00 00 00 00", bidi: .subscribe, subscribe, version)
        }
    }

    @Test func subscribeUpdateCaptures() throws {
        try expectCapture("06 01 00 00 00 00 00", SubscribeUpdate(priority: 1), .lite06)
        for version in [MoQVersion.lite04, .lite05] {
            try expectCapture("05 01 00 00 00 00", SubscribeUpdate(priority: 1), version)
        }
    }

    /// Start group is a raw floor on lite-06 and "+1" before; end group and end frame are "+1".
    @Test func subscribeBoundsFollowTheVersionMapping() throws {
        let bounded = Subscribe(
            id: 1, broadcast: "b", track: "t", priority: 2, maxLatencyMs: 3,
            startGroup: 10, endGroup: 20, startFrame: 4, endFrame: 5
        )
        try expectCapture("0b 01 01 62 01 74 02 03 0a 15 04 06", bounded, .lite06)
        var older = bounded
        older.startFrame = 0
        older.endFrame = nil
        older.ordered = true
        try expectCapture("0a 01 01 62 01 74 02 01 03 0b 15", older, .lite05)
        try expectCapture("0a 01 01 62 01 74 02 01 03 0b 15", older, .lite04)
        try expectCapture(
            "05 02 01 03 0b 15",
            SubscribeUpdate(priority: 2, ordered: true, maxLatencyMs: 3, startGroup: 10, endGroup: 20), .lite04)
        try expectCapture(
            "06 02 03 0a 15 04 06",
            SubscribeUpdate(priority: 2, maxLatencyMs: 3, startGroup: 10, endGroup: 20, startFrame: 4, endFrame: 5),
            .lite06
        )
    }

    // MARK: 6.6 Subscribe responses

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func subscribeStartAndEndCaptures(version: MoQVersion) throws {
        try expectCapture("00 02 47 9d", SubscribeResponse.start(group: 1949), version)
        try expectCapture("01 01 03", SubscribeResponse.end(group: 3), version)
        try expectCapture("00 01 0e", SubscribeResponse.start(group: 14), version)
        try expectCapture("02 03 04 05 06", SubscribeResponse.drop(start: 4, end: 5, errorCode: 6), version)
    }

    @Test func lite04SubscribeOKCaptures() throws {
        let zeros = SubscribeResponse.ok(priority: 0, ordered: false, maxLatencyMs: 0, startGroup: nil, endGroup: nil)
        try expectCapture("00 05 00 00 00 00 00", zeros, .lite04)
        let echoed = SubscribeResponse.ok(priority: 1, ordered: false, maxLatencyMs: 0, startGroup: nil, endGroup: nil)
        try expectCapture("00 05 01 00 00 00 00", echoed, .lite04)
        try expectCapture("01 03 04 05 06", SubscribeResponse.drop(start: 4, end: 5, errorCode: 6), .lite04)
    }

    // MARK: 6.7 GROUP and frames

    @Test func groupHeaderCaptures() throws {
        try expectCapture("00 04 00 47 9d 00", uni: .group, GroupHeader(subscribeID: 0, sequence: 1949), .lite06)
        try expectCapture("00 03 00 0e 00", uni: .group, GroupHeader(subscribeID: 0, sequence: 14), .lite06)
        for version in [MoQVersion.lite04, .lite05] {
            try expectCapture("00 03 00 42 62", uni: .group, GroupHeader(subscribeID: 0, sequence: 0x262), version)
        }
    }

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func timestampedFrameCaptures(version: MoQVersion) throws {
        // Group stream (6.7, 6.13) and FETCH response (6.8) frames: delta, size 64, then the payload.
        let frames: [(String, Int64)] = [
            ("97 bc 72 08 40 40", 199_112_964), ("80 00 9e fc 40 40", 20_350),
            ("80 2b 3b dc 40 40", 1_416_686), ("80 00 9e 28 40 40", 20_244),
            ("80 09 4f 04 40 40", 305_026), ("80 00 9d cc 40 40", 20_198),
        ]
        for (capture, delta) in frames {
            try expectCapture(capture, FrameHeader(timestampDelta: delta, size: 64), version)
        }
    }

    @Test func lite04FrameCapture() throws {
        try expectCapture("40 40", FrameHeader(size: 64), .lite04)
    }

    /// A group stream as the reference sends it: stream type, header, then frames with payloads.
    @Test func wholeGroupStream() throws {
        let payload = ByteBuffer(repeating: 0xab, count: 64)
        var stream = bytes("00 04 00 47 9d 00 97 bc 72 08 40 40")
        stream.writeImmutableBuffer(payload)
        stream.writeImmutableBuffer(bytes("80 00 9e fc 40 40"))
        stream.writeImmutableBuffer(payload)
        #expect(try UniStreamType.decode(from: &stream, version: .lite06) == .group)
        #expect(try GroupHeader.decode(from: &stream, version: .lite06) == GroupHeader(subscribeID: 0, sequence: 1949))
        var timestamp: Int64 = 0
        while stream.readableBytes > 0 {
            let header = try #require(try FrameHeader.decode(from: &stream, version: .lite06))
            timestamp += header.timestampDelta
            #expect(stream.readSlice(length: Int(header.size)) == payload)
        }
        #expect(timestamp == 199_112_964 + 20_350)
    }

    // MARK: 6.8 FETCH, 6.10 DATAGRAM, 6.11 PROBE

    @Test func fetchCapture() throws {
        try expectCapture(
            "03 0e 04 64 65 6d 6f 04 64 61 74 61 00 03 00 00",
            bidi: .fetch,
            Fetch(broadcast: "demo", track: "data", priority: 0, group: 3),
            .lite06
        )
        for version in [MoQVersion.lite04, .lite05] {
            try expectCapture(
                "03 0c 04 64 65 6d 6f 04 64 61 74 61 00 03",
                bidi: .fetch,
                Fetch(broadcast: "demo", track: "data", priority: 0, group: 3),
                version
            )
        }
    }

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func datagramCapture(version: MoQVersion) throws {
        let datagram = Datagram(subscribeID: 7, group: 2, timestamp: 2000, payload: ByteBuffer(string: "DGRAM2"))
        let capture = bytes("07 02 47 d0 44 47 52 41 4d 32")
        #expect(try Datagram.decode(capture, version: version) == datagram)
        var buffer = ByteBuffer()
        datagram.encode(into: &buffer, version: version)
        #expect(buffer == capture)
    }

    @Test(arguments: MoQVersion.allCases)
    func probeCaptures(version: MoQVersion) throws {
        var typeOnly = bytes("04")
        #expect(try BidiStreamType.decode(from: &typeOnly, version: version) == .probe)
        try expectCapture("05 83 58 e6 5f 01", Probe(bitrate: 56_157_791, rttMs: 1), version)
        try expectCapture("05 80 4c 4b 40 01", Probe(bitrate: 5_000_000, rttMs: 1), version)
    }

    @Test(arguments: MoQVersion.allCases)
    func goawayEncoding(version: MoQVersion) throws {
        try expectCapture("05 | 01 00", bidi: .goaway, Goaway(), version)
        try expectCapture("05 | 04 03 61 2f 62", bidi: .goaway, Goaway(newSessionURI: "a/b"), version)
    }

    // MARK: Helpers

    private func expectCapture<Message: MoQMessage>(
        _ capture: String,
        _ expected: Message,
        _ version: MoQVersion,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let captured = bytes(capture)
        var input = captured
        let decoded = try Message.decode(from: &input, version: version, limits: .standard)
        #expect(decoded == expected, "\(version) decode of \(capture)", sourceLocation: sourceLocation)
        #expect(input.readableBytes == 0, "\(version) left bytes of \(capture)", sourceLocation: sourceLocation)
        let ours = encoded(expected, version)
        #expect(
            ours == captured, "\(version) encoded \(hex(ours)), captured \(capture)", sourceLocation: sourceLocation)
    }

    private func expectCapture<Message: MoQMessage>(
        _ capture: String,
        bidi type: BidiStreamType,
        _ expected: Message,
        _ version: MoQVersion,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var stream = bytes(capture)
        #expect(try BidiStreamType.decode(from: &stream, version: version) == type, sourceLocation: sourceLocation)
        var ourType = ByteBuffer()
        type.encode(into: &ourType, version: version)
        #expect(ourType == bytes(capture).getSlice(at: 0, length: 1), sourceLocation: sourceLocation)
        try expectCapture(hex(stream), expected, version, sourceLocation: sourceLocation)
    }

    private func expectCapture<Message: MoQMessage>(
        _ capture: String,
        uni type: UniStreamType,
        _ expected: Message,
        _ version: MoQVersion,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var stream = bytes(capture)
        #expect(try UniStreamType.decode(from: &stream, version: version) == type, sourceLocation: sourceLocation)
        var ourType = ByteBuffer()
        type.encode(into: &ourType, version: version)
        #expect(ourType == bytes(capture).getSlice(at: 0, length: 1), sourceLocation: sourceLocation)
        try expectCapture(hex(stream), expected, version, sourceLocation: sourceLocation)
    }
}
