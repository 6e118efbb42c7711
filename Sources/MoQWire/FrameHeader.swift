public import NIOCore

/// The header of one frame on a Group stream or FETCH response: `[zigzag timestamp delta (05+)] size`.
/// Frames are not length-prefixed messages; the `size` payload bytes follow and are the caller's to
/// consume, possibly across several reads.
public struct FrameHeader: MoQMessage, Hashable {
    /// lite-05+: timestamp minus the previous frame's in this group (the first frame's is absolute),
    /// in the track's timescale. Not on the wire in lite-04: ignored when encoding, 0 when decoding.
    public var timestampDelta: Int64
    /// Payload length in bytes.
    public var size: UInt64

    public init(timestampDelta: Int64 = 0, size: UInt64) {
        self.timestampDelta = timestampDelta
        self.size = size
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        if version >= .lite05 { buffer.writeQUICVarint(ZigZag.encode(timestampDelta)) }
        buffer.writeQUICVarint(size)
    }

    /// Reads the header only; throws `.tooLong` when `size` exceeds `limits.maxFrameSize`.
    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> FrameHeader? {
        var index = buffer.readerIndex
        var timestampDelta: Int64 = 0
        if version >= .lite05 {
            guard let (zigzag, length) = buffer.getQUICVarint(at: index) else { return nil }
            timestampDelta = ZigZag.decode(zigzag)
            index += length
        }
        guard let (size, length) = buffer.getQUICVarint(at: index) else { return nil }
        guard size <= limits.maxFrameSize else { throw .tooLong(declared: size, limit: limits.maxFrameSize) }
        buffer.moveReaderIndex(to: index + length)
        return FrameHeader(timestampDelta: timestampDelta, size: size)
    }
}
