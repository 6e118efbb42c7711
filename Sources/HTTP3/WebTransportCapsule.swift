public import NIOCore

/// Capsules (RFC 9297) on a WebTransport session's CONNECT stream, inside DATA frames.
public enum WebTransportCapsule: Sendable, Equatable {
    /// The session ends with an application code and a reason (at most 1024 bytes).
    case closeSession(code: UInt32, reason: String)
    /// The peer asks to wind the session down (DRAIN_WEBTRANSPORT_SESSION).
    case drain
    case other(type: UInt64, payload: ByteBuffer)

    public static let closeSessionType: UInt64 = 0x2843
    public static let drainType: UInt64 = 0x78ae

    /// Reads the next whole capsule; nil (reader index unchanged) when it has not all arrived.
    public static func read(from buffer: inout ByteBuffer, maxPayload: Int = 1 << 16) throws(HTTP3Error)
        -> WebTransportCapsule?
    {
        guard let (type, length, headerLength) = HTTP3Frame.peekHeader(buffer) else { return nil }
        guard length <= UInt64(maxPayload) else { throw HTTP3Error(.excessiveLoad, "capsule of \(length) bytes") }
        guard buffer.readableBytes >= headerLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        var payload = buffer.readSlice(length: Int(length))!
        switch type {
        case closeSessionType:
            guard let code = payload.readInteger(as: UInt32.self), payload.readableBytes <= 1024 else {
                throw HTTP3Error(.messageError, "malformed CLOSE_WEBTRANSPORT_SESSION")
            }
            return .closeSession(code: code, reason: String(buffer: payload))
        case drainType: return .drain
        default: return .other(type: type, payload: payload)
        }
    }

    public func encoded() -> ByteBuffer {
        var payload = ByteBuffer()
        let type: UInt64
        switch self {
        case .closeSession(let code, let reason):
            type = Self.closeSessionType
            payload.writeInteger(code)
            payload.writeString(String(decoding: reason.utf8.prefix(1024), as: UTF8.self))
        case .drain: type = Self.drainType
        case .other(let otherType, let otherPayload):
            type = otherType
            payload = otherPayload
        }
        var buffer = ByteBuffer()
        HTTP3Frame.writeHeader(type: type, length: payload.readableBytes, into: &buffer)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }
}

/// WebTransport application error codes (32 bits) in the HTTP/3 error space, skipping the reserved
/// GREASE codes (WebTransport over HTTP/3 section 4.4).
public enum WebTransportErrorCode {
    public static let first: UInt64 = 0x52e4a40fa8db
    public static let last: UInt64 = 0x52e5ac983162

    public static func toHTTP3(_ code: UInt32) -> UInt64 { first + UInt64(code) + UInt64(code) / 0x1e }

    /// The application code an HTTP/3 error stands for; nil outside the WebTransport range or on a GREASE code.
    public static func fromHTTP3(_ code: UInt64) -> UInt32? {
        guard code >= first, code <= last, (code - 0x21) % 0x1f != 0 else { return nil }
        let shifted = code - first
        return UInt32(shifted - shifted / 0x1f)
    }
}
