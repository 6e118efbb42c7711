/// HTTP/3 and QPACK error codes (RFC 9114 section 8.1, RFC 9204 section 6), used in CONNECTION_CLOSE,
/// RESET_STREAM and STOP_SENDING.
public struct HTTP3ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let noError = HTTP3ErrorCode(rawValue: 0x100)
    public static let generalProtocolError = HTTP3ErrorCode(rawValue: 0x101)
    public static let internalError = HTTP3ErrorCode(rawValue: 0x102)
    public static let streamCreationError = HTTP3ErrorCode(rawValue: 0x103)
    public static let closedCriticalStream = HTTP3ErrorCode(rawValue: 0x104)
    public static let frameUnexpected = HTTP3ErrorCode(rawValue: 0x105)
    public static let frameError = HTTP3ErrorCode(rawValue: 0x106)
    public static let excessiveLoad = HTTP3ErrorCode(rawValue: 0x107)
    public static let idError = HTTP3ErrorCode(rawValue: 0x108)
    public static let settingsError = HTTP3ErrorCode(rawValue: 0x109)
    public static let missingSettings = HTTP3ErrorCode(rawValue: 0x10a)
    public static let requestRejected = HTTP3ErrorCode(rawValue: 0x10b)
    public static let requestCancelled = HTTP3ErrorCode(rawValue: 0x10c)
    public static let requestIncomplete = HTTP3ErrorCode(rawValue: 0x10d)
    public static let messageError = HTTP3ErrorCode(rawValue: 0x10e)
    public static let connectError = HTTP3ErrorCode(rawValue: 0x10f)
    public static let qpackDecompressionFailed = HTTP3ErrorCode(rawValue: 0x200)
    public static let qpackEncoderStreamError = HTTP3ErrorCode(rawValue: 0x201)
    public static let qpackDecoderStreamError = HTTP3ErrorCode(rawValue: 0x202)

    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// A protocol violation: the code to close the connection (or reset the stream) with, and why.
public struct HTTP3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: HTTP3ErrorCode
    public var reason: String

    public init(_ code: HTTP3ErrorCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "HTTP/3 error \(code): \(reason)" }
}
