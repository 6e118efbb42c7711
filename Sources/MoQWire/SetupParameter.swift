public import NIOCore

/// One SETUP parameter: `varint(id) varint(value length) value`, where numeric values are a varint
/// and the path is UTF-8.
public enum SetupParameter: Sendable, Hashable {
    /// 0x1: bandwidth probing level, 0 none, 1 report, 2 (or more) increase.
    case probe(UInt64)
    /// 0x2: the request `path[?query]`; sent by raw-QUIC clients only.
    case path(String)
    /// 0x3: 0 both, 1 publisher, 2 subscriber; sent by clients only.
    case role(UInt64)
    /// 0x4: price of pulling from the sender (default 1).
    case cost(UInt64)
    /// 0x5: the sender's hop id (0 = none), for split horizon.
    case origin(UInt64)
    /// Any other id (ids 0x1...0x5 belong to the cases above), kept so a caller can see it; peers ignore it.
    case unknown(id: UInt64, value: ByteBuffer)

    private enum Known: UInt64 {
        case probe = 1
        case path = 2
        case role = 3
        case cost = 4
        case origin = 5
    }

    /// The parameter id on the wire.
    public var id: UInt64 {
        switch self {
        case .probe: Known.probe.rawValue
        case .path: Known.path.rawValue
        case .role: Known.role.rawValue
        case .cost: Known.cost.rawValue
        case .origin: Known.origin.rawValue
        case .unknown(let id, _): id
        }
    }

    func write(into body: inout ByteBuffer) {
        body.writeQUICVarint(id)
        switch self {
        case .probe(let value), .role(let value), .cost(let value), .origin(let value):
            body.writeQUICVarint(UInt64(ByteBuffer.quicVarintLength(of: value)))
            body.writeQUICVarint(value)
        case .path(let path):
            body.writeMoQString(path)
        case .unknown(_, let value):
            body.writeQUICVarint(UInt64(value.readableBytes))
            body.writeImmutableBuffer(value)
        }
    }

    static func read(from body: inout MessageReader) throws(WireError) -> SetupParameter {
        let id = try body.varint()
        switch Known(rawValue: id) {
        case .path: return .path(try body.string())
        case .probe: return .probe(try readNumber(from: &body))
        case .role: return .role(try readNumber(from: &body))
        case .cost: return .cost(try readNumber(from: &body))
        case .origin: return .origin(try readNumber(from: &body))
        case nil: return .unknown(id: id, value: try body.slice(length: try body.varint()))
        }
    }

    /// A numeric value: exactly one varint filling the declared value length.
    private static func readNumber(from body: inout MessageReader) throws(WireError) -> UInt64 {
        var value = try body.slice(length: try body.varint())
        guard let number = value.readQUICVarint(), value.readableBytes == 0 else {
            throw .malformed("SETUP parameter value is not one varint")
        }
        return number
    }
}
