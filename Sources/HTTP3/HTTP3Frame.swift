public import NIOCore

/// An HTTP/3 frame (RFC 9114 section 7.2): the ones this layer acts on, and the rest by type.
public enum HTTP3Frame: Sendable, Equatable {
    case data(ByteBuffer)
    /// A QPACK-encoded field section.
    case headers(ByteBuffer)
    case settings(HTTP3Settings)
    case goaway(UInt64)
    /// CANCEL_PUSH, PUSH_PROMISE, MAX_PUSH_ID, extensions and GREASE: type and payload.
    case other(type: UInt64, payload: ByteBuffer)

    public enum FrameType {
        public static let data: UInt64 = 0x00
        public static let headers: UInt64 = 0x01
        public static let settings: UInt64 = 0x04
        public static let goaway: UInt64 = 0x07
        /// HTTP/2 frame types with no HTTP/3 meaning: receiving one is H3_FRAME_UNEXPECTED.
        public static let reservedHTTP2: Set<UInt64> = [0x02, 0x06, 0x08, 0x09]
    }

    /// The type and payload length of the frame at the reader index, and the bytes they take; nil when
    /// the buffer does not hold them yet.
    public static func peekHeader(_ buffer: ByteBuffer) -> (type: UInt64, length: UInt64, headerLength: Int)? {
        guard let (type, typeLength) = buffer.getHTTP3Varint(at: buffer.readerIndex),
            let (length, lengthLength) = buffer.getHTTP3Varint(at: buffer.readerIndex + typeLength)
        else { return nil }
        return (type, length, typeLength + lengthLength)
    }

    /// Reads the next whole frame; nil (reader index unchanged) when it has not all arrived yet.
    /// A payload over `maxPayload` is H3_EXCESSIVE_LOAD; DATA payloads are slices, never copies.
    public static func read(from buffer: inout ByteBuffer, maxPayload: Int) throws(HTTP3Error) -> HTTP3Frame? {
        guard let (type, length, headerLength) = peekHeader(buffer) else { return nil }
        guard length <= UInt64(maxPayload) else {
            throw HTTP3Error(.excessiveLoad, "frame 0x\(String(type, radix: 16)) of \(length) bytes")
        }
        guard buffer.readableBytes >= headerLength + Int(length) else { return nil }
        guard !FrameType.reservedHTTP2.contains(type) else {
            throw HTTP3Error(.frameUnexpected, "HTTP/2 frame type 0x\(String(type, radix: 16))")
        }
        buffer.moveReaderIndex(forwardBy: headerLength)
        var payload = buffer.readSlice(length: Int(length))!
        switch type {
        case FrameType.data: return .data(payload)
        case FrameType.headers: return .headers(payload)
        case FrameType.settings: return .settings(try HTTP3Settings.decode(payload))
        case FrameType.goaway:
            guard let id = payload.readHTTP3Varint(), payload.readableBytes == 0 else {
                throw HTTP3Error(.frameError, "malformed GOAWAY")
            }
            return .goaway(id)
        default: return .other(type: type, payload: payload)
        }
    }

    /// Writes a frame header for `length` bytes of payload of `type`.
    public static func writeHeader(type: UInt64, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeHTTP3Varint(type)
        buffer.writeHTTP3Varint(UInt64(length))
    }

    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .data(let payload): Self.write(type: FrameType.data, payload: payload, into: &buffer)
        case .headers(let payload): Self.write(type: FrameType.headers, payload: payload, into: &buffer)
        case .settings(let settings): Self.write(type: FrameType.settings, payload: settings.encode(), into: &buffer)
        case .goaway(let id):
            var payload = ByteBuffer()
            payload.writeHTTP3Varint(id)
            Self.write(type: FrameType.goaway, payload: payload, into: &buffer)
        case .other(let type, let payload): Self.write(type: type, payload: payload, into: &buffer)
        }
    }

    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return buffer
    }

    private static func write(type: UInt64, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        writeHeader(type: type, length: payload.readableBytes, into: &buffer)
        buffer.writeImmutableBuffer(payload)
    }
}
