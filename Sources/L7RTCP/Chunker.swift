public import NIOCore

/// Cuts and joins a track's frames into chunks of at most `chunkSize` bytes (§3.4, §3.12): whole frames
/// are joined while they fit, a frame is never split unless it alone exceeds the chunk size, and a group's
/// end flushes what is pending (so a chunk never waits for the next epoch).
public struct Chunker: Sendable {
    public let chunkSize: Int
    private var pending = ByteBuffer()
    /// The pending bytes begin inside a frame (the tail of one cut into chunks): the next chunk made is not
    /// at a frame's start, the one after it is.
    public private(set) var holdsFrameTail = false

    public init(chunkSize: Int) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
    }

    /// The chunks completed by `frame`.
    public mutating func add(_ frame: ByteBuffer) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        if pending.readableBytes > 0, pending.readableBytes + frame.readableBytes > chunkSize {
            out.append(pending)
            pending = ByteBuffer()
            holdsFrameTail = false
        }
        if frame.readableBytes > chunkSize {
            var rest = frame
            while rest.readableBytes > chunkSize { out.append(rest.readSlice(length: chunkSize)!) }
            pending = rest
            holdsFrameTail = true
        } else if pending.readableBytes == 0 {
            pending = frame
        } else {
            pending.writeImmutableBuffer(frame)
        }
        if pending.readableBytes == chunkSize {
            out.append(pending)
            pending = ByteBuffer()
            holdsFrameTail = false
        }
        return out
    }

    /// The pending bytes as a chunk (group end or track end), if any.
    public mutating func flush() -> ByteBuffer? {
        guard pending.readableBytes > 0 else { return nil }
        defer {
            pending = ByteBuffer()
            holdsFrameTail = false
        }
        return pending
    }
}
