import MoQWire
import NIOCore

/// Frame headers on a group stream. lite-05+: `varint(zigzag(timestamp - previous frame's)) varint(size)`,
/// the first frame's delta from 0; lite-04: `varint(size)`, the lite-05 header's tail. A group encodes each
/// frame's header once when the frame is written (`shared`), so every subscriber, of any version, sends a
/// slice of the same bytes: no allocation per frame per subscriber.
enum FrameHeaders {
    /// The lite-05+ header of `frame`, which follows a frame stamped `previousTimestamp` (0 for the first).
    static func shared(for frame: Frame, previousTimestamp: UInt64) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let delta = Int64(bitPattern: frame.timestamp &- previousTimestamp)
        FrameHeader(timestampDelta: delta, size: UInt64(frame.payload.readableBytes)).encode(
            into: &buffer, version: .lite05)
        return buffer
    }

    /// `shared` as `version` sends it (a slice, never a copy).
    static func view(of shared: ByteBuffer, for version: MoQVersion) -> ByteBuffer {
        guard version < .lite05, let (_, length) = shared.getQUICVarint(at: shared.readerIndex) else { return shared }
        return shared.getSlice(at: shared.readerIndex + length, length: shared.readableBytes - length)!
    }
}

extension GroupConsumer {
    /// The frames from index `start` with their headers as `version` sends them. A stream that starts after
    /// frame 0 stamps its first frame's delta from 0, so that one header is encoded for it alone.
    func encodedFrames(for version: MoQVersion, from start: UInt64) -> EncodedFrames {
        EncodedFrames(group: self, version: version, start: start)
    }
}

struct EncodedFrames: AsyncSequence {
    typealias Element = (frame: Frame, header: ByteBuffer)
    let group: GroupConsumer
    let version: MoQVersion
    let start: UInt64

    struct AsyncIterator: AsyncIteratorProtocol {
        var frames: GroupConsumer.AsyncIterator
        let version: MoQVersion
        let start: UInt64
        var index: UInt64 = 0

        mutating func next() async throws -> Element? {
            while let (frame, shared) = try await frames.nextWithHeader() {
                defer { index += 1 }
                guard index >= start else { continue }
                let header =
                    index == start && start > 0
                    ? FrameHeaders.shared(for: frame, previousTimestamp: 0) : shared
                return (frame, FrameHeaders.view(of: header, for: version))
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(frames: group.makeAsyncIterator(), version: version, start: start)
    }
}
