/// Transmission ids: `tx-` + an RFC 9562 UUIDv7 in canonical lower-case text (§3.2), minted with 48 bits of
/// Unix milliseconds and 74 random bits, so they sort by creation time and cannot be guessed.
public enum TransmissionID {
    /// A new id for Unix time `milliseconds`.
    public static func make(milliseconds: UInt64, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { byte in String(byte, radix: 16).leftPadded(2) }.joined()
        let characters = Array(hex)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }
        return "tx-" + groups.joined(separator: "-")
    }

    public static func make(milliseconds: UInt64) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: milliseconds, using: &generator)
    }

    /// True for `tx-` + a canonical lower-case UUIDv7 (39 characters).
    public static func isValid(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 39, text.hasPrefix("tx-") else { return false }
        let uuid = Array(utf8[3...])
        for (index, byte) in uuid.enumerated() {
            switch index {
            case 8, 13, 18, 23: if byte != UInt8(ascii: "-") { return false }
            case 14: if byte != UInt8(ascii: "7") { return false }
            case 19: if !"89ab".utf8.contains(byte) { return false }
            default: if !"0123456789abcdef".utf8.contains(byte) { return false }
            }
        }
        return true
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
