import NIOCore
import Testing

@testable import QUIC

/// A write pass's packets: equal-sized runs of one connection become one GSO envelope; the count of
/// packets since the last drain tells the endpoint when to send part of a large pass.
@Suite
struct PacketBatchTests {
    static let peerA = try! SocketAddress(ipAddress: "127.0.0.1", port: 4001)
    static let peerB = try! SocketAddress(ipAddress: "127.0.0.1", port: 4002)

    /// Two connections' identities.
    final class Connection: Sendable {}
    static let connectionA = Connection()
    static let connectionB = Connection()

    static func write(
        _ batch: inout PacketBatch, _ length: Int, byte: UInt8, to peer: SocketAddress,
        from connection: Connection = connectionA
    ) {
        let written = batch.writePacket(maxLength: 1200) { destination in
            for index in 0..<length { destination[index] = byte }
            return length
        }
        batch.commit(written, to: peer, from: ObjectIdentifier(connection))
    }

    @Test func twoConnectionsToOnePeerNeverShareARun() {
        var batch = PacketBatch(allocator: ByteBufferAllocator(), useSegmentation: true, maxSegments: 64)
        for _ in 0..<2 { Self.write(&batch, 1000, byte: 0xA, to: Self.peerA, from: Self.connectionA) }
        for _ in 0..<2 { Self.write(&batch, 1000, byte: 0xB, to: Self.peerA, from: Self.connectionB) }
        let envelopes = batch.drain()
        #expect(envelopes.map(\.data.readableBytes) == [2000, 2000])
        #expect(envelopes[0].data.readableBytesView.allSatisfy { $0 == 0xA })
        #expect(envelopes[1].data.readableBytesView.allSatisfy { $0 == 0xB })
        #expect(envelopes.allSatisfy { $0.metadata?.segmentSize == 1000 })
        batch.recycle(envelopes)
    }

    @Test func runsToOnePeerShareAnEnvelopeAndTheCountResetsOnDrain() {
        var batch = PacketBatch(allocator: ByteBufferAllocator(), useSegmentation: true, maxSegments: 64)
        for _ in 0..<3 { Self.write(&batch, 1000, byte: 0xA, to: Self.peerA) }
        Self.write(&batch, 300, byte: 0xB, to: Self.peerB)
        #expect(batch.packetCount == 4)

        let envelopes = batch.drain()
        #expect(batch.packetCount == 0)
        #expect(envelopes.count == 2)
        #expect(envelopes[0].remoteAddress == Self.peerA)
        #expect(envelopes[0].data.readableBytes == 3000)
        #expect(envelopes[0].metadata?.segmentSize == 1000)
        #expect(envelopes[0].data.readableBytesView.allSatisfy { $0 == 0xA })
        #expect(envelopes[1].remoteAddress == Self.peerB)
        #expect(envelopes[1].data.readableBytes == 300)
        #expect(envelopes[1].metadata == nil)
        batch.recycle(envelopes)
        #expect(batch.isEmpty)

        Self.write(&batch, 500, byte: 0xC, to: Self.peerB)
        #expect(batch.packetCount == 1)
        let next = batch.drain()
        #expect(next.count == 1)
        #expect(next[0].data.readableBytesView.allSatisfy { $0 == 0xC })
    }
}
