/// Zigzag mapping of signed to unsigned integers, so small negative frame timestamp deltas stay short varints.
public enum ZigZag {
    /// `(s << 1) ^ (s >> 63)`: 0, -1, 1, -2 ... become 0, 1, 2, 3 ...
    public static func encode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// `(u >> 1) ^ -(u & 1)`, the inverse of `encode`.
    public static func decode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
