import NIOCore

/// Reads the fields of one complete message body. Running out of bytes here means the body is shorter
/// than its fields (`.truncated`), not that more input is needed.
struct MessageReader {
    private var body: ByteBuffer
    let limits: WireLimits

    init(body: ByteBuffer, limits: WireLimits) {
        self.body = body
        self.limits = limits
    }

    var isEmpty: Bool { body.readableBytes == 0 }

    mutating func varint() throws(WireError) -> UInt64 {
        guard let value = body.readQUICVarint() else { throw .truncated }
        return value
    }

    /// A "+1" encoded optional integer.
    mutating func optionalVarint() throws(WireError) -> UInt64? {
        OptionalVarint.decode(try varint())
    }

    mutating func byte() throws(WireError) -> UInt8 {
        guard let value = body.readInteger(as: UInt8.self) else { throw .truncated }
        return value
    }

    /// A u8 that must be 0 or 1 (the pre-06 `ordered` flag).
    mutating func bool() throws(WireError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .malformed("boolean byte \(other)")
        }
    }

    mutating func string() throws(WireError) -> String {
        guard let string = try body.readMoQString(limit: limits.maxStringLength) else { throw .truncated }
        return string
    }

    /// A varint count followed by that many varints, the count bounded by `limit` before allocating.
    mutating func varintList(limit: Int) throws(WireError) -> [UInt64] {
        let count = try varint()
        guard count <= UInt64(limit) else { throw .tooLong(declared: count, limit: UInt64(limit)) }
        var values: [UInt64] = []
        values.reserveCapacity(Int(count))
        for _ in 0..<count { values.append(try varint()) }
        return values
    }

    /// The next `length` bytes, as a slice sharing storage with the input.
    mutating func slice(length: UInt64) throws(WireError) -> ByteBuffer {
        guard length <= UInt64(body.readableBytes), let slice = body.readSlice(length: Int(length)) else {
            throw .truncated
        }
        return slice
    }

    /// Everything left in the body.
    mutating func rest() -> ByteBuffer {
        body.readSlice(length: body.readableBytes)!
    }

    /// Throws `.trailingBytes` when the parsed fields did not use the whole body.
    func finish() throws(WireError) {
        guard isEmpty else { throw .trailingBytes }
    }
}
