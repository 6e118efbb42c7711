import MoQWire
import NIOCore
import Testing

/// Varints, strings, the "+1" optional encoding and zigzag, as section 4 defines them.
struct PrimitiveTests {
    @Test func varintsUseTheMinimalLength() {
        let cases: [(UInt64, String)] = [
            (0, "00"), (63, "3f"), (64, "40 40"), (1949, "47 9d"), (16383, "7f ff"), (16384, "80 00 40 00"),
            (1_000_000, "80 0f 42 40"), ((1 << 30) - 1, "bf ff ff ff"), (1 << 30, "c0 00 00 00 40 00 00 00"),
            (ByteBuffer.maxQUICVarint, "ff ff ff ff ff ff ff ff"),
        ]
        for (value, expected) in cases {
            var buffer = ByteBuffer()
            let written = buffer.writeQUICVarint(value)
            #expect(buffer == bytes(expected), "\(value)")
            #expect(written == ByteBuffer.quicVarintLength(of: value))
            #expect(buffer.readQUICVarint() == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func varintsOfAnyLengthAreRead() {
        for encoding in ["25", "40 25", "80 00 00 25", "c0 00 00 00 00 00 00 25"] {
            var buffer = bytes(encoding)
            #expect(buffer.readQUICVarint() == 37, "\(encoding)")
            #expect(buffer.readableBytes == 0)
        }
        #expect(bytes("c0 00 00 00 00 00 00 25").getQUICVarint(at: 0)! == (37, 8))
    }

    @Test func stringsAreLengthPrefixedUTF8() throws {
        var buffer = ByteBuffer()
        #expect(buffer.writeMoQString("demo") == 5)
        buffer.writeMoQString("")
        buffer.writeMoQString("räum/📹")
        #expect(hex(buffer) == "04 64 65 6d 6f 00 0a 72 c3 a4 75 6d 2f f0 9f 93 b9")
        #expect(try buffer.readMoQString(limit: 16) == "demo")
        #expect(try buffer.readMoQString(limit: 16) == "")
        #expect(try buffer.readMoQString(limit: 16) == "räum/📹")
        // Overlong encoding, lone continuation byte, surrogate, truncated sequence.
        for invalid in ["02 c0 af", "01 80", "03 ed a0 80", "02 f0 9f"] {
            var bad = bytes(invalid)
            #expect(throws: WireError.malformed("string is not valid UTF-8"), "\(invalid)") {
                try bad.readMoQString(limit: 16)
            }
            #expect(bad.readerIndex == 0)
        }
    }

    @Test func optionalsArePlusOneEncoded() {
        #expect(OptionalVarint.encode(nil) == 0)
        #expect(OptionalVarint.encode(0) == 1)
        #expect(OptionalVarint.encode(41) == 42)
        #expect(OptionalVarint.decode(0) == nil)
        #expect(OptionalVarint.decode(1) == 0)
        #expect(OptionalVarint.decode(ByteBuffer.maxQUICVarint) == ByteBuffer.maxQUICVarint - 1)
        var buffer = ByteBuffer()
        buffer.writeOptionalVarint(nil)
        buffer.writeOptionalVarint(62)
        buffer.writeOptionalVarint(63)
        #expect(hex(buffer) == "00 3f 40 40")
    }

    @Test func zigzagMapsSmallMagnitudesToSmallValues() {
        let cases: [(Int64, UInt64)] = [
            (0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (199_112_964, 398_225_928), (-20_350, 40_699),
            (.max, .max - 1), (.min, .max),
        ]
        for (signed, unsigned) in cases {
            #expect(ZigZag.encode(signed) == unsigned, "\(signed)")
            #expect(ZigZag.decode(unsigned) == signed, "\(unsigned)")
        }
    }

    @Test func negativeFrameTimestampDeltasRoundTrip() throws {
        var buffer = encoded(FrameHeader(timestampDelta: -20_350, size: 0), .lite06)
        #expect(hex(buffer) == "80 00 9e fb 00")
        #expect(
            try FrameHeader.decode(from: &buffer, version: .lite06) == FrameHeader(timestampDelta: -20_350, size: 0))
    }
}
