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

    /// Pulls the next chunk into the buffer; false at FIN.
    private mutating func fill() async throws -> Bool {
        guard !finished, let chunk = try await stream.read() else {
            finished = true
            return false
        }
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

    /// Exactly `count` bytes (a frame payload), as one buffer; slices of the received chunks when they
    /// hold the whole payload, so large frames are not copied twice. A frame may be cached for long: a
    /// slice that would keep alive much more memory than itself is copied out instead (once, on receipt).
    mutating func readBytes(_ count: Int) async throws -> ByteBuffer {
        while buffer.readableBytes < count {
            guard try await fill() else { throw WireError.truncated }
        }
        let payload = buffer.readSlice(length: count)!
        guard payload.storageCapacity > 2 * count + 1024 else { return payload }
        var copy = ByteBufferAllocator().buffer(capacity: count)
        copy.writeImmutableBuffer(payload)
        return copy
    }

    /// Bytes read but not consumed yet.
    var buffered: Int { buffer.readableBytes }
}
