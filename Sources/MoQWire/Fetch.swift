public import NIOCore

/// FETCH, the request on a Fetch stream: one cached group, answered with its frames then FIN.
/// lite-04 uses the lite-05 layout (gomoqt serves it; the reference refuses FETCH before lite-05).
public struct Fetch: MoQMessage, Hashable {
    public var broadcast: String
    public var track: String
    public var priority: UInt8
    /// The group's sequence number.
    public var group: UInt64
    /// lite-06 only: first frame wanted; ignored when encoding older versions, 0 when decoding them.
    public var startFrame: UInt64
    /// lite-06 only: frame bound, nil = to the end of the group ("+1" on the wire); ignored on older versions.
    public var endFrame: UInt64?

    public init(
        broadcast: String,
        track: String,
        priority: UInt8,
        group: UInt64,
        startFrame: UInt64 = 0,
        endFrame: UInt64? = nil
    ) {
        self.broadcast = broadcast
        self.track = track
        self.priority = priority
        self.group = group
        self.startFrame = startFrame
        self.endFrame = endFrame
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in
            body.writeMoQString(broadcast)
            body.writeMoQString(track)
            body.writeInteger(priority)
            body.writeQUICVarint(group)
            if version >= .lite06 {
                body.writeQUICVarint(startFrame)
                body.writeOptionalVarint(endFrame)
            }
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Fetch? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            let broadcast = try body.string()
            let track = try body.string()
            let priority = try body.byte()
            let group = try body.varint()
            guard version >= .lite06 else {
                return Fetch(broadcast: broadcast, track: track, priority: priority, group: group)
            }
            return Fetch(
                broadcast: broadcast,
                track: track,
                priority: priority,
                group: group,
                startFrame: try body.varint(),
                endFrame: try body.optionalVarint()
            )
        }
    }
}
