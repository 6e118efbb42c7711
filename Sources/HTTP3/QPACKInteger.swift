import NIOCore

/// Prefixed integers (RFC 7541 section 5.1, used by QPACK): the low `prefix` bits of the first byte,
/// continued in 7-bit groups when they are all ones.
enum QPACKInteger {
    /// Writes `value` with an N-bit prefix; `flags` fills the first byte's bits above the prefix.
    static func write(_ value: UInt64, prefix: Int, flags: UInt8, into buffer: inout ByteBuffer) {
        let maxPrefix = UInt64((1 << prefix) - 1)
        if value < maxPrefix {
            buffer.writeInteger(flags | UInt8(value))
            return
        }
        buffer.writeInteger(flags | UInt8(maxPrefix))
        var rest = value - maxPrefix
        while rest >= 128 {
            buffer.writeInteger(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        buffer.writeInteger(UInt8(rest))
    }

    /// Reads an N-bit-prefixed integer whose first byte is the next readable one; throws on truncation or
    /// a value past 2^62 (no legitimate field needs more).
    static func read(prefix: Int, from buffer: inout ByteBuffer) throws(HTTP3Error) -> UInt64 {
        guard let first = buffer.readInteger(as: UInt8.self) else { throw truncated }
        let maxPrefix = UInt64((1 << prefix) - 1)
        var value = UInt64(first) & maxPrefix
        guard value == maxPrefix else { return value }
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw truncated }
            guard shift <= 56 else { throw HTTP3Error(.qpackDecompressionFailed, "prefixed integer too large") }
            value += UInt64(byte & 0x7F) << shift
            guard value <= ByteBuffer.maxHTTP3Varint else {
                throw HTTP3Error(.qpackDecompressionFailed, "prefixed integer too large")
            }
            shift += 7
            if byte & 0x80 == 0 { return value }
        }
    }

    private static var truncated: HTTP3Error { HTTP3Error(.qpackDecompressionFailed, "truncated field section") }
}
