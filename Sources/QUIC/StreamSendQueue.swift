import CNGTCP2
import NIOCore

/// The bytes of one stream's send side that the peer has not acknowledged yet.
///
/// ngtcp2 does not copy stream data: it keeps pointers into these buffers until the data is acknowledged,
/// and reads them again to retransmit. So each `ByteBuffer` is held, never mutated, until
/// `acknowledge` drops it; holding the buffer keeps its storage (and the pointers) alive.
struct StreamSendQueue {
    // Small to start (a CircularBuffer defaults to 16 slots): every stream has a queue, most hold a buffer
    // or two at a time, and the queues of thousands of idle streams add up. They grow when needed.
    private var unsent = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var inFlight = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private(set) var unsentBytes = 0
    private(set) var inFlightBytes = 0
    /// The application finished the stream: FIN goes out after the last unsent byte.
    var finishRequested = false
    /// ngtcp2 took the FIN.
    var finishSent = false

    var bufferedBytes: Int { unsentBytes + inFlightBytes }
    var hasSomethingToSend: Bool { unsentBytes > 0 || (finishRequested && !finishSent) }

    mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        unsentBytes += buffer.readableBytes
        unsent.append(buffer)
    }

    /// Fills `vectors` with pointers to the unsent bytes, in order; returns how many were filled.
    func fill(_ vectors: UnsafeMutablePointer<ngtcp2_vec>, capacity: Int) -> Int {
        var count = 0
        for buffer in unsent where count < capacity {
            buffer.withUnsafeReadableBytes { bytes in
                // Escaping this pointer is sound only because the buffer stays in `unsent`/`inFlight`,
                // unmodified, until ngtcp2 reports the bytes acknowledged (see the type's comment).
                vectors[count] = ngtcp2_vec(
                    base: UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                    len: bytes.count)
            }
            count += 1
        }
        return count
    }

    /// ngtcp2 framed `count` more bytes: they move from unsent to in flight.
    mutating func markSent(_ count: Int) {
        var remaining = count
        unsentBytes -= count
        inFlightBytes += count
        while remaining > 0 {
            var head = unsent.removeFirst()
            if head.readableBytes <= remaining {
                remaining -= head.readableBytes
                inFlight.append(head)
            } else {
                inFlight.append(head.readSlice(length: remaining)!)
                unsent.prepend(head)
                remaining = 0
            }
        }
    }

    /// The peer acknowledged the next `count` bytes (ngtcp2 reports acknowledgements in stream order).
    mutating func acknowledge(_ count: Int) {
        var remaining = min(count, inFlightBytes)
        inFlightBytes -= remaining
        while remaining > 0, !inFlight.isEmpty {
            if inFlight.first!.readableBytes <= remaining {
                remaining -= inFlight.removeFirst().readableBytes
            } else {
                inFlight[inFlight.startIndex].moveReaderIndex(forwardBy: remaining)
                remaining = 0
            }
        }
    }

    /// Drops everything (the stream was reset or the connection closed).
    mutating func discard() {
        unsent.removeAll()
        inFlight.removeAll()
        unsentBytes = 0
        inFlightBytes = 0
    }
}
