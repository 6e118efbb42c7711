import MoQWire
import NIOCore
import Testing

/// Declared lengths and counts above the limits are rejected from the length alone: the decoder
/// throws before the body arrives, so nothing is buffered or allocated for it.
struct LimitTests {
    /// varint 2^40 as an 8-byte QUIC varint, with no body behind it.
    static let hugeLength = "c0 00 01 00 00 00 00 00"

    @Test(arguments: MoQVersion.allCases)
    func hugeMessageLengthIsRejectedBeforeTheBody(version: MoQVersion) throws {
        let limit = UInt64(WireLimits.standard.maxMessageBodyLength)
        let typed: [any MoQMessage.Type] = [SubscribeResponse.self, Announce.self]
        for type in allMessageTypes where type != FrameHeader.self {
            let isTyped = typed.contains { $0 == type } && (type != Announce.self || version >= .lite06)
            let input = bytes((isTyped ? "00 " : "") + Self.hugeLength)
            try expectTooLong(type, input, version, declared: 1 << 40, limit: limit)
        }
    }

    @Test func messageLengthLimitIsConfigurable() throws {
        let limits = WireLimits(maxMessageBodyLength: 16)
        var overLimit = bytes("11")
        #expect(throws: WireError.tooLong(declared: 17, limit: 16)) {
            try Goaway.decode(from: &overLimit, version: .lite06, limits: limits)
        }
        var fits = ByteBuffer()
        Goaway(newSessionURI: String(repeating: "a", count: 15)).encode(into: &fits, version: .lite06)
        #expect(try Goaway.decode(from: &fits, version: .lite06, limits: limits)?.newSessionURI.count == 15)
    }

    @Test func longStringsAreRejected() throws {
        let limits = WireLimits(maxStringLength: 8)
        var message = ByteBuffer()
        Goaway(newSessionURI: "123456789").encode(into: &message, version: .lite06)
        #expect(throws: WireError.tooLong(declared: 9, limit: 8)) {
            try Goaway.decode(from: &message, version: .lite06, limits: limits)
        }
        // A bare string whose declared length is huge is rejected without its bytes.
        var huge = bytes(Self.hugeLength)
        #expect(throws: WireError.tooLong(declared: 1 << 40, limit: 4096)) { try huge.readMoQString(limit: 4096) }
        #expect(huge.readerIndex == 0)
    }

    @Test func hopChainsAreLimited() throws {
        let hops = Array(UInt64(1)...33)
        for (version, announce) in [
            (MoQVersion.lite06, Announce.start(suffix: "a", hops: hops, cost: 0, cold: 0)),
            (.lite06, Announce.update(id: 0, hops: hops, cost: 0, cold: 0)),
            (.lite05, Announce.legacy(status: .active, suffix: "a", hops: hops)),
            (.lite04, Announce.legacy(status: .active, suffix: "a", hops: hops)),
        ] {
            var buffer = encoded(announce, version)
            #expect(throws: WireError.tooLong(declared: 33, limit: 32)) {
                try Announce.decode(from: &buffer, version: version)
            }
        }
        // A huge hop count inside a small body fails on the count, not on an allocation.
        var lying = bytes("00 0b 00 c0 00 01 00 00 00 00 00 00 00")
        #expect(throws: WireError.tooLong(declared: 1 << 40, limit: 32)) {
            try Announce.decode(from: &lying, version: .lite06)
        }
    }

    @Test func setupParameterCountIsLimited() throws {
        let parameters = (0..<65).map { SetupParameter.unknown(id: 0x100 + UInt64($0), value: ByteBuffer()) }
        var tooMany = encoded(Setup(parameters: parameters), .lite06)
        #expect(throws: WireError.malformed("SETUP has 65 parameters, at most 64 allowed")) {
            try Setup.decode(from: &tooMany, version: .lite06)
        }
        var sixtyFour = encoded(Setup(parameters: Array(parameters.prefix(64))), .lite06)
        #expect(try Setup.decode(from: &sixtyFour, version: .lite06)?.parameters.count == 64)
        var lying = bytes("08 c0 00 01 00 00 00 00 00")
        #expect(throws: WireError.self) { try Setup.decode(from: &lying, version: .lite06) }
    }

    @Test(arguments: MoQVersion.allCases)
    func framesAboveTheMaximumSizeAreRejected(version: MoQVersion) throws {
        let limit = WireLimits.standard.maxFrameSize
        var atLimit = encoded(FrameHeader(timestampDelta: 0, size: limit), version)
        #expect(try FrameHeader.decode(from: &atLimit, version: version)?.size == limit)
        var above = encoded(FrameHeader(timestampDelta: 0, size: limit + 1), version)
        #expect(throws: WireError.tooLong(declared: limit + 1, limit: limit)) {
            try FrameHeader.decode(from: &above, version: version)
        }
        #expect(above.readerIndex == 0)
        var huge = encoded(FrameHeader(timestampDelta: 0, size: 1 << 40), version)
        #expect(throws: WireError.tooLong(declared: 1 << 40, limit: limit)) {
            try FrameHeader.decode(from: &huge, version: version)
        }
    }

    private func expectTooLong<Message: MoQMessage>(
        _ type: Message.Type,
        _ input: ByteBuffer,
        _ version: MoQVersion,
        declared: UInt64,
        limit: UInt64
    ) throws {
        var buffer = input
        do throws(WireError) {
            _ = try Message.decode(from: &buffer, version: version, limits: .standard)
            Issue.record("\(Message.self) accepted a length of \(declared) on \(version)")
        } catch .versionUnsupported {
            // The message does not exist on this version; nothing to limit.
        } catch {
            #expect(error == .tooLong(declared: declared, limit: limit), "\(Message.self) on \(version)")
        }
        #expect(buffer.readerIndex == input.readerIndex)
    }
}
