public import HTTP3
import MoQWire
public import NIOCore

/// moq-lite over a WebTransport session (HTTP/3, ALPN `h3`): the session's streams and datagrams, stream
/// codes as WebTransport application codes, the session closed with CLOSE_WEBTRANSPORT_SESSION.
public struct WebTransportTransport: MoQTransportConnection {
    public let session: WebTransportSession
    /// A client owns its HTTP/3 connection and drives it from the session's `run`; a server's connection
    /// is driven by the server that accepted it.
    let drivesConnection: Bool

    public var connectPath: String? { session.request.path }
    public var taskExecutor: (any TaskExecutor)? { session.connection.quic.taskExecutor }

    public init(_ session: WebTransportSession, drivesConnection: Bool) {
        self.session = session
        self.drivesConnection = drivesConnection
    }

    public func deliverIncomingStreams(to handler: @escaping @Sendable ((any MoQTransportStream)?) -> Void) {
        session.deliverIncomingStreams { stream in handler(stream.map { WebTransportMoQStream(stream: $0) }) }
    }

    public func run() async {
        if drivesConnection { await session.connection.run() }
    }

    public func openBidirectionalStream() async throws -> any MoQTransportStream {
        WebTransportMoQStream(stream: try await session.openBidirectionalStream())
    }

    public func openUnidirectionalStream() async throws -> any MoQTransportStream {
        WebTransportMoQStream(stream: try await session.openUnidirectionalStream())
    }

    public func sendDatagram(_ payload: ByteBuffer) { session.sendDatagram(payload) }
    public var incomingDatagrams: AsyncStream<ByteBuffer> { session.incomingDatagrams }

    public func close(code: UInt64, reason: String) { session.close(code: UInt32(clamping: code), reason: reason) }

    public func closed() async -> (code: UInt64, reason: String) {
        let (code, reason) = await session.closed()
        return (UInt64(code), reason)
    }

    public func pathEstimate() async -> (bitrate: UInt64, rttMs: UInt64) {
        await QUICTransport(session.connection.quic).pathEstimate()
    }
}

/// A WebTransport stream as a moq-lite stream: moq-lite stream codes are the WebTransport codes.
struct WebTransportMoQStream: MoQTransportStream {
    let stream: WebTransportStream

    var isUnidirectional: Bool { stream.isUnidirectional }

    func read() async throws -> ByteBuffer? {
        do {
            return try await stream.read()
        } catch let error as WebTransportStreamError {
            throw MoQStreamError(code: error.code.map(UInt64.init) ?? error.wireCode, reason: "reset by peer")
        }
    }

    func write(_ buffer: ByteBuffer) async throws { try await stream.write(buffer) }
    func write(_ first: ByteBuffer, then second: ByteBuffer) async throws {
        try await stream.write(first, then: second)
    }
    func finish() async throws { try await stream.finish() }
    func reset(code: UInt64) { stream.reset(code: UInt32(clamping: code)) }
    func stopSending(code: UInt64) { stream.stopSending(code: UInt32(clamping: code)) }
    func stopReading() { stream.stopReading() }
    func whenReadable(_ handler: @escaping @Sendable () -> Void) { stream.whenReadable(handler) }
}
