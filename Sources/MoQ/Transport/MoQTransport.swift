public import NIOCore

/// A connection a moq-lite session runs over: raw QUIC today, WebTransport later. The session knows
/// nothing else about its transport.
public protocol MoQTransportConnection: Sendable {
    func openBidirectionalStream() async throws -> any MoQTransportStream
    func openUnidirectionalStream() async throws -> any MoQTransportStream
    /// Hands each stream the peer opens to `handler` as it arrives (on the connection's thread; quick,
    /// non-blocking handlers only), then nil once the connection closed. Called once.
    func deliverIncomingStreams(to handler: @escaping @Sendable ((any MoQTransportStream)?) -> Void)
    func sendDatagram(_ payload: ByteBuffer)
    var incomingDatagrams: AsyncStream<ByteBuffer> { get }
    /// Closes the whole session with a moq-lite session error code (section 7).
    func close(code: UInt64, reason: String)
    /// Waits for the connection to end; returns the session code and reason.
    func closed() async -> (code: UInt64, reason: String)
    /// The congestion controller's bitrate estimate (bits/s) and smoothed RTT (ms), for PROBE reports.
    func pathEstimate() async -> (bitrate: UInt64, rttMs: UInt64)
    /// Work the transport itself needs while the session runs (a client's HTTP/3 connection); returns
    /// when the connection closes. Most transports need none.
    func run() async
    /// The path (and query) the peer connected to, when the transport carries one (WebTransport's CONNECT
    /// `:path`); raw QUIC carries it in SETUP instead.
    var connectPath: String? { get }
    /// Where the session's tasks run best: the connection's own thread (nil: the global executor).
    var taskExecutor: (any TaskExecutor)? { get }
}

extension MoQTransportConnection {
    public func run() async {}
    public var connectPath: String? { nil }
    public var taskExecutor: (any TaskExecutor)? { nil }
}

/// One stream of a transport connection. Stream error codes are moq-lite codes: the transport maps
/// them to and from its wire range.
public protocol MoQTransportStream: Sendable {
    var isUnidirectional: Bool { get }
    /// Next chunk, nil at FIN; throws `MoQStreamError` when the peer reset the stream.
    func read() async throws -> ByteBuffer?
    func write(_ buffer: ByteBuffer) async throws
    /// Two buffers back to back in one step (a frame header and its payload), without copying either.
    func write(_ first: ByteBuffer, then second: ByteBuffer) async throws
    func finish() async throws
    func reset(code: UInt64)
    func stopSending(code: UInt64)
    /// Gives up reading without telling the peer: a pending read and all later ones throw.
    func stopReading()
    /// Calls `handler` once `read()` would return without waiting (data, FIN or an error are there; at
    /// once if they already are), so a stream the peer seldom writes to needs no task parked on it.
    func whenReadable(_ handler: @escaping @Sendable () -> Void)
}
