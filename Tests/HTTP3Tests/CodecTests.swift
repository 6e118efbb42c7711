import NIOCore
import Testing

@testable import HTTP3

func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func buffer(_ hex: String) -> ByteBuffer { ByteBuffer(bytes: bytes(hex)) }

/// Huffman coding against RFC 7541 Appendix C.4 and C.6.
@Suite struct HuffmanTests {
    static let vectors: [(String, String)] = [
        ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
        ("no-cache", "a8eb 1064 9cbf"),
        ("custom-key", "25a8 49e9 5ba9 7d7f"),
        ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
        ("302", "6402"),
        ("private", "aec3 771a 4b"),
        ("Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"),
        ("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"),
    ]

    @Test(arguments: vectors) func rfc7541Examples(text: String, hex: String) throws {
        #expect(Huffman.encode(Array(text.utf8)) == bytes(hex))
        #expect(Huffman.encodedLength(of: Array(text.utf8)) == bytes(hex).count)
        #expect(try Huffman.decode(bytes(hex)) == Array(text.utf8))
    }

    @Test func everyByteRoundTrips() throws {
        let all = (0...255).map { UInt8($0) }
        #expect(try Huffman.decode(Huffman.encode(all)) == all)
        #expect(try Huffman.decode([]) == [])
    }

    @Test func badPaddingAndEOSAreRejected() {
        // "0" is 00000 (5 bits): padding must be ones.
        #expect(throws: HTTP3Error.self) { try Huffman.decode([0b0000_0000]) }
        // A whole byte of padding after a complete symbol ("a" = 00011 + 111, then 0xff) is over 7 bits.
        #expect(throws: HTTP3Error.self) { try Huffman.decode([0b0001_1111, 0xFF]) }
        // EOS (30 ones) in the data.
        #expect(throws: HTTP3Error.self) { try Huffman.decode([0xFF, 0xFF, 0xFF, 0xFF]) }
    }
}

/// QPACK field sections: RFC 9204 Appendix B, a browser-like CONNECT encoded by ls-qpack (pylsqpack),
/// dynamic references, the size limit and hostile input.
@Suite struct QPACKTests {
    /// pylsqpack 1.0.0's encoder output for `connectFields` (Huffman literals, static name references).
    static let lsqpackConnect = """
        0000cfd7508a089d5c0b8170dc69a699518a62c39e9ff3a784c038c92f00b95d8749c87a3f89f058d360ea4567b13f2f09f0\
        9587dc66a071d055abb0e9390f423f97fe693f65a8324ab01cfe7e94fe693f65a8324ab01afe7f5f4b8f9d29aee30c50720e\
        89ce84dc780f035f5099d07f66a281b0dae053fafc087ed4ce6aadf2a7979c89c6bfbf
        """
    static let connectFields: HTTP3Fields = [
        (":method", "CONNECT"), (":scheme", "https"), (":authority", "127.0.0.1:4443"), (":path", "/room?jwt=abc"),
        (":protocol", "webtransport"), ("wt-available-protocols", "\"moq-lite-06\", \"moq-lite-04\""),
        ("origin", "http://localhost:8080"), ("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
    ]

    @Test func rfc9204LiteralWithStaticNameReference() throws {
        let fields = try QPACKDecoder().decode(buffer("0000 510b 2f69 6e64 6578 2e68 746d 6c"))
        #expect(fields == [(":path", "/index.html")])
    }

    @Test func decodesLsqpackOutput() throws {
        #expect(try QPACKDecoder().decode(buffer(Self.lsqpackConnect)) == Self.connectFields)
    }

    @Test func encoderRoundTripsAndUsesTheStaticTable() throws {
        let encoded = QPACKEncoder.encode(Self.connectFields)
        #expect(try QPACKDecoder().decode(encoded) == Self.connectFields)
        // RIC 0, base 0, indexed :method CONNECT (15), indexed :scheme https (23): as the wtclient probe sent.
        #expect(Array(encoded.readableBytesView.prefix(4)) == [0x00, 0x00, 0xCF, 0xD7])
        let status = QPACKEncoder.encode([(":status", "200")])
        #expect(Array(status.readableBytesView) == [0x00, 0x00, 0xD9])
        let long = HTTP3Fields([("x-\(String(repeating: "n", count: 300))", String(repeating: "\u{1}", count: 5000))])
        #expect(try QPACKDecoder().decode(QPACKEncoder.encode(long)) == long)
    }

    @Test(arguments: [
        "0381 10 11",  // RFC 9204 B.2: Required Insert Count 2, post-base indexed lines
        "0000 80",  // indexed field line, dynamic table (T=0)
        "0000 40 00",  // literal with dynamic name reference (T=0)
        "0000 10",  // indexed with post-base index
        "0000 00 00",  // literal with post-base name reference
    ])
    func dynamicTableReferencesFail(hex: String) {
        #expect(
            throws: QPACKDecoder.Failure.protocolError(
                HTTP3Error(.qpackDecompressionFailed, "dynamic table reference (capacity is 0)"))
        ) {
            try QPACKDecoder().decode(buffer(hex))
        }
    }

