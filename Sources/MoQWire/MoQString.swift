public import NIOCore

/// moq-lite strings and paths: varint(byte length) followed by UTF-8.
extension ByteBuffer {
    /// Writes `string` as varint(UTF-8 length) + UTF-8 bytes.
    @discardableResult
    public mutating func writeMoQString(_ string: String) -> Int {
        writeQUICVarint(UInt64(string.utf8.count)) + writeString(string)
    }

    /// Reads a string; nil (reader index unchanged) when incomplete. Throws `.tooLong` for a declared
    /// length above `limit` (checked before reading the bytes) and `.malformed` for invalid UTF-8.
    public mutating func readMoQString(limit: Int) throws(WireError) -> String? {
        guard let (length, lengthSize) = getQUICVarint(at: readerIndex) else { return nil }
        guard length <= UInt64(limit) else { throw .tooLong(declared: length, limit: UInt64(limit)) }
        guard let bytes = getSlice(at: readerIndex + lengthSize, length: Int(length)) else { return nil }
        guard let string = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw .malformed("string is not valid UTF-8")
        }
        moveReaderIndex(forwardBy: lengthSize + Int(length))
        return string
    }
}
