public import NIOCore

/// The header of a Group stream, after the stream type (uni 0x0); frames follow until FIN.
public struct GroupHeader: MoQMessage, Hashable {
    /// The SUBSCRIBE id this group belongs to.
    public var subscribeID: UInt64
    /// The group's sequence number within the track.
    public var sequence: UInt64
    /// lite-06 only: index of the first frame on this stream (non-zero for mid-group resumes);
    /// ignored when encoding older versions, 0 when decoding them.
    public var frameStart: UInt64

    public init(subscribeID: UInt64, sequence: UInt64, frameStart: UInt64 = 0) {
        self.subscribeID = subscribeID
        self.sequence = sequence
        self.frameStart = frameStart
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in
            body.writeQUICVarint(subscribeID)
            body.writeQUICVarint(sequence)
            if version >= .lite06 { body.writeQUICVarint(frameStart) }
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> GroupHeader? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            GroupHeader(
                subscribeID: try body.varint(),
                sequence: try body.varint(),
                frameStart: version >= .lite06 ? try body.varint() : 0
            )
        }
    }
}