    @Test func staticIndexOutOfRangeAndTruncationFail() {
        #expect(throws: QPACKDecoder.Failure.self) { try QPACKDecoder().decode(buffer("0000 ff24")) }  // index 99
        #expect(throws: QPACKDecoder.Failure.self) { try QPACKDecoder().decode(buffer("0000 5f")) }
        #expect(throws: QPACKDecoder.Failure.self) { try QPACKDecoder().decode(buffer("0000 2a 41")) }
    }

    @Test func sectionOverTheLimitIsTooLarge() throws {
        let fields = HTTP3Fields([("x-big", String(repeating: "a", count: 2000))])
        let encoded = QPACKEncoder.encode(fields)
        #expect(throws: QPACKDecoder.Failure.tooLarge) { try QPACKDecoder(maxFieldSectionSize: 1000).decode(encoded) }
        #expect(try QPACKDecoder(maxFieldSectionSize: 4000).decode(encoded) == fields)
    }

    @Test func truncatedAndRandomInputNeverCrashes() {
        let valid = bytes(Self.lsqpackConnect)
        for length in 0..<valid.count {
            _ = try? QPACKDecoder().decode(ByteBuffer(bytes: valid.prefix(length)))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<64, using: &generator)
            var random = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if random.count >= 2, Bool.random(using: &generator) { random[0] = 0; random[1] = 0 }
            _ = try? QPACKDecoder().decode(ByteBuffer(bytes: random))
            _ = try? Huffman.decode(random)
        }
    }
}

/// Frames, SETTINGS, capsules, error codes and the protocol lists.
@Suite struct FrameTests {
    @Test func settingsRoundTripWithEveryWebTransportCodepoint() throws {
        let settings = HTTP3Settings.webTransport(maxFieldSectionSize: 16384)
        var wire = HTTP3Frame.settings(settings).encoded()
        #expect(try HTTP3Frame.read(from: &wire, maxPayload: 1 << 16) == .settings(settings))
        #expect(wire.readableBytes == 0)
        for id: UInt64 in [0x08, 0x33, 0xffd277, 0x2b603742, 0x2b603743, 0xc671706a, 0x14e9cd29] {
            #expect(settings[id] != nil && settings[id]! > 0, "setting 0x\(String(id, radix: 16))")
        }
        #expect(settings[HTTP3Settings.ID.qpackMaxTableCapacity] == 0)
        #expect(settings.supportsWebTransport)
    }

    @Test func referenceSettingsDecode() throws {
        // moq-rs's control stream SETTINGS from the wtclient probe: {08=1, 2b603742=1, 33=1, c671706a=1, 2b603743=1, ffd277=1}.
        var payload = ByteBuffer()
        for (id, value): (UInt64, UInt64) in [
            (0x08, 1), (0x2b603742, 1), (0x33, 1), (0xc671706a, 1), (0x2b603743, 1), (0xffd277, 1),
        ] {
            payload.writeHTTP3Varint(id)
            payload.writeHTTP3Varint(value)
        }
        let settings = try HTTP3Settings.decode(payload)
        #expect(settings.supportsWebTransport && settings[0x08] == 1 && settings.parameters.count == 6)
    }

    @Test(arguments: [
        ("0801 0801", HTTP3ErrorCode.settingsError),  // repeated
        ("0200", HTTP3ErrorCode.settingsError),  // HTTP/2 SETTINGS_ENABLE_PUSH
        ("0000", HTTP3ErrorCode.settingsError),  // reserved 0x00
        ("08", HTTP3ErrorCode.frameError),  // truncated pair
        ("0840", HTTP3ErrorCode.frameError),  // truncated value varint
    ])
    func malformedSettings(hex: String, code: HTTP3ErrorCode) {
        #expect(throws: HTTP3Error.self) { try HTTP3Settings.decode(buffer(hex)) }
        do {
            _ = try HTTP3Settings.decode(buffer(hex))
        } catch {
            #expect(error.code == code)
        }
    }

