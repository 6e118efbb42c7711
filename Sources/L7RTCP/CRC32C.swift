public import NIOCore

/// CRC-32C (Castagnoli, reflected 0x82F63B78) for `X-Chunk-CRC32C` and push frames (§3.4, §3.11).
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        buffer.withUnsafeReadableBytes { bytes in
            table.withUnsafeBufferPointer { table in
                for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
            }
        }
        return ~crc
    }

    public static func hex(_ buffer: ByteBuffer) -> String { String(checksum(buffer), radix: 16).leftPadded(8) }
}
