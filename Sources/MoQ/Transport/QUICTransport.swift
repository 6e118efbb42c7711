import MoQWire
public import NIOCore
public import QUIC

/// moq-lite over raw QUIC: the connection's streams as they are, stream codes mapped into the HTTP/3
/// range as the reference does (and accepted either way).
public struct QUICTransport: MoQTransportConnection {
    public let connection: QUICConnection

    public init(_ connection: QUICConnection) {
        self.connection = connection
    }

    public func deliverIncomingStreams(to handler: @escaping @Sendable ((any MoQTransportStream)?) -> Void) {
        connection.deliverIncomingStreams { stream in handler(stream.map { QUICTransportStream(stream: $0) }) }
    }

    public func openBidirectionalStream() async throws -> any MoQTransportStream {
        QUICTransportStream(stream: try await connection.openBidirectionalStream())
    }

    public func openUnidirectionalStream() async throws -> any MoQTransportStream {
        QUICTransportStream(stream: try await connection.openUnidirectionalStream())
    }

    public var taskExecutor: (any TaskExecutor)? { connection.taskExecutor }

    public func sendDatagram(_ payload: ByteBuffer) { connection.sendDatagram(payload) }
    public var incomingDatagrams: AsyncStream<ByteBuffer> { connection.incomingDatagrams }

    public func close(code: UInt64, reason: String) { connection.close(code: code, reason: reason) }

    public func pathEstimate() async -> (bitrate: UInt64, rttMs: UInt64) {
        let statistics = await connection.pathStatistics()
        return (
            statistics.estimatedBitrate,
            UInt64(
                max(
                    0,
                    statistics.smoothedRTT.components.seconds * 1000
                        + statistics.smoothedRTT.components.attoseconds / 1_000_000_000_000_000))
        )
    }

    public func closed() async -> (code: UInt64, reason: String) {
        let error = await connection.closed()
        return (error.code, error.reason.isEmpty ? error.description : error.reason)
    }
}

struct QUICTransportStream: MoQTransportStream {
    let stream: QUICStream

    var isUnidirectional: Bool { stream.isUnidirectional }

    func read() async throws -> ByteBuffer? {
        do {
            return try await stream.read()
        } catch QUICStreamError.reset(let code) {
            throw MoQStreamError(code: StreamErrorCode.fromWire(code), reason: "reset by peer")
        }
    }

    func write(_ buffer: ByteBuffer) async throws { try await stream.write(buffer) }
    func write(_ first: ByteBuffer, then second: ByteBuffer) async throws {
        try await stream.write(first, then: second)
    }
    func finish() async throws { try await stream.finish() }
    func reset(code: UInt64) { stream.reset(code: StreamErrorCode.toWire(code)) }
    func stopSending(code: UInt64) { stream.stopSending(code: StreamErrorCode.toWire(code)) }
    func stopReading() { stream.stopReading() }
    func whenReadable(_ handler: @escaping @Sendable () -> Void) { stream.whenReadable(handler) }
}
