public import NIOCore

/// The bounded retention of one feed (§3.4): chunks by dense absolute id, the oldest evicted past a count
/// or byte bound; answers a lookup as available, not yet produced, evicted, or past the end.
public struct ChunkRing: Sendable {
    public enum Lookup: Sendable, Equatable {
        case chunk(Chunk, isLast: Bool)
        case notYet
        case evicted(oldest: UInt64)
        case pastEnd(total: UInt64)
    }

    public let maxChunks: Int
    public let maxBytes: Int
    private var chunks: [Chunk?] = []
    /// Index in `chunks` of the oldest retained chunk (a ring without reallocation).
    private var head = 0
    private var count = 0
    public private(set) var oldest: UInt64 = 0
    public private(set) var bytes = 0
    /// Set when the source ended for good: the id after the last chunk.
    public private(set) var total: UInt64?

    public init(maxChunks: Int, maxBytes: Int) {
        self.maxChunks = max(1, maxChunks)
        self.maxBytes = max(1, maxBytes)
    }

    /// The id the next appended chunk gets.
    public var next: UInt64 { oldest + UInt64(count) }
    public var retained: Int { count }

    public mutating func append(_ bytes: ByteBuffer) { append(Chunk(bytes)) }

    public mutating func append(_ chunk: Chunk) {
        precondition(total == nil, "append after finish")
        let size = chunk.bytes.readableBytes
        while count > 0, count >= maxChunks || self.bytes + size > maxBytes { evictOldest() }
        if chunks.count < maxChunks {
            chunks.append(chunk)
        } else {
            chunks[(head + count) % maxChunks] = chunk
        }
        count += 1
        self.bytes += size
    }

    private mutating func evictOldest() {
        bytes -= chunks[head]?.bytes.readableBytes ?? 0
        chunks[head] = nil
        head = (head + 1) % maxChunks
        count -= 1
        oldest += 1
    }

    /// Marks the source ended: the last appended chunk is the last chunk.
    public mutating func finish() { if total == nil { total = next } }

    public func lookup(_ id: UInt64) -> Lookup {
        if id < oldest { return .evicted(oldest: oldest) }
        if id >= next {
            if let total { return .pastEnd(total: total) }
            return .notYet
        }
        let chunk = chunks[(head + Int(id - oldest)) % maxChunks]!
        return .chunk(chunk, isLast: total.map { id + 1 == $0 } ?? false)
    }
}
