public import NIOCore

/// GOAWAY, on a Goaway stream: the sender is about to close; reconnect to `newSessionURI` if not empty.
public struct Goaway: MoQMessage, Hashable {
    public var newSessionURI: String

    public init(newSessionURI: String = "") {
        self.newSessionURI = newSessionURI
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in body.writeMoQString(newSessionURI) }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Goaway? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            Goaway(newSessionURI: try body.string())
        }
    }
}