    @Test func framesArriveInPieces() throws {
        var whole = ByteBuffer()
        HTTP3Frame.headers(ByteBuffer(bytes: [0, 0, 0xD9])).write(into: &whole)
        HTTP3Frame.data(ByteBuffer(string: "hello")).write(into: &whole)
        HTTP3Frame.goaway(8).write(into: &whole)
        HTTP3Frame.other(type: 0x21, payload: ByteBuffer(bytes: [1, 2])).write(into: &whole)
        var received = ByteBuffer()
        var frames: [HTTP3Frame] = []
        for byte in whole.readableBytesView {
            received.writeInteger(byte)
            while let frame = try HTTP3Frame.read(from: &received, maxPayload: 100) { frames.append(frame) }
        }
        #expect(
            frames == [
                .headers(ByteBuffer(bytes: [0, 0, 0xD9])), .data(ByteBuffer(string: "hello")), .goaway(8),
                .other(type: 0x21, payload: ByteBuffer(bytes: [1, 2])),
            ])
    }

    @Test func oversizedHTTP2AndMalformedFramesFail() {
        var big = buffer("01 4400")  // HEADERS of 1024 bytes
        #expect(throws: HTTP3Error(.excessiveLoad, "frame 0x1 of 1024 bytes")) {
            try HTTP3Frame.read(from: &big, maxPayload: 1000)
        }
        var priority = buffer("02 00")
        #expect(throws: HTTP3Error(.frameUnexpected, "HTTP/2 frame type 0x2")) {
            try HTTP3Frame.read(from: &priority, maxPayload: 1000)
        }
        var goaway = buffer("07 02 08 00")
        #expect(throws: HTTP3Error(.frameError, "malformed GOAWAY")) {
            try HTTP3Frame.read(from: &goaway, maxPayload: 1000)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var random = ByteBuffer(
                bytes: (0..<Int.random(in: 0..<24, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                })
            _ = try? HTTP3Frame.read(from: &random, maxPayload: 64)
            _ = try? WebTransportCapsule.read(from: &random)
        }
    }

    @Test func closeSessionCapsuleMatchesTheReference() throws {
        // moq-rs rejecting a session: CLOSE_WEBTRANSPORT_SESSION, code 2, "unauthorized".
        var wire = buffer("68 43 10 00 00 00 02 75 6e 61 75 74 68 6f 72 69 7a 65 64")
        #expect(try WebTransportCapsule.read(from: &wire) == .closeSession(code: 2, reason: "unauthorized"))
        #expect(
            Array(WebTransportCapsule.closeSession(code: 2, reason: "unauthorized").encoded().readableBytesView)
                == bytes("68 43 10 00 00 00 02 75 6e 61 75 74 68 6f 72 69 7a 65 64"))
        var partial = buffer("68 43 10 00 00")
        #expect(try WebTransportCapsule.read(from: &partial) == nil)
        var drain = WebTransportCapsule.drain.encoded()
        #expect(try WebTransportCapsule.read(from: &drain) == .drain)
    }

    @Test func webTransportErrorCodesMapIntoTheHTTP3Range() {
        #expect(WebTransportErrorCode.toHTTP3(0) == 0x52e4a40fa8db)
        #expect(WebTransportErrorCode.toHTTP3(2) == 0x52e4a40fa8dd)  // observed from moq-rs
        #expect(WebTransportErrorCode.toHTTP3(3) == 0x52e4a40fa8de)
        #expect(WebTransportErrorCode.toHTTP3(UInt32.max) == WebTransportErrorCode.last)
        for code: UInt32 in Array(0..<2000) + [UInt32.max - 1, UInt32.max] {
            let wire = WebTransportErrorCode.toHTTP3(code)
            #expect((wire - 0x21) % 0x1f != 0, "never a GREASE code")
            #expect(WebTransportErrorCode.fromHTTP3(wire) == code)
        }
        #expect(WebTransportErrorCode.fromHTTP3(0x10c) == nil)
    }

    @Test func protocolLists() {
        #expect(
            StructuredFieldList.parseStrings("\"moq-lite-06\", \"moq-lite-05\",\"moql\"") == [
                "moq-lite-06", "moq-lite-05", "moql",
            ])
        #expect(StructuredFieldList.parseStrings("\"a\";q=1, tok") == ["a", "tok"])
        #expect(StructuredFieldList.parseStrings("\"a\\\"b\"") == ["a\"b"])
        #expect(StructuredFieldList.parseStrings("") == [])
        #expect(StructuredFieldList.parseStrings("\"open") == nil)
        #expect(StructuredFieldList.parseStrings("\"a\",") == nil)
        #expect(StructuredFieldList.string("moq-lite-06") == "\"moq-lite-06\"")
        #expect(StructuredFieldList.string("a\"b") == "\"a\\\"b\"")
    }
}

/// The peer's QPACK encoder and decoder streams against a zero-capacity table.
@Suite struct QPACKStreamTests {
    @Test func encoderStream() throws {
        var zero = buffer("20 20")  // Set Dynamic Table Capacity 0, twice
        try QPACKStreamChecker.checkEncoderStream(&zero)
        #expect(zero.readableBytes == 0)
        var partial = buffer("3f")  // capacity with a continuation byte still to come
        try QPACKStreamChecker.checkEncoderStream(&partial)
        #expect(partial.readableBytes == 1)
        for hex in ["3fe11f", "c00f7777772e6578616d706c652e636f6d", "4a637573746f6d2d6b6579", "02"] {
            var instruction = buffer(hex)  // capacity 4096, RFC 9204 B.2 inserts, duplicate
            #expect(throws: HTTP3Error.self) { try QPACKStreamChecker.checkEncoderStream(&instruction) }
        }
    }

    @Test func decoderStream() throws {
        var fine = buffer("44 00")  // stream cancellation 4, insert count increment 0
        try QPACKStreamChecker.checkDecoderStream(&fine)
        for hex in ["84", "01"] {  // section acknowledgment, insert count increment 1
            var instruction = buffer(hex)
            #expect(throws: HTTP3Error.self) { try QPACKStreamChecker.checkDecoderStream(&instruction) }
        }
    }
}
