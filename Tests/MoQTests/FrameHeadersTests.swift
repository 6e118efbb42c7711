import MoQWire
import NIOCore
import Testing

@testable import MoQ

/// Frame headers are encoded once per frame and shared by every subscriber of every version.
@Suite(.timeLimit(.minutes(1)))
struct FrameHeadersTests {
    /// Each version's header, as the per-subscriber encoding would write it.
    private func expected(_ delta: Int64, _ size: Int, _ version: MoQVersion) -> ByteBuffer {
        var buffer = ByteBuffer()
        FrameHeader(timestampDelta: delta, size: UInt64(size)).encode(into: &buffer, version: version)
        return buffer
    }

    private func group(_ frames: [(timestamp: UInt64, size: Int)]) -> GroupConsumer {
        let group = TrackProducer(name: "t").appendGroup()
        for frame in frames {
            group.write(ByteBuffer(repeating: 7, count: frame.size), timestamp: frame.timestamp)
        }
        group.finish()
        return group.consume()
    }

    @Test(arguments: [MoQVersion.lite04, .lite05, .lite06])
    func headersMatchThePerSubscriberEncoding(version: MoQVersion) async throws {
        // Timestamps go back once (a negative delta) and sizes cross the 1- and 2-byte varint limits.
        let frames: [(timestamp: UInt64, size: Int)] = [(1_000, 10), (1_033, 70), (1_020, 20_000), (90_000, 0)]
        var headers: [ByteBuffer] = []
        for try await (_, header) in group(frames).encodedFrames(for: version, from: 0) { headers.append(header) }
        #expect(
            headers == [
                expected(1_000, 10, version), expected(33, 70, version), expected(-13, 20_000, version),
                expected(88_980, 0, version),
            ])
    }

    @Test func aStreamStartingLateStampsItsFirstFrameFromZero() async throws {
        let frames: [(timestamp: UInt64, size: Int)] = [(100, 1), (200, 2), (350, 3)]
        var headers: [ByteBuffer] = []
        for try await (_, header) in group(frames).encodedFrames(for: .lite06, from: 1) { headers.append(header) }
        #expect(headers == [expected(200, 2, .lite06), expected(150, 3, .lite06)])
    }

    /// Two subscribers (one lite-04, one lite-06) send slices of the same storage: nothing per subscriber.
    @Test func subscribersShareTheHeaderBytes() async throws {
        let consumer = group([(5, 300)])
        var first: ByteBuffer?
        for try await (_, header) in consumer.encodedFrames(for: .lite06, from: 0) { first = header }
        var second: ByteBuffer?
        for try await (_, header) in consumer.encodedFrames(for: .lite04, from: 0) { second = header }
        let base = { (buffer: ByteBuffer?) in buffer!.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        // lite-04's header is lite-05's without the 1-byte delta varint: the same storage, one byte on.
        #expect(base(second) == base(first) + 1)
    }
}
