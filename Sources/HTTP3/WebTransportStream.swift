import NIOConcurrencyHelpers
public import NIOCore
public import QUIC

/// A WebTransport stream: a QUIC stream past its 0x41/0x54 + session id header. Reads return the bytes
/// that arrived with the header first; writes go straight to QUIC. Error codes are WebTransport
/// application codes, mapped into the HTTP/3 range on the wire.
public final class WebTransportStream: Sendable {
    public let stream: QUICStream
    /// Bytes that arrived behind the stream header, returned by the first read.
    private let leftover: NIOLockedValueBox<ByteBuffer?>
    /// The stream header of a stream we opened, sent with the first write (one hop to the loop, not two).
    private let header: NIOLockedValueBox<ByteBuffer?>

    init(stream: QUICStream, leftover: ByteBuffer?, header: ByteBuffer? = nil) {
        self.stream = stream
        self.leftover = NIOLockedValueBox(leftover.flatMap { $0.readableBytes > 0 ? $0 : nil })
        self.header = NIOLockedValueBox(header)
    }

    /// The unsent stream header, once.
    private func takeHeader() -> ByteBuffer? {
        header.withLockedValue { value in
            defer { value = nil }
            return value
        }
    }

    /// Small first writes (a group header) join the stream header; a large one goes behind it uncopied.
    private static let mergeLimit = 1024

    public var isUnidirectional: Bool { stream.isUnidirectional }
    public var id: Int64 { stream.id }

    /// The next chunk, nil at FIN; throws `WebTransportStreamError` when the peer reset the stream.
    public func read() async throws -> ByteBuffer? {
        if let first = leftover.withLockedValue({ value -> ByteBuffer? in
            defer { value = nil }
            return value
        }) {
            return first
        }
        do {
            return try await stream.read()
        } catch QUICStreamError.reset(let code) {
            throw WebTransportStreamError(code: WebTransportErrorCode.fromHTTP3(code), wireCode: code)
        }
    }

    /// Calls `handler` once `read()` would return without waiting (see `QUICStream.whenReadable`).
    public func whenReadable(_ handler: @escaping @Sendable () -> Void) {
        if leftover.withLockedValue({ $0 != nil }) { return handler() }
        stream.whenReadable(handler)
    }

    public func write(_ buffer: ByteBuffer) async throws {
        guard var header = takeHeader() else { return try await stream.write(buffer) }
        if buffer.readableBytes > Self.mergeLimit { return try await stream.write(header, then: buffer) }
        header.writeImmutableBuffer(buffer)
        try await stream.write(header)
    }

    public func write(_ first: ByteBuffer, then second: ByteBuffer) async throws {
        guard var header = takeHeader() else { return try await stream.write(first, then: second) }
        if first.readableBytes > Self.mergeLimit {
            try await stream.write(header, then: first)
            return try await stream.write(second)
        }
        header.writeImmutableBuffer(first)
        try await stream.write(header, then: second)
    }

    public func finish() async throws {
        if let header = takeHeader() { return try await stream.write(header, finish: true) }
        try await stream.finish()
    }
    public func reset(code: UInt32) { stream.reset(code: WebTransportErrorCode.toHTTP3(code)) }
    public func stopSending(code: UInt32) { stream.stopSending(code: WebTransportErrorCode.toHTTP3(code)) }

    /// Gives up reading locally (see `QUICStream.stopReading()`); nothing goes to the peer.
    public func stopReading() {
        leftover.withLockedValue { $0 = nil }
        stream.stopReading()
    }
}

/// The peer reset a WebTransport stream: its application code (nil when outside the WebTransport range).
public struct WebTransportStreamError: Error, Sendable, Equatable {
    public var code: UInt32?
    public var wireCode: UInt64
}
