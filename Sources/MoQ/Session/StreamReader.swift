import MoQWire
import NIOCore

/// Buffers one transport stream and reads moq-lite messages, varints and frame payloads off it.
///
/// Messages are decoded only once complete: a message split over many QUIC packets costs one decode.
struct StreamReader {
    let stream: any MoQTransportStream
    let version: MoQVersion
    let limits: WireLimits
    private var buffer = ByteBuffer()
    private(set) var finished = false

    init(_ stream: any MoQTransportStream, version: MoQVersion, limits: WireLimits) {
        self.stream = stream
        self.version = version
        self.limits = limits
    }

    /// The stream's next chunk, nil at FIN.
    private mutating func nextChunk() async throws -> ByteBuffer? {
        guard !finished, let chunk = try await stream.read() else {
            finished = true
            return nil
        }
        return chunk
    }

    /// Pulls the next chunk into the buffer; false at FIN.
    private mutating func fill() async throws -> Bool {
        guard let chunk = try await nextChunk() else { return false }
        if buffer.readableBytes == 0 {
            buffer = chunk
        } else {
            buffer.writeImmutableBuffer(chunk)
        }
        return true
    }

    /// The next message, or nil at a clean FIN between messages. A FIN inside a message is an error.
    mutating func read<M: MoQMessage>(_ type: M.Type) async throws -> M? {
        while true {
            if let message = try M.decode(from: &buffer, version: version, limits: limits) { return message }
            guard try await fill() else {
                if buffer.readableBytes == 0 { return nil }
                throw WireError.truncated
            }
        }
    }

    /// Like `read`, but the stream must not end here.
    mutating func require<M: MoQMessage>(_ type: M.Type) async throws -> M {
        guard let message = try await read(type) else { throw WireError.truncated }
        return message
    }

    /// A varint (stream types), or nil at a clean FIN.
    mutating func readVarint() async throws -> UInt64? {
        while true {
            if let value = buffer.readQUICVarint() { return value }
            guard try await fill() else {
                if buffer.readableBytes == 0 { return nil }
                throw WireError.truncated
            }
        }
    }

    /// Exactly `count` bytes (a frame payload), as one buffer: a slice of the received chunk when it holds
    /// the whole payload, else gathered from the chunks (`gather`). A frame may be cached for long: a slice
    /// that would keep alive much more memory than itself is copied out instead (once, on receipt).
    mutating func readBytes(_ count: Int) async throws -> ByteBuffer {
        if buffer.readableBytes == 0, count > 0 {
            guard try await fill() else { throw WireError.truncated }
        }
        if buffer.readableBytes < count { return try await gather(count) }
        let payload = buffer.readSlice(length: count)!
        guard payload.storageCapacity > 2 * count + 1024 else { return payload }
        var copy = ByteBufferAllocator().buffer(capacity: count)
        copy.writeImmutableBuffer(payload)
        return copy
    }

    /// A payload spread over several chunks, copied once into a buffer of its own. Appending the chunks to
    /// the stream's buffer instead would regrow it several times per large frame: a realloc, a copy and
    /// fresh pages each time (for a 64 KiB frame, glibc even mmapped the last one). The buffer starts at
    /// twice what arrived so far, at least 64 KiB, and grows likewise, never past `count`: memory follows
    /// the bytes the peer sent (plus at most 64 KiB per stream), not the length it declared.
    private mutating func gather(_ count: Int) async throws -> ByteBuffer {
        var payload = ByteBufferAllocator().buffer(capacity: min(count, max(2 * buffer.readableBytes, 64 << 10)))
        payload.writeBuffer(&buffer)
        while payload.readableBytes < count {
            guard var chunk = try await nextChunk() else { throw WireError.truncated }
            var part = chunk.readSlice(length: min(chunk.readableBytes, count - payload.readableBytes))!
            if payload.writableBytes < part.readableBytes {
                let wanted = payload.readableBytes + part.readableBytes
                payload.reserveCapacity(min(count, max(2 * payload.readableBytes, wanted)))
            }
            payload.writeBuffer(&part)
            if chunk.readableBytes > 0 { buffer = chunk }  // the next message's first bytes
        }
        return payload
    }

    /// Bytes read but not consumed yet.
    var buffered: Int { buffer.readableBytes }
}
