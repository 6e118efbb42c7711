public import NIOCore

/// A moq-lite message as carried on a stream, encoded and decoded for one negotiated version.
public protocol MoQMessage: Sendable, Equatable {
    /// Appends the message with its framing (the type and length prefix where it has them; never the
    /// stream type). Encoding a message the version does not have is a programming error (a precondition):
    /// the session layer translates first. Fields the version lacks are left out.
    func encode(into buffer: inout ByteBuffer, version: MoQVersion)

    /// Reads one message; nil, with the reader index unchanged, until the buffer holds all of it.
    static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits
    ) throws(WireError) -> Self?
}

extension MoQVersion {
    /// Rejects a message that arrives on a version older than the one that introduced it.
    func require(_ introduced: MoQVersion) throws(WireError) {
        guard self >= introduced else { throw .versionUnsupported }
    }

    /// Traps when asked to encode a message on a version that does not have it.
    func preconditionAtLeast(_ introduced: MoQVersion, _ message: StaticString) {
        precondition(self >= introduced, "\(message) does not exist on \(alpn)")
    }
}
