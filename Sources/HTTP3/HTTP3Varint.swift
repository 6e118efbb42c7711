import NIOCore

/// QUIC variable-length integers (RFC 9000 section 16), as HTTP/3 frames, stream types and settings use them.
extension ByteBuffer {
    /// The largest value a varint holds, 2^62 - 1.
    static let maxHTTP3Varint: UInt64 = (1 << 62) - 1

    /// Bytes the minimal encoding of `value` takes: 1, 2, 4 or 8.
    static func http3VarintLength(of value: UInt64) -> Int {
        switch value {
        case 0..<(1 << 6): 1
        case 0..<(1 << 14): 2
        case 0..<(1 << 30): 4
        default: 8
        }
    }

    /// Writes `value` in its minimal encoding; values above `maxHTTP3Varint` are a programming error.
    @discardableResult
    mutating func writeHTTP3Varint(_ value: UInt64) -> Int {
        precondition(value <= Self.maxHTTP3Varint, "\(value) does not fit in a varint")
        switch Self.http3VarintLength(of: value) {
        case 1: return writeInteger(UInt8(value))
        case 2: return writeInteger(UInt16(value) | 0x4000)
        case 4: return writeInteger(UInt32(value) | 0x8000_0000)
        default: return writeInteger(value | 0xC000_0000_0000_0000)
        }
    }

    /// The varint at `index` and its length; nil when the readable bytes do not hold all of it.
    func getHTTP3Varint(at index: Int) -> (value: UInt64, length: Int)? {
        guard let first = getInteger(at: index, as: UInt8.self) else { return nil }
        switch first >> 6 {
        case 0: return (UInt64(first), 1)
        case 1: return getInteger(at: index, as: UInt16.self).map { (UInt64($0 & 0x3FFF), 2) }
        case 2: return getInteger(at: index, as: UInt32.self).map { (UInt64($0 & 0x3FFF_FFFF), 4) }
        default: return getInteger(at: index, as: UInt64.self).map { ($0 & Self.maxHTTP3Varint, 8) }
        }
    }

    /// Reads a varint; nil (reader index unchanged) when the buffer does not hold all of it yet.
    mutating func readHTTP3Varint() -> UInt64? {
        guard let (value, length) = getHTTP3Varint(at: readerIndex) else { return nil }
        moveReaderIndex(forwardBy: length)
        return value
    }
}
