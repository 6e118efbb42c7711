public import NIOCore

/// The first varint on a bidirectional stream: which transaction the stream carries.
public enum BidiStreamType: UInt64, Sendable, Hashable, CaseIterable {
    case announce = 1
    case subscribe = 2
    case fetch = 3
    case probe = 4
    case goaway = 5
    /// lite-05+.
    case track = 6

    /// The first version that has this stream.
    public var introduced: MoQVersion { self == .track ? .lite05 : .lite04 }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(introduced, "this bidi stream type")
        buffer.writeQUICVarint(rawValue)
    }

    /// nil until the varint is complete; `.unknownType` for a type this version does not define
    /// (the receiver resets such a stream with code 1 and carries on).
    public static func decode(from buffer: inout ByteBuffer, version: MoQVersion) throws(WireError) -> BidiStreamType? {
        guard let (value, length) = buffer.getQUICVarint(at: buffer.readerIndex) else { return nil }
        guard let type = BidiStreamType(rawValue: value), version >= type.introduced else { throw .unknownType(value) }
        buffer.moveReaderIndex(forwardBy: length)
        return type
    }
}

/// The first varint on a unidirectional stream.
public enum UniStreamType: UInt64, Sendable, Hashable, CaseIterable {
    /// A group of frames, publisher to subscriber.
    case group = 0
    /// The sender's SETUP (lite-05+).
    case setup = 1

    /// The first version that has this stream.
    public var introduced: MoQVersion { self == .setup ? .lite05 : .lite04 }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(introduced, "this uni stream type")
        buffer.writeQUICVarint(rawValue)
    }

    /// nil until the varint is complete; `.unknownType` for a type this version does not define.
    public static func decode(from buffer: inout ByteBuffer, version: MoQVersion) throws(WireError) -> UniStreamType? {
        guard let (value, length) = buffer.getQUICVarint(at: buffer.readerIndex) else { return nil }
        guard let type = UniStreamType(rawValue: value), version >= type.introduced else { throw .unknownType(value) }
        buffer.moveReaderIndex(forwardBy: length)
        return type
    }
}
