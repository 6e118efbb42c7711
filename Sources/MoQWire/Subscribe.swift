public import NIOCore

/// SUBSCRIBE, the first message on a Subscribe stream: which track, from where, and how.
public struct Subscribe: MoQMessage, Hashable {
    /// Chosen by the subscriber, unique per session; echoed in every GROUP header and datagram.
    public var id: UInt64
    public var broadcast: String
    public var track: String
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
        id: UInt64,
        broadcast: String,
        track: String,
        priority: UInt8,
        ordered: Bool = false,
        maxLatencyMs: UInt64 = 0,
        startGroup: UInt64? = nil,
        endGroup: UInt64? = nil,
        startFrame: UInt64 = 0,
        endFrame: UInt64? = nil
    ) {
        self.id = id
        self.broadcast = broadcast
        self.track = track
        self.priority = priority
        self.ordered = ordered
        self.maxLatencyMs = maxLatencyMs
        self.startGroup = startGroup
        self.endGroup = endGroup
        self.startFrame = startFrame
        self.endFrame = endFrame
    }

    /// The preferences part of the subscription, as a SUBSCRIBE_UPDATE would carry it.
    public var preferences: SubscribeUpdate {
        SubscribeUpdate(
            priority: priority,
            ordered: ordered,
            maxLatencyMs: maxLatencyMs,
            startGroup: startGroup,
            endGroup: endGroup,
            startFrame: startFrame,
            endFrame: endFrame
        )
    }

    /// A subscription to `broadcast`/`track` with the preferences of `update`.
    public init(id: UInt64, broadcast: String, track: String, preferences update: SubscribeUpdate) {
        self.init(
            id: id,
            broadcast: broadcast,
            track: track,
            priority: update.priority,
            ordered: update.ordered,
            maxLatencyMs: update.maxLatencyMs,
            startGroup: update.startGroup,
            endGroup: update.endGroup,
            startFrame: update.startFrame,
            endFrame: update.endFrame
        )
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in
            body.writeQUICVarint(id)
            body.writeMoQString(broadcast)
            body.writeMoQString(track)
            preferences.writeFields(into: &body, version: version)
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Subscribe? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            Subscribe(
                id: try body.varint(),
                broadcast: try body.string(),
                track: try body.string(),
                preferences: try SubscribeUpdate.readFields(from: &body, version: version)
            )
        }
    }
}
