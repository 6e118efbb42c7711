import MoQWire
import NIOCore
import Testing

/// A stream delivers bytes in arbitrary pieces: every strict prefix of a valid encoding decodes to nil
/// and leaves the reader index where it was, and the whole encoding then decodes.
struct PartialInputTests {
    @Test(arguments: MoQVersion.allCases)
    func everyPrefixOfEveryMessageIsIncomplete(version: MoQVersion) throws {
        var prefixes = 0
        for message in Samples.messages(for: version) {
            prefixes += try expectPrefixesIncomplete(message, version)
        }
        #expect(prefixes > 1000)
    }

    @Test(arguments: MoQVersion.allCases)
    func streamTypePrefixesAreIncomplete(version: MoQVersion) throws {
        var empty = ByteBuffer()
        #expect(try BidiStreamType.decode(from: &empty, version: version) == nil)
        #expect(try UniStreamType.decode(from: &empty, version: version) == nil)
        // A two-byte encoding of type 2 (non-minimal, but legal to read), one byte at a time.
        var partial = bytes("40")
        #expect(try BidiStreamType.decode(from: &partial, version: version) == nil)
        #expect(partial.readerIndex == 0)
        partial.writeInteger(UInt8(0x02))
        #expect(try BidiStreamType.decode(from: &partial, version: version) == .subscribe)
    }

    @Test func varintAndStringPrefixesAreIncomplete() throws {
        for value in Samples.edgeValues + [ByteBuffer.maxQUICVarint] {
            var whole = ByteBuffer()
            whole.writeQUICVarint(value)
            for length in 0..<whole.readableBytes {
                var prefix = whole.getSlice(at: 0, length: length)!
                #expect(prefix.readQUICVarint() == nil)
                #expect(prefix.readerIndex == 0)
            }
        }
        var whole = ByteBuffer()
        whole.writeMoQString("räum/📹")
        for length in 0..<whole.readableBytes {
            var prefix = whole.getSlice(at: 0, length: length)!
            #expect(try prefix.readMoQString(limit: 4096) == nil)
            #expect(prefix.readerIndex == 0)
        }
    }

    /// Checks every strict prefix, with the message placed after unrelated bytes so that a decoder that
    /// assumes reader index 0 would fail. Returns how many prefixes it checked.
    private func expectPrefixesIncomplete<Message: MoQMessage>(_ message: Message, _ version: MoQVersion) throws -> Int
    {
        let whole = encoded(message, version)
        for length in 0..<whole.readableBytes {
            var buffer = ByteBuffer(bytes: [0xff, 0xee])
            buffer.writeImmutableBuffer(whole.getSlice(at: 0, length: length)!)
            buffer.moveReaderIndex(forwardBy: 2)
            let decoded = try Message.decode(from: &buffer, version: version, limits: .standard)
            #expect(decoded == nil, "\(version) prefix \(length) of \(hex(whole))")
            #expect(buffer.readerIndex == 2, "\(version) prefix \(length) of \(hex(whole))")
        }
        return whole.readableBytes
    }
}
