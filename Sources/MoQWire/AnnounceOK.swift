public import NIOCore

/// ANNOUNCE_OK (lite-05+), the publisher's first message on an Announce stream.
public struct AnnounceOK: MoQMessage, Hashable {
    /// The publisher's own hop id, which receivers append to every hop chain on this stream.
    public var hopID: UInt64
    /// How many announcements follow immediately as the initial set.
    public var activeCount: UInt64

    public init(hopID: UInt64, activeCount: UInt64) {
        self.hopID = hopID
        self.activeCount = activeCount
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(.lite05, "ANNOUNCE_OK")
        buffer.writeMessage { body in
            body.writeQUICVarint(hopID)
            body.writeQUICVarint(activeCount)
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> AnnounceOK? {
        try version.require(.lite05)
        return try buffer.readMessage(limits: limits) { body throws(WireError) in
            AnnounceOK(hopID: try body.varint(), activeCount: try body.varint())
        }
    }
}
