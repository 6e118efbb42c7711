// Finds the source's epoch markers ("EPOCH" + 19 decimal digits of send time) in a client's byte stream.
#if canImport(Glibc)
    import Glibc
#endif

/// The marker every epoch starts with, and its length with the 19 digits of send time.
enum EpochMarker {
    static let prefix: [UInt8] = Array("EPOCH".utf8)
    static let length = 5 + 19
}

/// Scans `bytes[0..<count]` for complete markers, calling `found` with each one's send time, and returns
/// where the unscanned tail starts: the caller keeps `bytes[tail..<count]` (under one marker long) and puts
/// it in front of the next read, so a marker split across two reads is found exactly once.
@inline(__always)
func scanEpochMarkers(_ bytes: UnsafePointer<UInt8>, count: Int, found: (UInt64) -> Void) -> Int {
    var index = 0
    var consumed = 0
    while index + EpochMarker.length <= count {
        // memchr skips the padding between markers at memory speed.
        guard let hit = memchr(bytes + index, Int32(UInt8(ascii: "E")), count - EpochMarker.length + 1 - index) else {
            break
        }
        index = bytes.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        guard bytes[index + 1] == UInt8(ascii: "P"),
            bytes[index + 2] == UInt8(ascii: "O"), bytes[index + 3] == UInt8(ascii: "C"),
            bytes[index + 4] == UInt8(ascii: "H")
        else {
            index += 1
            continue
        }
        var sent: UInt64 = 0
        var valid = true
        for digit in 0..<19 {
            let byte = bytes[index + 5 + digit]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                valid = false
                break
            }
            sent = sent &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
        }
        if valid { found(sent) }
        index += EpochMarker.length
        consumed = index
    }
    return max(consumed, count - (EpochMarker.length - 1))
}
