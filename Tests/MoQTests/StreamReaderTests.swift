import MoQWire
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import MoQ

/// Frame payloads read off a stream whose chunks end anywhere: whole, sliced or gathered from many chunks.
@Suite(.timeLimit(.minutes(1)))
struct StreamReaderTests {
    /// A stream that hands out fixed chunks, then FIN: the reader's input, without a transport.
    final class ScriptedStream: MoQTransportStream {
        private let chunks: [ByteBuffer]
        private let next = NIOLockedValueBox(0)
        init(_ chunks: [ByteBuffer]) { self.chunks = chunks }
        var isUnidirectional: Bool { true }
        func read() async throws -> ByteBuffer? {
            let index = next.withLockedValue { index in
                defer { index += 1 }
                return index
            }
            return index < chunks.count ? chunks[index] : nil
        }
        func write(_ buffer: ByteBuffer) async throws {}
        func write(_ first: ByteBuffer, then second: ByteBuffer) async throws {}
        func finish() async throws {}
        func reset(code: UInt64) {}
        func stopSending(code: UInt64) {}
        func stopReading() {}
        func whenReadable(_ handler: @escaping @Sendable () -> Void) { handler() }
    }

    /// `bytes` cut into chunks whose sizes cycle through `sizes`.
    static func chunks(of bytes: ByteBuffer, sizes: [Int]) -> [ByteBuffer] {
        var rest = bytes
        var result: [ByteBuffer] = []
        var index = 0
        while rest.readableBytes > 0 {
            result.append(rest.readSlice(length: min(sizes[index % sizes.count], rest.readableBytes))!)
            index += 1
        }
        return result
    }

    static func payload(_ count: Int, seed: UInt8) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
    }

    @Test(arguments: [[1, 3], [7, 1400], [33_000], [1400, 5, 65_536, 2]])
    func everyPayloadArrivesWholeWhereverTheChunksEnd(sizes: [Int]) async throws {
        let lengths = [0, 5, 70_000, 3, 200_000, 1024, 64 << 10]
        var wire = ByteBuffer()
        let payloads = lengths.enumerated().map { Self.payload($1, seed: UInt8($0)) }
        for var payload in payloads { wire.writeBuffer(&payload) }
        var reader = StreamReader(
            ScriptedStream(Self.chunks(of: wire, sizes: sizes)), version: .lite06, limits: .standard)
        for expected in payloads {
            let payload = try await reader.readBytes(expected.readableBytes)
            #expect(payload == expected)
            // A payload may be cached for long: it keeps alive little more memory than itself.
            #expect(payload.storageCapacity <= 2 * payload.readableBytes + 1024)
        }
        #expect(reader.buffered == 0)
        #expect(try await reader.readVarint() == nil)
    }

    @Test func aStreamThatEndsInsideAPayloadIsTruncated() async throws {
        let wire = Self.payload(50_000, seed: 9)
        var reader = StreamReader(
            ScriptedStream(Self.chunks(of: wire, sizes: [1400])), version: .lite06, limits: .standard)
        await #expect(throws: WireError.truncated) { try await reader.readBytes(60_000) }
    }
}
