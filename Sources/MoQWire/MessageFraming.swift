import NIOCore

/// The two framings of moq-lite control messages: `varint(length) body` and `varint(type) varint(length)
/// body`. Decoding is all-or-nothing: nil and an untouched reader index until the whole message is there.
extension ByteBuffer {
    /// Writes varint(body length) followed by the body that `writeBody` appends.
    mutating func writeMessage(_ writeBody: (inout ByteBuffer) -> Void) {
        writeLengthPrefixed(strategy: .quic(requiredBytesHint: .one)) { body in
            let start = body.writerIndex
            writeBody(&body)
            return body.writerIndex - start
        }
    }

    /// Writes varint(type), then the body with its length prefix.
    mutating func writeTypedMessage(type: UInt64, _ writeBody: (inout ByteBuffer) -> Void) {
        writeQUICVarint(type)
        writeMessage(writeBody)
    }

    /// Reads one length-prefixed message and parses its body with `parse`, which must consume all of it.
    mutating func readMessage<Message>(
        limits: WireLimits,
        _ parse: (inout MessageReader) throws(WireError) -> Message
    ) throws(WireError) -> Message? {
        guard let (body, end) = try peekBody(at: readerIndex, limits: limits) else { return nil }
        var reader = MessageReader(body: body, limits: limits)
        let message = try parse(&reader)
        try reader.finish()
        moveReaderIndex(to: end)
        return message
    }

    /// Reads one typed message; `parse` gets the type and the body.
    mutating func readTypedMessage<Message>(
        limits: WireLimits,
        _ parse: (UInt64, inout MessageReader) throws(WireError) -> Message
    ) throws(WireError) -> Message? {
        guard let (type, typeLength) = getQUICVarint(at: readerIndex),
            let (body, end) = try peekBody(at: readerIndex + typeLength, limits: limits)
        else { return nil }
        var reader = MessageReader(body: body, limits: limits)
        let message = try parse(type, &reader)
        try reader.finish()
        moveReaderIndex(to: end)
        return message
    }

    /// The body of the length-prefixed message at `index` and the index just past it, or nil when
    /// incomplete; the declared length is checked against the limit before the body is touched.
    private func peekBody(at index: Int, limits: WireLimits) throws(WireError) -> (ByteBuffer, end: Int)? {
        guard let (length, lengthSize) = getQUICVarint(at: index) else { return nil }
        let limit = UInt64(limits.maxMessageBodyLength)
        guard length <= limit else { throw .tooLong(declared: length, limit: limit) }
        let start = index + lengthSize
        guard let body = getSlice(at: start, length: Int(length)) else { return nil }
        return (body, start + Int(length))
    }
}
