import NIOConcurrencyHelpers
public import NIOCore

/// One established QUIC connection. A handle: every operation runs on the connection's event loop.
public final class QUICConnection: Sendable {
    /// The ALPN protocol both sides agreed on.
    public let negotiatedALPN: String?
    /// True when the TLS handshake resumed an earlier session (a session ticket was accepted).
    public let isResumed: Bool
    public let remoteAddress: SocketAddress
    /// Streams the peer opened, in order; finishes when the connection closes. Read them here or have
    /// them handed over with `deliverIncomingStreams(to:)`, not both.
    public var incomingStreams: AsyncStream<QUICStream> { streamArrivals.stream }
    /// DATAGRAM frames received; the oldest are dropped when the reader falls behind.
    public let incomingDatagrams: AsyncStream<ByteBuffer>
    public let eventLoop: any EventLoop
    /// Runs tasks on `eventLoop`: a protocol running on this connection prefers it for its tasks. Shared by
    /// the endpoint's connections, so that a write pass can wait for all the work a read woke.
    public let taskExecutor: EventLoopTaskExecutor

    private let core: NIOLoopBound<ConnectionCore>
    private let streamArrivals = Arrivals<QUICStream>()
    private let datagramSink: AsyncStream<ByteBuffer>.Continuation
    private let closedPromise: EventLoopPromise<QUICConnectionError>

    init(core: ConnectionCore, alpn: String?, resumed: Bool) {
        let loop = core.endpoint.loop
        self.core = NIOLoopBound(core, eventLoop: loop)
        self.eventLoop = loop
        self.taskExecutor = core.endpoint.taskExecutor
        self.negotiatedALPN = alpn
        self.isResumed = resumed
        self.remoteAddress = core.remoteAddress
        (incomingDatagrams, datagramSink) = AsyncStream.makeStream(
            of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(core.transport.datagramReceiveQueueLimit))
        closedPromise = loop.makePromise(of: QUICConnectionError.self)
    }

    /// Hands each stream the peer opens to `handler`, on the connection's event loop (those already here
    /// at once, in order), then nil when the connection closed: no task waits for them. The handler must
    /// be quick and must not block.
    public func deliverIncomingStreams(to handler: @escaping @Sendable (QUICStream?) -> Void) {
        streamArrivals.deliver(to: handler)
    }

    /// Opens a bidirectional stream, waiting for stream credit if the peer's limit is reached.
    public func openBidirectionalStream() async throws -> QUICStream {
        try await open(bidirectional: true)
    }

    /// Opens a send-only unidirectional stream.
    public func openUnidirectionalStream() async throws -> QUICStream {
        try await open(bidirectional: false)
    }

    private func open(bidirectional: Bool) async throws -> QUICStream {
        let core = self.core
        // On the loop (a task preferring `taskExecutor`) a stream with credit opens without suspending.
        if eventLoop.inEventLoop, let stream = try core.value.openNow(bidirectional: bidirectional) { return stream }
        return try await withCheckedThrowingContinuation { continuation in
            eventLoop.execute { core.value.openStream(bidirectional: bidirectional, continuation: continuation) }
        }
    }

    /// Queues a DATAGRAM frame (unreliable: it may be dropped under congestion or if too large).
    public func sendDatagram(_ payload: ByteBuffer) {
        let core = self.core
        eventLoop.execute { core.value.sendDatagram(payload) }
    }

    /// Round-trip time and congestion state of the current path (for PROBE reports and metrics).
    public func pathStatistics() async -> QUICPathStatistics {
        let core = self.core
        return (try? await eventLoop.submit { core.value.pathStatistics }.get()) ?? QUICPathStatistics()
    }

    /// The largest datagram payload the peer accepts on the current path.
    public func maxDatagramPayloadSize() async -> Int {
        let core = self.core
        return (try? await eventLoop.submit { core.value.maxDatagramPayload }.get()) ?? 0
    }

    /// Closes the connection with an application error code and reason (CONNECTION_CLOSE 0x1d).
    public func close(code: UInt64 = 0, reason: String = "") {
        let core = self.core
        eventLoop.execute { core.value.close(code: code, reason: reason) }
    }

    /// Waits until the connection is over and returns why.
    public func closed() async -> QUICConnectionError {
        (try? await closedPromise.futureResult.get()) ?? QUICConnectionError(kind: .local, reason: "unknown")
    }

    // MARK: loop side

    func incoming(_ stream: QUICStream) { streamArrivals.add(stream) }

    func incomingDatagram(_ bytes: UnsafeRawBufferPointer) {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        datagramSink.yield(buffer)
    }

    func finish(_ error: QUICConnectionError) {
        streamArrivals.finish()
        datagramSink.finish()
        closedPromise.succeed(error)
    }

    // MARK: stream operations, on behalf of QUICStream

    func write(stream id: Int64, _ buffer: ByteBuffer, then second: ByteBuffer?, finish: Bool) async throws {
        let core = self.core
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            eventLoop.execute {
                core.value.write(id, buffer, then: second, finish: finish, continuation: continuation)
            }
        }
    }

    /// Queues bytes without waiting (the stream's gate said they fit).
    func enqueue(stream id: Int64, _ buffer: ByteBuffer, then second: ByteBuffer?, finish: Bool) {
        let core = self.core
        if eventLoop.inEventLoop {
            core.value.write(id, buffer, then: second, finish: finish, continuation: nil)
        } else {
            eventLoop.execute { core.value.write(id, buffer, then: second, finish: finish, continuation: nil) }
        }
    }

    func reset(stream id: Int64, code: UInt64) {
        let core = self.core
        eventLoop.execute { core.value.resetStream(id, code: code) }
    }

    func stopSending(stream id: Int64, code: UInt64) {
        let core = self.core
        eventLoop.execute { core.value.stopSending(id, code: code) }
    }
}

/// What the congestion controller knows about the path.
public struct QUICPathStatistics: Sendable {
    public var smoothedRTT: Duration = .zero
    public var minRTT: Duration = .zero
    public var congestionWindow = 0
    public var bytesInFlight = 0

    public init() {}

    public init(smoothedRTT: Duration, minRTT: Duration, congestionWindow: Int, bytesInFlight: Int) {
        self.smoothedRTT = smoothedRTT
        self.minRTT = minRTT
        self.congestionWindow = congestionWindow
        self.bytesInFlight = bytesInFlight
    }

    /// The rate the congestion window allows: cwnd per smoothed RTT, in bits per second (0 if unknown).
    public var estimatedBitrate: UInt64 {
        let rttNanoseconds =
            smoothedRTT.components.seconds * 1_000_000_000 + smoothedRTT.components.attoseconds / 1_000_000_000
        guard rttNanoseconds > 0 else { return 0 }
        return UInt64(Double(congestionWindow) * 8 * 1e9 / Double(rttNanoseconds))
    }
}
