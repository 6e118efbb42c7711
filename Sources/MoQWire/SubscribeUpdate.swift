public import NIOCore

/// SUBSCRIBE_UPDATE, sent by the subscriber on an open Subscribe stream to change its preferences.
/// Its fields are also the tail of SUBSCRIBE, so both share the version mapping here.
public struct SubscribeUpdate: MoQMessage, Hashable {
    /// Subscriber priority; higher is more important.
    public var priority: UInt8
    /// Pre-06 only (lite-06 removed the byte): ignored when encoding on lite-06, false when decoding it.
    public var ordered: Bool
    /// Non-latest groups older than this relative to the latest may be dropped.
    public var maxLatencyMs: UInt64
    /// lite-06: the lowest group wanted, nil = no floor (0 on the wire). Older versions: the first
    /// group, nil = the latest ("+1" on the wire). So lite-06 cannot express an explicit group 0.
    public var startGroup: UInt64?
    /// The last group wanted, nil = open-ended ("+1" on the wire, all versions).
    public var endGroup: UInt64?
    /// lite-06 only: index of the first frame within the start group; ignored on older versions.
    public var startFrame: UInt64
    /// lite-06 only: frame bound within the last group, nil = whole group; ignored on older versions.
    public var endFrame: UInt64?

    public init(
        priority: UInt8,
        ordered: Bool = false,
        maxLatencyMs: UInt64 = 0,
        startGroup: UInt64? = nil,
        endGroup: UInt64? = nil,
        startFrame: UInt64 = 0,
        endFrame: UInt64? = nil
    ) {
        self.priority = priority
        self.ordered = ordered
        self.maxLatencyMs = maxLatencyMs
        self.startGroup = startGroup
        self.endGroup = endGroup
        self.startFrame = startFrame
        self.endFrame = endFrame
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in writeFields(into: &body, version: version) }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> SubscribeUpdate? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            try readFields(from: &body, version: version)
        }
    }

    func writeFields(into body: inout ByteBuffer, version: MoQVersion) {
        body.writeInteger(priority)
        if version < .lite06 { body.writeBool(ordered) }
        body.writeQUICVarint(maxLatencyMs)
        if version >= .lite06 {
            body.writeQUICVarint(startGroup ?? 0)
            body.writeOptionalVarint(endGroup)
            body.writeQUICVarint(startFrame)
            body.writeOptionalVarint(endFrame)
        } else {
            body.writeOptionalVarint(startGroup)
            body.writeOptionalVarint(endGroup)
        }
    }

    static func readFields(from body: inout MessageReader, version: MoQVersion) throws(WireError) -> SubscribeUpdate {
        let priority = try body.byte()
        let ordered = version < .lite06 ? try body.bool() : false
        let maxLatencyMs = try body.varint()
        guard version >= .lite06 else {
            return SubscribeUpdate(
                priority: priority,
                ordered: ordered,
                maxLatencyMs: maxLatencyMs,
                startGroup: try body.optionalVarint(),
                endGroup: try body.optionalVarint()
            )
        }
        let startFloor = try body.varint()
        return SubscribeUpdate(
            priority: priority,
            maxLatencyMs: maxLatencyMs,
            startGroup: startFloor == 0 ? nil : startFloor,
            endGroup: try body.optionalVarint(),
            startFrame: try body.varint(),
            endFrame: try body.optionalVarint()
        )
    }
}
