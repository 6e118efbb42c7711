public import NIOCore

/// SETUP (lite-05+), the only message on each side's Setup stream (uni 0x1): the sender's parameters.
/// Always sent, even empty: the reference does not answer requests until it has the peer's SETUP.
public struct Setup: MoQMessage, Hashable {
    /// In wire order; ids are unique.
    public var parameters: [SetupParameter]

    public init(parameters: [SetupParameter] = []) {
        self.parameters = parameters
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(.lite05, "SETUP")
        buffer.writeMessage { body in
            body.writeQUICVarint(UInt64(parameters.count))
            for parameter in parameters { parameter.write(into: &body) }
        }
    }

    /// Throws `.malformed` for a duplicate parameter id or more than `limits.maxSetupParameters` parameters.
    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Setup? {
        try version.require(.lite05)
        return try buffer.readMessage(limits: limits) { body throws(WireError) in
            let count = try body.varint()
            guard count <= UInt64(limits.maxSetupParameters) else {
                throw .malformed("SETUP has \(count) parameters, at most \(limits.maxSetupParameters) allowed")
            }
            var parameters: [SetupParameter] = []
            var seen: Set<UInt64> = []
            for _ in 0..<count {
                let parameter = try SetupParameter.read(from: &body)
                guard seen.insert(parameter.id).inserted else {
                    throw .malformed("duplicate SETUP parameter \(parameter.id)")
                }
                parameters.append(parameter)
            }
            return Setup(parameters: parameters)
        }
    }

    /// Probing level (0x1), if sent.
    public var probe: UInt64? { first { if case .probe(let value) = $0 { value } else { nil } } }
    /// Request path and query (0x2), if sent.
    public var path: String? { first { if case .path(let value) = $0 { value } else { nil } } }
    /// Role (0x3), if sent.
    public var role: UInt64? { first { if case .role(let value) = $0 { value } else { nil } } }
    /// Link cost (0x4), if sent.
    public var cost: UInt64? { first { if case .cost(let value) = $0 { value } else { nil } } }
    /// Origin hop id (0x5), if sent.
    public var origin: UInt64? { first { if case .origin(let value) = $0 { value } else { nil } } }

    private func first<Value>(_ extract: (SetupParameter) -> Value?) -> Value? {
        parameters.lazy.compactMap(extract).first
    }
}
