public import NIOCore

/// The "+1" encoding of an optional integer: 0 means none, n + 1 means n (end groups, pre-06 start
/// groups, lite-06 end frames, lite-04 SUBSCRIBE_OK bounds).
public enum OptionalVarint {
    /// The wire value for `value`.
    public static func encode(_ value: UInt64?) -> UInt64 {
        guard let value else { return 0 }
        precondition(value < ByteBuffer.maxQUICVarint, "\(value) + 1 does not fit in a QUIC varint")
        return value + 1
    }

    /// The optional integer a wire value stands for.
    public static func decode(_ wire: UInt64) -> UInt64? {
        wire == 0 ? nil : wire - 1
    }
}

extension ByteBuffer {
    /// Writes `value` in the "+1" encoding.
    @discardableResult
    public mutating func writeOptionalVarint(_ value: UInt64?) -> Int {
        writeQUICVarint(OptionalVarint.encode(value))
    }
}
