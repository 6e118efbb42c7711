import NIOConcurrencyHelpers
public import NIOCore
import QUIC

/// One WebTransport session: the extended CONNECT stream that opened it (its id is the session id), the
/// streams and datagrams tagged with that id, and its close (a CLOSE_WEBTRANSPORT_SESSION capsule).
public final class WebTransportSession: Sendable {
    /// The session id: the CONNECT request stream's id.
    public let id: Int64
    /// The CONNECT request (its `:path` carries the application's path and query).
    public let request: HTTP3Request
    /// The protocol both sides agreed on with `wt-available-protocols` / `wt-protocol`, if any.
    public let negotiatedProtocol: String?
    public let connection: HTTP3Connection
    /// Streams the peer opened in this session; finishes when the session closes. Read them here or have
    /// them handed over with `deliverIncomingStreams(to:)`, not both.
    public var incomingStreams: AsyncStream<WebTransportStream> { streamArrivals.stream }
    /// Datagrams for this session, without their quarter-stream-id prefix.
    public let incomingDatagrams: AsyncStream<ByteBuffer>

    let connectStream: QUICStream
    private let streamArrivals = Arrivals<WebTransportStream>()
    private let datagramSink: AsyncStream<ByteBuffer>.Continuation
    private let state = NIOLockedValueBox(State())

    private struct State {
        var closed: (code: UInt32, reason: String)?
        var waiters: [CheckedContinuation<(code: UInt32, reason: String), Never>] = []
    }

    init(connectStream: QUICStream, request: HTTP3Request, negotiatedProtocol: String?, connection: HTTP3Connection) {
        self.id = connectStream.id
        self.connectStream = connectStream
        self.request = request
        self.negotiatedProtocol = negotiatedProtocol
        self.connection = connection
        (incomingDatagrams, datagramSink) = AsyncStream.makeStream(
            of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Hands each stream the peer opens in this session to `handler` (those already here at once, in
    /// order), then nil when the session closed: no task waits for them. Quick, non-blocking handlers only.
    public func deliverIncomingStreams(to handler: @escaping @Sendable (WebTransportStream?) -> Void) {
        streamArrivals.deliver(to: handler)
    }

    /// Opens a bidi stream; its 0x41 + session id header leaves with the first write.
    public func openBidirectionalStream() async throws -> WebTransportStream {
        let stream = try await connection.quic.openBidirectionalStream()
        return WebTransportStream(stream: stream, leftover: nil, header: header(HTTP3StreamType.webTransportBidi))
    }

    /// Opens a uni stream; its 0x54 + session id header leaves with the first write.
    public func openUnidirectionalStream() async throws -> WebTransportStream {
        let stream = try await connection.quic.openUnidirectionalStream()
        return WebTransportStream(stream: stream, leftover: nil, header: header(HTTP3StreamType.webTransportUni))
    }

    private func header(_ type: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeHTTP3Varint(type)
        buffer.writeHTTP3Varint(UInt64(id))
        return buffer
    }

    /// An HTTP/3 datagram: quarter stream id, then the payload.
    public func sendDatagram(_ payload: ByteBuffer) {
        var datagram = ByteBuffer()
        datagram.reserveCapacity(8 + payload.readableBytes)
        datagram.writeHTTP3Varint(UInt64(id / 4))
        datagram.writeImmutableBuffer(payload)
        connection.quic.sendDatagram(datagram)
    }

    /// Ends the session: CLOSE_WEBTRANSPORT_SESSION and FIN on the CONNECT stream. With one session per
    /// connection (what this side allows) the connection closes with the code mapped into HTTP/3's range.
    public func close(code: UInt32 = 0, reason: String = "") {
        guard markClosed(code: code, reason: reason) else { return }
        var data = ByteBuffer()
        let capsule = WebTransportCapsule.closeSession(code: code, reason: reason).encoded()
        HTTP3Frame.writeHeader(type: HTTP3Frame.FrameType.data, length: capsule.readableBytes, into: &data)
        data.writeImmutableBuffer(capsule)
        connectStream.finishWithoutWaiting(data)
        connection.sessionEnded(self, code: code, reason: reason, byPeer: false)
    }

    /// Waits for the session to end; returns its application code and reason.
    public func closed() async -> (code: UInt32, reason: String) {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state -> (code: UInt32, reason: String)? in
                if let closed = state.closed { return closed }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    public var isClosed: Bool { state.withLockedValue { $0.closed != nil } }

    func deliver(_ stream: WebTransportStream) {
        if !streamArrivals.add(stream) { stream.stopSending(code: 0) }
    }

    func deliver(datagram: ByteBuffer) { datagramSink.yield(datagram) }

    /// Records the end once; false when it had already ended.
    @discardableResult
    func markClosed(code: UInt32, reason: String) -> Bool {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<(code: UInt32, reason: String), Never>]? in
            guard state.closed == nil else { return nil }
            state.closed = (code, reason)
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        streamArrivals.finish()
        datagramSink.finish()
        for waiter in waiters { waiter.resume(returning: (code, reason)) }
        return true
    }
}
