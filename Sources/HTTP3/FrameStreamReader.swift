public import NIOCore
public import QUIC

/// Reads varints, frames and capsules off a QUIC stream, keeping what arrived past them.
public struct FrameStreamReader: Sendable {
    public let stream: QUICStream
    /// Bytes received and not consumed yet.
    public var buffered = ByteBuffer()
    public private(set) var finished = false

    public init(_ stream: QUICStream) { self.stream = stream }

    /// Reads one more chunk; false at FIN.
    mutating func fill() async throws -> Bool {
        guard !finished, let chunk = try await stream.read() else {
            finished = true
            return false
        }
        if buffered.readableBytes == 0 { buffered = chunk } else { buffered.writeImmutableBuffer(chunk) }
        return true
    }

    /// The next varint; nil at FIN before one is complete.
    public mutating func readVarint() async throws -> UInt64? {
        while true {
            if let value = buffered.readHTTP3Varint() { return value }
            guard try await fill() else { return nil }
        }
    }

    /// The next frame header without consuming it; nil at FIN.
    public mutating func peekFrameHeader() async throws -> (type: UInt64, length: UInt64)? {
        while true {
            if let header = HTTP3Frame.peekHeader(buffered) { return (header.type, header.length) }
            guard try await fill() else { return nil }
        }
    }

    /// The next whole frame; nil at a clean FIN; H3_FRAME_ERROR when the stream ends mid-frame.
    public mutating func readFrame(maxPayload: Int) async throws -> HTTP3Frame? {
        while true {
            if let frame = try HTTP3Frame.read(from: &buffered, maxPayload: maxPayload) { return frame }
            guard try await fill() else {
                guard buffered.readableBytes == 0 else { throw HTTP3Error(.frameError, "stream ended inside a frame") }
                return nil
            }
        }
    }
}
