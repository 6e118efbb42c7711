import MoQWire
import Testing

/// Section 7: stream codes travel HTTP/3-mapped, session codes as-is.
struct ErrorCodeTests {
    @Test func capturedStreamCodeMappings() {
        #expect(StreamErrorCode.toWire(1) == 0x52e4a40fa8dc)
        #expect(StreamErrorCode.cancel.wire == 0x52e4a40fa8dc)
        #expect(StreamErrorCode.notFound.wire == 0x52e4a40fa90f)
        #expect(StreamErrorCode.unroutable.wire == 0x52e4a40fa912)
        // The CONNECTION_CLOSE after CLOSE_WEBTRANSPORT_SESSION code 2 (section 3.2).
        #expect(StreamErrorCode.toWire(SessionErrorCode.unauthorized.rawValue) == 0x52e4a40fa8dd)
        #expect(StreamErrorCode(wire: 0x52e4a40fa912) == .unroutable)
    }

    @Test func registryValues() {
        #expect(StreamErrorCode.tooFarBehind.rawValue == 0x5)
        #expect(StreamErrorCode.malformedTrack.rawValue == 0x12)
        #expect(StreamErrorCode.old.rawValue == 0x34)
        #expect(StreamErrorCode.evicted.rawValue == 0x35)
        #expect(StreamErrorCode.unauthorized.rawValue == 0x3a)
        #expect(StreamErrorCode.application(1).rawValue == 65)
        #expect(SessionErrorCode.timeout.rawValue == 0x11)
        #expect(SessionErrorCode.versionNegotiationFailed.rawValue == 0x15)
        #expect(SessionErrorCode.application(0).rawValue == 64)
    }

    @Test func mappingSkipsReservedCodesAndInverts() {
        // Every 0x1f-th wire value is an HTTP/3 grease code (0x1f * n + 0x21) and is never produced.
        #expect(StreamErrorCode.toWire(0x1d) == StreamErrorCode.wireBase + 0x1d)
        #expect(StreamErrorCode.toWire(0x1e) == StreamErrorCode.wireBase + 0x1f)
        for code in UInt64(0)..<10_000 {
            let wire = StreamErrorCode.toWire(code)
            #expect((wire - 0x21) % 0x1f != 0, "code \(code) maps onto a reserved value")
            #expect(StreamErrorCode.fromWire(wire) == code)
        }
        let largest = UInt64(UInt32.max)
        #expect(StreamErrorCode.fromWire(StreamErrorCode.toWire(largest)) == largest)
    }

    @Test func unmappedCodesPassThrough() {
        for code: UInt64 in [0, 1, 3, 0x36, 1 << 40, StreamErrorCode.wireBase - 1] {
            #expect(StreamErrorCode.fromWire(code) == code)
        }
        #expect(StreamErrorCode(wire: 3).rawValue == 3)
    }
}
