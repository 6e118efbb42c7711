public import NIOCore

/// One frame of a group: its bytes and its timestamp in the track's timescale.
///
/// The payload is one `ByteBuffer` shared by every consumer (copy-on-write, reference counted): fan-out
/// never copies frame bytes.
public struct Frame: Sendable, Equatable {
    public var payload: ByteBuffer
    /// Presentation time in units of the track's `timescale` (TRACK_INFO); 0 when the source has none.
    public var timestamp: UInt64

    public init(payload: ByteBuffer, timestamp: UInt64 = 0) {
        self.payload = payload
        self.timestamp = timestamp
    }
}

/// Why a group, track or broadcast ended early; carries a moq-lite stream error code (section 7).
public struct MoQStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: UInt64
    public var reason: String

    public init(code: UInt64, reason: String = "") {
        self.code = code
        self.reason = reason
    }

    public static let cancelled = MoQStreamError(code: 0x1, reason: "cancelled")
    public static let tooFarBehind = MoQStreamError(code: 0x5, reason: "too far behind")
    public static let notFound = MoQStreamError(code: 0x33, reason: "not found")
    public static let old = MoQStreamError(code: 0x34, reason: "old group")
    public static let evicted = MoQStreamError(code: 0x35, reason: "evicted")
    public static let unroutable = MoQStreamError(code: 0x36, reason: "unroutable")

    public var description: String {
        "moq stream error 0x\(String(code, radix: 16))\(reason.isEmpty ? "" : " (\(reason))")"
    }
}
