public import NIOCore

/// One QUIC stream: bidirectional, or unidirectional (send-only if we opened it, receive-only if the peer did).
///
/// Reading returns chunks in order and `nil` at the peer's FIN; flow-control credit returns to the peer
/// only as chunks are read. Writing suspends while the stream holds more unacknowledged bytes than the
/// configured send buffer limit.
public final class QUICStream: Sendable {
    public let id: Int64
    public let connection: QUICConnection
    private let inbound: StreamInbound?
    private let gate: StreamSendGate?

    init(id: Int64, connection: QUICConnection, inbound: StreamInbound?, gate: StreamSendGate?) {
        self.id = id
        self.connection = connection
        self.inbound = inbound
        self.gate = gate
    }

    public var isUnidirectional: Bool { id & 0x2 != 0 }
    /// True when the client opened it (QUIC stream IDs carry the initiator in bit 0).
    public var isClientInitiated: Bool { id & 0x1 == 0 }

    /// The next received bytes, or `nil` once the peer finished the stream.
    /// Throws `QUICStreamError.reset` if the peer reset it.
    public func read() async throws -> ByteBuffer? {
        guard let inbound else { throw QUICStreamError.wrongDirection }
        return try await inbound.read()
    }

    /// Calls `handler` once `read()` would return without waiting (bytes, FIN or an error arrived; at once
    /// if they already did), on the connection's thread: a stream can be watched without a parked task.
    public func whenReadable(_ handler: @escaping @Sendable () -> Void) {
        guard let inbound else { return handler() }  // reading throws at once
        inbound.whenReadable(handler)
    }

    /// Reads to the end of the stream; throws if more than `limit` bytes arrive.
    public func readAll(limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        while let chunk = try await read() {
            guard all.readableBytes + chunk.readableBytes <= limit else {
                stopSending(code: 0)
                throw QUICStreamError.locallyClosed
            }
            if all.readableBytes == 0 { all = chunk } else { all.writeImmutableBuffer(chunk) }
        }
        return all
    }

    /// Queues bytes to send; suspends only while the send buffer is over its limit.
    public func write(_ buffer: ByteBuffer) async throws {
        try await write(buffer, finish: false)
    }

    /// Queues the last bytes and the FIN.
    public func write(_ buffer: ByteBuffer, finish: Bool) async throws {
        try await write(buffer, then: nil, finish: finish)
    }

    /// Queues two buffers back to back in one step (a frame header and its payload: one hop to the
    /// event loop, and the payload is never copied behind the header).
    public func write(_ first: ByteBuffer, then second: ByteBuffer?, finish: Bool = false) async throws {
        guard let gate else { throw QUICStreamError.wrongDirection }
        switch gate.reserve(first.readableBytes + (second?.readableBytes ?? 0)) {
        case .failed(let error):
            throw error
        case .fits:
            connection.enqueue(stream: id, first, then: second, finish: finish)
        case .overLimit:
            try await connection.write(stream: id, first, then: second, finish: finish)
        }
    }

    /// Ends the send side (FIN) after the bytes already queued.
    public func finish() async throws {
        try await write(ByteBuffer(), finish: true)
    }

    /// Queues the last bytes and the FIN from synchronous code without waiting for send-buffer room (a
    /// short closing message such as a WebTransport close capsule); ignored when the stream has failed.
    public func finishWithoutWaiting(_ buffer: ByteBuffer) {
        guard let gate else { return }
        if case .failed = gate.reserve(buffer.readableBytes) { return }
        connection.enqueue(stream: id, buffer, then: nil, finish: true)
    }

    /// Abandons the send side: RESET_STREAM with an application error code.
    public func reset(code: UInt64) { connection.reset(stream: id, code: code) }

    /// Asks the peer to stop sending: STOP_SENDING with an application error code.
    public func stopSending(code: UInt64) { connection.stopSending(stream: id, code: code) }

    /// Gives up reading, locally: a pending read and every later one throw `locallyClosed`, and whatever
    /// arrives is dropped. Nothing goes to the peer (unlike `stopSending`), and a stream whose FIN already
    /// arrived still reads to its end. Lets a task that also reads stop its reading from another task.
    public func stopReading() { inbound?.fail(.locallyClosed) }
}

extension QUICStream: AsyncSequence {
    public typealias Element = ByteBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: QUICStream
        public mutating func next() async throws -> ByteBuffer? { try await stream.read() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
