import NIOCore
import NTRIP
import Testing

/// The RTCM3 framer and CRC-24Q, without sockets.
struct RTCM3FramerTests {
    /// The 1005 message from shared/reference/ntrip.md section 3.5 (validated there with pyrtcm).
    static let message1005 = hex("d300133ed835038960cfcc8f00b7037cb80b743c56d8ad9489")

    @Test func crcOfTheReferenceVectorMatches() {
        let bytes = Self.message1005
        let crc = bytes.suffix(3).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(CRC24Q.checksum(bytes.dropLast(3)) == crc)
    }

    @Test func wholeMessagesFromAnySplit() {
        let stream = Self.message1005 + Self.message1005 + Self.message1005
        for split in 0...stream.count {
            var framer = RTCM3Framer()
            let outputs =
                framer.feed(ByteBuffer(bytes: stream[..<split])) + framer.feed(ByteBuffer(bytes: stream[split...]))
            #expect(
                outputs == Array(repeating: .message(ByteBuffer(bytes: Self.message1005)), count: 3),
                "split at \(split)")
        }
    }

    @Test func textIsRawAndAStrayPreambleDoesNotEatIt() {
        var framer = RTCM3Framer()
        let text = Array("$GPGGA,1\r\n".utf8) + [0xD3, 0x01, 0x02] + Array("tail".utf8)
        let outputs = framer.feed(ByteBuffer(bytes: text))
        // Before sync a bad candidate is passed on as raw bytes, so nothing is lost.
        let joined = outputs.flatMap { output -> [UInt8] in
            if case .raw(let buffer) = output { return Array(buffer.readableBytesView) }
            return []
        }
        #expect(joined == Array(text.prefix(joined.count)))
        #expect(framer.badCRC == 0)
        #expect(!framer.synced)
    }

    @Test func badCRCAfterSyncIsCountedAndDropped() {
        var framer = RTCM3Framer()
        var corrupt = Self.message1005
        corrupt[10] ^= 0xFF
        let outputs = framer.feed(ByteBuffer(bytes: Self.message1005 + corrupt + Self.message1005))
        #expect(
            outputs == [.message(ByteBuffer(bytes: Self.message1005)), .message(ByteBuffer(bytes: Self.message1005))])
        #expect(framer.badCRC == 1)
        #expect(framer.messages == 2)
    }

    @Test func randomAndTruncatedInputNeverCrashesAndHoldsAtMostOneMessage() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var framer = RTCM3Framer()
            var total = 0
            var out = 0
            for _ in 0..<20 {
                let length = Int.random(in: 0...700, using: &generator)
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if round.isMultiple(of: 2) {
                    bytes += Self.message1005.prefix(Int.random(in: 0...25, using: &generator))
                }
                total += bytes.count
                for output in framer.feed(ByteBuffer(bytes: bytes)) {
                    switch output {
                    case .message(let buffer), .raw(let buffer): out += buffer.readableBytes
                    }
                }
                // What is neither passed on nor dropped is held, and never more than one message.
                #expect(total - out >= 0)
            }
            #expect(total - out - framer.droppedBytes <= RTCM3Framer.maxMessageSize)
        }
    }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
