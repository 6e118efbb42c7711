import MoQWire
import NIOCore
import Testing

/// Complete but invalid input throws the matching `WireError` and never returns a message.
struct MalformedInputTests {
    @Test func bodyShorterThanItsFieldsIsTruncated() {
        // SUBSCRIBE_START whose declared body is empty.
        var noGroup = bytes("00 00")
        #expect(throws: WireError.truncated) { try SubscribeResponse.decode(from: &noGroup, version: .lite06) }
        // lite-06 SUBSCRIBE without its two frame fields (the lite-05 layout).
        var olderLayout = bytes("10 00 04 64 65 6d 6f 04 64 61 74 61 00 00 00 00 00")
        #expect(throws: WireError.truncated) { try Subscribe.decode(from: &olderLayout, version: .lite06) }
        // A string whose declared length runs past the body.
        var longString = bytes("02 05 61")
        #expect(throws: WireError.truncated) { try Goaway.decode(from: &longString, version: .lite04) }
    }

    @Test func bodyLongerThanItsFieldsHasTrailingBytes() {
        // The lite-06 SUBSCRIBE read as lite-05 has one byte too many.
        var newerLayout = bytes("11 00 04 64 65 6d 6f 04 64 61 74 61 00 00 00 00 00 00")
        #expect(throws: WireError.trailingBytes) { try Subscribe.decode(from: &newerLayout, version: .lite05) }
        var probe = bytes("03 01 02 03")
        #expect(throws: WireError.trailingBytes) { try Probe.decode(from: &probe, version: .lite06) }
        #expect(probe.readerIndex == 0)
    }

    @Test func unknownTypesAreReported() {
        var announce = bytes("03 01 00")
        #expect(throws: WireError.unknownType(3)) { try Announce.decode(from: &announce, version: .lite06) }
        var lite05Response = bytes("03 01 00")
        #expect(throws: WireError.unknownType(3)) {
            try SubscribeResponse.decode(from: &lite05Response, version: .lite05)
        }
        var lite04Response = bytes("02 03 00 00 00")
        #expect(throws: WireError.unknownType(2)) {
            try SubscribeResponse.decode(from: &lite04Response, version: .lite04)
        }
        var bidi = bytes("07")
        #expect(throws: WireError.unknownType(7)) { try BidiStreamType.decode(from: &bidi, version: .lite06) }
        var uni = bytes("02")
        #expect(throws: WireError.unknownType(2)) { try UniStreamType.decode(from: &uni, version: .lite06) }
    }

    @Test func streamTypesOfNewerVersionsAreUnknownOnOlderOnes() {
        var track = bytes("06")
        #expect(throws: WireError.unknownType(6)) { try BidiStreamType.decode(from: &track, version: .lite04) }
        var setup = bytes("01")
        #expect(throws: WireError.unknownType(1)) { try UniStreamType.decode(from: &setup, version: .lite04) }
    }

    @Test func messagesOfNewerVersionsAreUnsupportedOnOlderOnes() {
        var anything = bytes("01 00")
        #expect(throws: WireError.versionUnsupported) { try Setup.decode(from: &anything, version: .lite04) }
        #expect(throws: WireError.versionUnsupported) { try AnnounceOK.decode(from: &anything, version: .lite04) }
        #expect(throws: WireError.versionUnsupported) { try TrackRequest.decode(from: &anything, version: .lite04) }
        #expect(throws: WireError.versionUnsupported) { try TrackInfo.decode(from: &anything, version: .lite04) }
        #expect(throws: WireError.versionUnsupported) { try Datagram.decode(anything, version: .lite04) }
    }

    @Test func invalidFieldValuesAreMalformed() {
        var status = bytes("04 03 01 78 00")
        #expect(throws: WireError.malformed("announce status 3")) {
            try Announce.decode(from: &status, version: .lite05)
        }
        var ordered = bytes("05 01 02 00 00 00")
        #expect(throws: WireError.malformed("boolean byte 2")) {
            try SubscribeUpdate.decode(from: &ordered, version: .lite05)
        }
        var timescale = bytes("03 7f 00 00")
        #expect(throws: WireError.malformed("TRACK_INFO timescale is zero")) {
            try TrackInfo.decode(from: &timescale, version: .lite06)
        }
        var utf8 = bytes("03 02 c3 28")
        #expect(throws: WireError.malformed("string is not valid UTF-8")) {
            try Goaway.decode(from: &utf8, version: .lite06)
        }
    }

    @Test func setupParametersAreValidated() throws {
        var duplicate = bytes("07 02 05 01 01 05 01 02")
        #expect(throws: WireError.malformed("duplicate SETUP parameter 5")) {
            try Setup.decode(from: &duplicate, version: .lite06)
        }
        var duplicateUnknown = bytes("05 02 20 00 20 00")
        #expect(throws: WireError.malformed("duplicate SETUP parameter 32")) {
            try Setup.decode(from: &duplicateUnknown, version: .lite06)
        }
        var numberWithTrailingByte = bytes("05 01 01 02 01 00")
        #expect(throws: WireError.malformed("SETUP parameter value is not one varint")) {
            try Setup.decode(from: &numberWithTrailingByte, version: .lite06)
        }
        var cutNumber = bytes("04 01 01 01 40")
        #expect(throws: WireError.malformed("SETUP parameter value is not one varint")) {
            try Setup.decode(from: &cutNumber, version: .lite06)
        }
        // Unknown parameters are kept as opaque bytes; a non-minimal varint inside a known one is fine.
        var lenient = bytes("0a 02 21 03 61 62 63 01 02 40 02")
        let setup = try #require(try Setup.decode(from: &lenient, version: .lite06))
        #expect(setup.parameters == [.unknown(id: 0x21, value: ByteBuffer(string: "abc")), .probe(2)])
    }

    @Test func truncatedDatagramsThrow() {
        #expect(throws: WireError.truncated) { try Datagram.decode(bytes(""), version: .lite06) }
        #expect(throws: WireError.truncated) { try Datagram.decode(bytes("07 02"), version: .lite06) }
        #expect(throws: WireError.truncated) { try Datagram.decode(bytes("07 02 47"), version: .lite05) }
    }
}
