/// Application error codes that close a whole session (CONNECTION_CLOSE, CLOSE_WEBTRANSPORT_SESSION).
/// Sent as-is; codes are informational, so unknown ones are kept rather than rejected.
public struct SessionErrorCode: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let noError = SessionErrorCode(rawValue: 0x0)
    public static let internalError = SessionErrorCode(rawValue: 0x1)
    public static let unauthorized = SessionErrorCode(rawValue: 0x2)
    public static let protocolViolation = SessionErrorCode(rawValue: 0x3)
    public static let keyValueFormatting = SessionErrorCode(rawValue: 0x6)
    public static let goawayTimeout = SessionErrorCode(rawValue: 0x10)
    /// The peer sent no SETUP in time.
    public static let timeout = SessionErrorCode(rawValue: 0x11)
    public static let versionNegotiationFailed = SessionErrorCode(rawValue: 0x15)
    public static let tooManyRequestUpdates = SessionErrorCode(rawValue: 0x1b)

    /// Application-defined code `n`, sent as 64 + n.
    public static func application(_ code: UInt64) -> SessionErrorCode {
        SessionErrorCode(rawValue: 64 + code)
    }
}
