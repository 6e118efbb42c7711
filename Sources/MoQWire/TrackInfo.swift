public import NIOCore

/// TRACK_INFO (lite-05+), the publisher's answer on a Track stream: how it delivers the track.
public struct TrackInfo: MoQMessage, Hashable {
    /// Publisher priority; breaks ties between subscriptions of equal subscriber priority.
    public var priority: UInt8
    /// lite-05 only (lite-06 removed the byte): ignored when encoding on lite-06, false when decoding it.
    public var ordered: Bool
    /// How long the publisher keeps non-latest groups (its cache window).
    public var maxLatencyMs: UInt64
    /// Units per second of frame timestamps; never zero.
    public var timescale: UInt64

    public init(priority: UInt8, ordered: Bool = false, maxLatencyMs: UInt64, timescale: UInt64) {
        self.priority = priority
        self.ordered = ordered
        self.maxLatencyMs = maxLatencyMs
        self.timescale = timescale
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(.lite05, "TRACK_INFO")
        buffer.writeMessage { body in
            body.writeInteger(priority)
            if version < .lite06 { body.writeBool(ordered) }
            body.writeQUICVarint(maxLatencyMs)
            body.writeQUICVarint(timescale)
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> TrackInfo? {
        try version.require(.lite05)
        return try buffer.readMessage(limits: limits) { body throws(WireError) in
            let priority = try body.byte()
            let ordered = version < .lite06 ? try body.bool() : false
            let info = TrackInfo(
                priority: priority,
                ordered: ordered,
                maxLatencyMs: try body.varint(),
                timescale: try body.varint()
            )
            guard info.timescale != 0 else { throw .malformed("TRACK_INFO timescale is zero") }
            return info
        }
    }
}
