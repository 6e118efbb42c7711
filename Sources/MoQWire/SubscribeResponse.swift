public import NIOCore

/// A typed message from the publisher on a Subscribe stream. lite-04 answers with SUBSCRIBE_OK at once
/// and ends the track with FIN; lite-05+ reports the first group (START) and the exclusive end (END).
public enum SubscribeResponse: MoQMessage, Hashable {
    /// lite-04 SUBSCRIBE_OK (type 0): the publisher's view of the subscription; bounds "+1" encoded.
    case ok(priority: UInt8, ordered: Bool, maxLatencyMs: UInt64, startGroup: UInt64?, endGroup: UInt64?)
    /// lite-05+ SUBSCRIBE_START (type 0): the first group that will be delivered.
    case start(group: UInt64)
    /// lite-05+ SUBSCRIBE_END (type 1): no group at or above `group` will come.
    case end(group: UInt64)
    /// SUBSCRIBE_DROP (lite-05+ type 2, lite-04 type 1): groups `start...end` will not be delivered.
    case drop(start: UInt64, end: UInt64, errorCode: UInt64)

    private enum Lite04Kind: UInt64 {
        case ok = 0
        case drop = 1
    }

    private enum Lite05Kind: UInt64 {
        case start = 0
        case end = 1
        case drop = 2
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        switch self {
        case .ok(let priority, let ordered, let maxLatencyMs, let startGroup, let endGroup):
            precondition(version < .lite05, "SUBSCRIBE_OK does not exist on \(version.alpn)")
            buffer.writeTypedMessage(type: Lite04Kind.ok.rawValue) { body in
                body.writeInteger(priority)
                body.writeBool(ordered)
                body.writeQUICVarint(maxLatencyMs)
                body.writeOptionalVarint(startGroup)
                body.writeOptionalVarint(endGroup)
            }
        case .start(let group):
            version.preconditionAtLeast(.lite05, "SUBSCRIBE_START")
            buffer.writeTypedMessage(type: Lite05Kind.start.rawValue) { body in body.writeQUICVarint(group) }
        case .end(let group):
            version.preconditionAtLeast(.lite05, "SUBSCRIBE_END")
            buffer.writeTypedMessage(type: Lite05Kind.end.rawValue) { body in body.writeQUICVarint(group) }
        case .drop(let start, let end, let errorCode):
            let type = version < .lite05 ? Lite04Kind.drop.rawValue : Lite05Kind.drop.rawValue
            buffer.writeTypedMessage(type: type) { body in
                body.writeQUICVarint(start)
                body.writeQUICVarint(end)
                body.writeQUICVarint(errorCode)
            }
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> SubscribeResponse? {
        try buffer.readTypedMessage(limits: limits) { type, body throws(WireError) in
            version < .lite05 ? try decodeLite04(type: type, body: &body) : try decodeLite05(type: type, body: &body)
        }
    }

    private static func decodeLite04(type: UInt64, body: inout MessageReader) throws(WireError) -> SubscribeResponse {
        switch Lite04Kind(rawValue: type) {
        case .ok:
            return .ok(
                priority: try body.byte(),
                ordered: try body.bool(),
                maxLatencyMs: try body.varint(),
                startGroup: try body.optionalVarint(),
                endGroup: try body.optionalVarint()
            )
        case .drop:
            return try decodeDrop(body: &body)
        case nil:
            throw .unknownType(type)
        }
    }

    private static func decodeLite05(type: UInt64, body: inout MessageReader) throws(WireError) -> SubscribeResponse {
        switch Lite05Kind(rawValue: type) {
        case .start: return .start(group: try body.varint())
        case .end: return .end(group: try body.varint())
        case .drop: return try decodeDrop(body: &body)
        case nil: throw .unknownType(type)
        }
    }

    private static func decodeDrop(body: inout MessageReader) throws(WireError) -> SubscribeResponse {
        .drop(start: try body.varint(), end: try body.varint(), errorCode: try body.varint())
    }
}
