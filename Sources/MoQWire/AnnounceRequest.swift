public import NIOCore

/// ANNOUNCE_REQUEST, the first message on an Announce stream: which broadcasts the subscriber wants to hear of.
public struct AnnounceRequest: MoQMessage, Hashable {
    /// Path prefix of the wanted broadcasts ("" = all).
    public var prefix: String
    /// lite-04/05: leave out broadcasts whose hop chain holds this id (0 = none). Not on the wire in
    /// lite-06 (the SETUP Origin parameter replaced it): ignored when encoding, 0 when decoding.
    public var excludeHop: UInt64

    public init(prefix: String, excludeHop: UInt64 = 0) {
        self.prefix = prefix
        self.excludeHop = excludeHop
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in
            body.writeMoQString(prefix)
            if version < .lite06 { body.writeQUICVarint(excludeHop) }
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> AnnounceRequest? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            let prefix = try body.string()
            let excludeHop = version < .lite06 ? try body.varint() : 0
            return AnnounceRequest(prefix: prefix, excludeHop: excludeHop)
        }
    }
}
