public import NIOCore

/// One chunk as retained: its bytes and their CRC-32C, computed once when the chunk is produced (not per
/// pull), for `X-Chunk-CRC32C` and push frames.
public struct Chunk: Sendable, Equatable {
    public let bytes: ByteBuffer
    public let crc32c: UInt32

    public init(_ bytes: ByteBuffer) {
        self.bytes = bytes
        self.crc32c = CRC32C.checksum(bytes)
    }

    public var crcHex: String { String(crc32c, radix: 16).leftPadded(8) }
}
