public import NIOCore

/// DATAGRAM (lite-05+): a single-frame group in one QUIC datagram, `subscribe_id group timestamp payload`.
/// There is no length prefix: the payload is the rest of the datagram.
public struct Datagram: Sendable, Hashable {
    /// The SUBSCRIBE id this group belongs to.
    public var subscribeID: UInt64
    /// The group's sequence number (shared with the track's group streams).
    public var group: UInt64
    /// Absolute timestamp in the track's timescale.
    public var timestamp: UInt64
    public var payload: ByteBuffer

    public init(subscribeID: UInt64, group: UInt64, timestamp: UInt64, payload: ByteBuffer) {
        self.subscribeID = subscribeID
        self.group = group
        self.timestamp = timestamp
        self.payload = payload
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(.lite05, "DATAGRAM")
        buffer.writeQUICVarint(subscribeID)
        buffer.writeQUICVarint(group)
        buffer.writeQUICVarint(timestamp)
        buffer.writeImmutableBuffer(payload)
    }

    /// Decodes a whole datagram; the payload is a slice of `datagram`, not a copy. A datagram is never
    /// partial, so a header cut short throws `.truncated`.
    public static func decode(_ datagram: ByteBuffer, version: MoQVersion) throws(WireError) -> Datagram {
        try version.require(.lite05)
        var reader = MessageReader(body: datagram, limits: .standard)
        return Datagram(
            subscribeID: try reader.varint(),
            group: try reader.varint(),
            timestamp: try reader.varint(),
            payload: reader.rest()
        )
    }
}
