public import NIOCore

/// The binary WebSocket frame of push mode (§3.11): `[u8 ver=1][u8 type][u16 stream_index][u64 packet_id BE]
/// [u32 crc32c][payload]`; type 0 = data, 1 = last, 2 = FEC parity (never sent: fec is not enabled).
public struct PushFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case data = 0
        case last = 1
        case parity = 2
    }

    public static let headerLength = 16

    public var kind: Kind
    public var streamIndex: UInt16
    public var packet: UInt64
    public var payload: ByteBuffer
    /// The payload's CRC-32C (computed when not given).
    public var crc32c: UInt32

    public init(kind: Kind, streamIndex: UInt16, packet: UInt64, payload: ByteBuffer, crc32c: UInt32? = nil) {
        self.kind = kind
        self.streamIndex = streamIndex
        self.packet = packet
        self.payload = payload
        self.crc32c = crc32c ?? CRC32C.checksum(payload)
    }

    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerLength + payload.readableBytes)
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(streamIndex)
        buffer.writeInteger(packet)
        buffer.writeInteger(crc32c)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// Parses a frame, nil if it is short, of another version, or its CRC does not match.
    public static func decode(_ buffer: ByteBuffer) -> PushFrame? {
        var buffer = buffer
        guard let version = buffer.readInteger(as: UInt8.self), version == 1,
            let kind = buffer.readInteger(as: UInt8.self).flatMap(Kind.init(rawValue:)),
            let index = buffer.readInteger(as: UInt16.self), let packet = buffer.readInteger(as: UInt64.self),
            let crc = buffer.readInteger(as: UInt32.self), CRC32C.checksum(buffer) == crc
        else { return nil }
        return PushFrame(kind: kind, streamIndex: index, packet: packet, payload: buffer, crc32c: crc)
    }
}
