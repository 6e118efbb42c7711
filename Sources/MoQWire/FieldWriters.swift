import NIOCore

/// Writers for the compound fields that message bodies share.
extension ByteBuffer {
    /// Writes a boolean as one byte, 0 or 1 (the pre-06 `ordered` flag).
    mutating func writeBool(_ value: Bool) {
        writeInteger(value ? 1 : 0 as UInt8)
    }

    /// Writes varint(count) followed by each value as a varint (announcement hop chains).
    mutating func writeVarintList(_ values: [UInt64]) {
        writeQUICVarint(UInt64(values.count))
        for value in values { writeQUICVarint(value) }
    }
}
