public import NIOCore

/// The reference peers' deterministic frame payloads (Tests/Peers/moq_ref_payload.py), so a test can
/// check every received frame byte for byte without being told its contents.
public enum ReferencePayload {
    public static func make(group: UInt64, frame: Int, size: Int, kind: Character = "g") -> [UInt8] {
        let header = Array("\(kind)\(pad(group % 100_000_000, 8)) f\(pad(UInt64(frame % 100_000), 5))".utf8)
        if size <= header.count { return Array(header.prefix(size)) }
        var bytes = header
        let start = (16 + 7 * Int(group % 256) + 13 * frame) % 256
        for k in 0..<(size - 16) { bytes.append(UInt8((start + k) % 256)) }
        return bytes
    }

    public static func matches(_ payload: ByteBuffer, group: UInt64, frame: Int) -> Bool {
        Array(payload.readableBytesView) == make(group: group, frame: frame, size: payload.readableBytes)
    }

    private static func pad(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
