import NIOCore

/// Checks the peer's QPACK encoder and decoder streams (RFC 9204 section 4.3, 4.4) against a dynamic
/// table of capacity 0: only "Set Dynamic Table Capacity 0" and stream cancellations are legal.
enum QPACKStreamChecker {
    /// Consumes the whole instructions in `buffer`; throws on one that needs a dynamic table.
    static func checkEncoderStream(_ buffer: inout ByteBuffer) throws(HTTP3Error) {
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            guard first & 0xE0 == 0x20 else {
                throw HTTP3Error(.qpackEncoderStreamError, "dynamic table instruction (capacity is 0)")
            }
            let start = buffer.readerIndex
            guard let capacity = try? QPACKInteger.read(prefix: 5, from: &buffer) else {
                buffer.moveReaderIndex(to: start)  // incomplete: wait for more
                return
            }
            guard capacity == 0 else {
                throw HTTP3Error(.qpackEncoderStreamError, "dynamic table capacity \(capacity) over our maximum 0")
            }
        }
    }

    static func checkDecoderStream(_ buffer: inout ByteBuffer) throws(HTTP3Error) {
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            let start = buffer.readerIndex
            let prefix = first & 0x80 != 0 ? 7 : 6
            guard let value = try? QPACKInteger.read(prefix: prefix, from: &buffer) else {
                buffer.moveReaderIndex(to: start)
                return
            }
            if first & 0x80 != 0 {
                throw HTTP3Error(.qpackDecoderStreamError, "section acknowledgment without dynamic references")
            } else if first & 0x40 == 0, value > 0 {
                throw HTTP3Error(.qpackDecoderStreamError, "insert count increment without inserts")
            }
        }
    }
}
