public import NIOCore

/// An announcement on an Announce stream, after ANNOUNCE_OK: a broadcast under the requested prefix
/// appeared, changed route or went away. lite-06 has three typed messages that refer to broadcasts by
/// an implicit per-stream announce id; lite-04/05 have one message with a status byte.
public enum Announce: MoQMessage, Hashable {
    /// lite-06 ANNOUNCE_START (type 0): a broadcast appeared; it takes the stream's next announce id.
    case start(suffix: String, hops: [UInt64], cost: UInt64, cold: UInt64)
    /// lite-06 ANNOUNCE_END (type 1): the broadcast with this announce id is gone.
    case end(id: UInt64)
    /// lite-06 ANNOUNCE_UPDATE (type 2): the route to the broadcast with this announce id changed.
    case update(id: UInt64, hops: [UInt64], cost: UInt64, cold: UInt64)
    /// lite-04/05 ANNOUNCE. On lite-04 `hops` ends with the sender's own hop id; on lite-05 it does not.
    case legacy(status: AnnounceStatus, suffix: String, hops: [UInt64])

    private enum TypedKind: UInt64 {
        case start = 0
        case end = 1
        case update = 2
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        switch self {
        case .start(let suffix, let hops, let cost, let cold):
            version.preconditionAtLeast(.lite06, "ANNOUNCE_START")
            buffer.writeTypedMessage(type: TypedKind.start.rawValue) { body in
                body.writeMoQString(suffix)
                body.writeVarintList(hops)
                body.writeQUICVarint(cost)
                body.writeQUICVarint(cold)
            }
        case .end(let id):
            version.preconditionAtLeast(.lite06, "ANNOUNCE_END")
            buffer.writeTypedMessage(type: TypedKind.end.rawValue) { body in
                body.writeQUICVarint(id)
            }
        case .update(let id, let hops, let cost, let cold):
            version.preconditionAtLeast(.lite06, "ANNOUNCE_UPDATE")
            buffer.writeTypedMessage(type: TypedKind.update.rawValue) { body in
                body.writeQUICVarint(id)
                body.writeVarintList(hops)
                body.writeQUICVarint(cost)
                body.writeQUICVarint(cold)
            }
        case .legacy(let status, let suffix, let hops):
            precondition(version < .lite06, "lite-06 announcements are typed (start, end, update)")
            buffer.writeMessage { body in
                body.writeInteger(status.rawValue)
                body.writeMoQString(suffix)
                body.writeVarintList(hops)
            }
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Announce? {
        if version < .lite06 {
            return try buffer.readMessage(limits: limits) { body throws(WireError) in
                let rawStatus = try body.byte()
                guard let status = AnnounceStatus(rawValue: rawStatus) else {
                    throw .malformed("announce status \(rawStatus)")
                }
                return .legacy(
                    status: status, suffix: try body.string(), hops: try body.varintList(limit: limits.maxHops))
            }
        }
        return try buffer.readTypedMessage(limits: limits) { type, body throws(WireError) in
            switch TypedKind(rawValue: type) {
            case .start:
                return .start(
                    suffix: try body.string(),
                    hops: try body.varintList(limit: limits.maxHops),
                    cost: try body.varint(),
                    cold: try body.varint()
                )
            case .end:
                return .end(id: try body.varint())
            case .update:
                return .update(
                    id: try body.varint(),
                    hops: try body.varintList(limit: limits.maxHops),
                    cost: try body.varint(),
                    cold: try body.varint()
                )
            case nil:
                throw .unknownType(type)
            }
        }
    }
}
