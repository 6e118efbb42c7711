public import NIOCore

/// De-chunks an HTTP/1.1 `Transfer-Encoding: chunked` body (a v2 source's upload): chunk-size lines
/// (extensions ignored, at most 64 bytes), data, CRLF, and the final 0-size chunk.
public struct ChunkedDecoder: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case malformedSize
        case missingCRLF
    }

    private enum State: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case finished
    }

    private var state = State.size
    private var pending = ByteBuffer()

    public init() {}

    /// True after the last chunk.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Adds body bytes; returns the data they complete.
    public mutating func feed(_ bytes: ByteBuffer) throws(Failure) -> [ByteBuffer] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var output: [ByteBuffer] = []
        loop: while pending.readableBytes > 0 {
            switch state {
            case .size:
                let view = pending.readableBytesView
                guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                    if view.count > 64 { throw .malformedSize }
                    break loop
                }
                let length = newline - view.startIndex + 1
                guard length <= 66 else { throw .malformedSize }
                let line = pending.readString(length: length)!
                let hex = line.split(separator: ";", maxSplits: 1).first.map { Substring($0).trimmingSpaces() } ?? ""
                let trimmed = hex.filter { !$0.isNewline }
                guard !trimmed.isEmpty, trimmed.count <= 8, let size = Int(trimmed, radix: 16) else {
                    throw .malformedSize
                }
                state = size == 0 ? .finished : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, pending.readableBytes)
                output.append(pending.readSlice(length: take)!)
                state = take == remaining ? .dataEnd : .data(remaining: remaining - take)
            case .dataEnd:
                let view = pending.readableBytesView
                if view.first == UInt8(ascii: "\n") {
                    pending.moveReaderIndex(forwardBy: 1)
                    state = .size
                } else if view.first == UInt8(ascii: "\r") {
                    guard view.count >= 2 else { break loop }
                    guard view[view.startIndex + 1] == UInt8(ascii: "\n") else { throw .missingCRLF }
                    pending.moveReaderIndex(forwardBy: 2)
                    state = .size
                } else {
                    throw .missingCRLF
                }
            case .finished:
                pending.clear()
            }
        }
        if pending.readableBytes == 0 { pending = ByteBuffer() }
        return output
    }
}
