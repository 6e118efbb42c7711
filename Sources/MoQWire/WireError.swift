/// Why bytes from a peer are not a valid moq-lite message. Input that is merely incomplete is not an
/// error: decoders return nil and wait for more bytes.
public enum WireError: Error, Sendable, Hashable {
    /// A complete unit (a message body or a datagram) ends before the fields it must contain.
    case truncated
    /// A declared length or count exceeds the configured limit.
    case tooLong(declared: UInt64, limit: UInt64)
    /// A field holds a value the protocol does not allow.
    case malformed(String)
    /// A message or stream type this version does not define.
    case unknownType(UInt64)
    /// A message body holds bytes after its last field.
    case trailingBytes
    /// The message does not exist in the negotiated version.
    case versionUnsupported
}
