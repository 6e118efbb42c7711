import MoQWire
import NIOCore
import Testing

/// A buffer holding the bytes of a hex dump such as "02 | 11 00 04"; all but hex digits is ignored.
func bytes(_ hex: String) -> ByteBuffer {
    let digits = hex.filter(\.isHexDigit)
    precondition(digits.count.isMultiple(of: 2), "odd hex digit count in \(hex)")
    var buffer = ByteBuffer()
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        buffer.writeInteger(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return buffer
}

/// The hex dump of a buffer's readable bytes, for readable failure messages.
func hex(_ buffer: ByteBuffer) -> String {
    buffer.readableBytesView.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: " ")
}

func encoded(_ message: some MoQMessage, _ version: MoQVersion) -> ByteBuffer {
    var buffer = ByteBuffer()
    message.encode(into: &buffer, version: version)
    return buffer
}

/// Every message type that decodes from a stream, for tests that must reach all decoders.
let allMessageTypes: [any MoQMessage.Type] = [
    AnnounceRequest.self, AnnounceOK.self, Announce.self, TrackRequest.self, TrackInfo.self,
    Subscribe.self, SubscribeUpdate.self, SubscribeResponse.self, GroupHeader.self, FrameHeader.self,
    Fetch.self, Probe.self, Goaway.self, Setup.self,
]
