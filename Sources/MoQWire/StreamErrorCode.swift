/// Codes for RESET_STREAM and STOP_SENDING. The reference maps every stream code into the HTTP/3
/// range reserved for WebTransport, on raw QUIC too, so use `wire` to send and `init(wire:)` to receive.
public struct StreamErrorCode: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let internalError = StreamErrorCode(rawValue: 0x0)
    public static let cancel = StreamErrorCode(rawValue: 0x1)
    public static let deliveryTimeout = StreamErrorCode(rawValue: 0x2)
    public static let sessionClosed = StreamErrorCode(rawValue: 0x3)
    public static let goingAway = StreamErrorCode(rawValue: 0x4)
    public static let tooFarBehind = StreamErrorCode(rawValue: 0x5)
    public static let malformedTrack = StreamErrorCode(rawValue: 0x12)
    public static let controlTimeout = StreamErrorCode(rawValue: 0x31)
    public static let groupTooLarge = StreamErrorCode(rawValue: 0x32)
    /// Unknown track.
    public static let notFound = StreamErrorCode(rawValue: 0x33)
    public static let old = StreamErrorCode(rawValue: 0x34)
    public static let evicted = StreamErrorCode(rawValue: 0x35)
    /// Unknown broadcast.
    public static let unroutable = StreamErrorCode(rawValue: 0x36)
    public static let wrongFrameSize = StreamErrorCode(rawValue: 0x37)
    public static let frameTooLarge = StreamErrorCode(rawValue: 0x38)
    public static let timestampMismatch = StreamErrorCode(rawValue: 0x39)
    public static let unauthorized = StreamErrorCode(rawValue: 0x3a)

    /// Application-defined code `n`, sent as 64 + n.
    public static func application(_ code: UInt64) -> StreamErrorCode {
        StreamErrorCode(rawValue: 64 + code)
    }

    /// First HTTP/3 error code of the WebTransport application range.
    public static let wireBase: UInt64 = 0x52e4a40fa8db

    /// `wireBase + code + code / 0x1e`: skips the reserved (grease) HTTP/3 codes.
    public static func toWire(_ code: UInt64) -> UInt64 {
        wireBase + code + code / 0x1e
    }

    /// The inverse of `toWire`; a value below `wireBase` is an unmapped code (gomoqt) and comes back unchanged.
    public static func fromWire(_ wire: UInt64) -> UInt64 {
        guard wire >= wireBase else { return wire }
        let offset = wire - wireBase
        return offset - offset / 0x1f
    }

    /// This code as sent in RESET_STREAM / STOP_SENDING.
    public var wire: UInt64 { Self.toWire(rawValue) }

    /// The code a received RESET_STREAM / STOP_SENDING value stands for, mapped or not.
    public init(wire: UInt64) {
        self.init(rawValue: Self.fromWire(wire))
    }
}
