import MoQWire
import NIOCore
import Testing

/// Encoding then decoding gives back the same message on every version the message exists in, and
/// consumes exactly the encoded bytes.
struct RoundTripTests {
    @Test(arguments: MoQVersion.allCases)
    func everyMessageRoundTrips(version: MoQVersion) throws {
        let messages = Samples.messages(for: version)
        #expect(messages.count > 90)
        for message in messages {
            try expectRoundTrip(message, version)
        }
    }

    @Test(arguments: MoQVersion.allCases)
    func consecutiveMessagesDecodeOneAtATime(version: MoQVersion) throws {
        var stream = ByteBuffer()
        let first = Subscribe(id: 7, broadcast: "room/cam1", track: "video", priority: 3)
        let second = SubscribeUpdate(priority: 9, maxLatencyMs: 350, endGroup: 12)
        first.encode(into: &stream, version: version)
        second.encode(into: &stream, version: version)
        #expect(try Subscribe.decode(from: &stream, version: version) == first)
        #expect(try SubscribeUpdate.decode(from: &stream, version: version) == second)
        #expect(stream.readableBytes == 0)
    }

    @Test(arguments: MoQVersion.allCases)
    func streamTypesRoundTrip(version: MoQVersion) throws {
        for type in BidiStreamType.allCases where version >= type.introduced {
            var buffer = ByteBuffer()
            type.encode(into: &buffer, version: version)
            #expect(try BidiStreamType.decode(from: &buffer, version: version) == type)
            #expect(buffer.readableBytes == 0)
        }
        for type in UniStreamType.allCases where version >= type.introduced {
            var buffer = ByteBuffer()
            type.encode(into: &buffer, version: version)
            #expect(try UniStreamType.decode(from: &buffer, version: version) == type)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test(arguments: [MoQVersion.lite05, .lite06])
    func datagramsRoundTrip(version: MoQVersion) throws {
        for value in Samples.edgeValues {
            let datagram = Datagram(
                subscribeID: value, group: value / 2, timestamp: value, payload: ByteBuffer(string: "x\(value)"))
            var buffer = ByteBuffer()
            datagram.encode(into: &buffer, version: version)
            #expect(try Datagram.decode(buffer, version: version) == datagram)
        }
        let empty = Datagram(subscribeID: 1, group: 2, timestamp: 3, payload: ByteBuffer())
        var buffer = ByteBuffer()
        empty.encode(into: &buffer, version: version)
        #expect(try Datagram.decode(buffer, version: version) == empty)
    }

    @Test func versionsRoundTripThroughALPN() {
        for version in MoQVersion.allCases {
            #expect(MoQVersion(alpn: version.alpn) == version)
        }
        #expect(MoQVersion(alpn: "moq-lite-06") == .lite06)
        #expect(MoQVersion(alpn: "moq-lite-03") == nil)
        #expect(MoQVersion(alpn: "moq-lite-06-wip") == nil)
        #expect(MoQVersion.serverPreference == [.lite06, .lite05, .lite04])
        #expect(MoQVersion.lite04 < .lite05 && MoQVersion.lite05 < .lite06)
    }

    private func expectRoundTrip<Message: MoQMessage>(_ message: Message, _ version: MoQVersion) throws {
        var buffer = encoded(message, version)
        let encoding = hex(buffer)
        let decoded = try Message.decode(from: &buffer, version: version, limits: .standard)
        #expect(decoded == message, "\(version) \(encoding)")
        #expect(buffer.readableBytes == 0, "\(version) \(encoding)")
    }
}
