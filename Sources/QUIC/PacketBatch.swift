import NIOCore

/// Collects the packets of one write pass into few large buffers, so a burst of equal-sized packets of one
/// connection leaves as a single GSO write (the kernel cuts it into datagrams of `segmentSize`). A run never
/// mixes connections, even to one destination: the receiving kernel steers a run by its first packet's
/// connection ID (a server with several sockets on its port, `cdatagram_socket_steer`).
///
/// Packets are written by ngtcp2 straight into `buffer`; an envelope is a slice of it, so nothing is copied.
/// Slices are taken only once nothing more is written into the buffer (it is full, or the pass ends): a
/// slice shares the storage, and writing into shared storage would copy all of it.
struct PacketBatch {
    /// A finished run of packets in `buffer`: equal-sized packets of one connection (the last may be shorter).
    private struct Run {
        let start: Int
        let end: Int
        let destination: SocketAddress
        let segmentSize: Int?
    }

    private var buffer: ByteBuffer
    private let allocator: ByteBufferAllocator
    private let useSegmentation: Bool
    private let maxSegments: Int
    /// The run being built: packets of equal size (the last may be shorter) of one connection.
    private var runStart = 0
    private var runSegmentSize = 0
    private var runCount = 0
    private var runDestination: SocketAddress?
    private var runConnection: ObjectIdentifier?
    /// Runs finished in `buffer`, sliced into envelopes when the buffer is sealed.
    private var runs: [Run] = []
    /// Envelopes of buffers sealed earlier in this pass.
    private var envelopes: [AddressedEnvelope<ByteBuffer>] = []
    /// Packets committed since the last drain.
    private(set) var packetCount = 0

    /// The kernel rejects GSO writes above 64 KiB of payload.
    private static let maxRunBytes = 65_000
    private static let bufferCapacity = 100 * 1024

    init(allocator: ByteBufferAllocator, useSegmentation: Bool, maxSegments: Int) {
        self.allocator = allocator
        self.useSegmentation = useSegmentation
        self.maxSegments = max(1, maxSegments)
        buffer = allocator.buffer(capacity: Self.bufferCapacity)
    }

    var isEmpty: Bool { envelopes.isEmpty && runs.isEmpty && runCount == 0 }

    /// Lets `body` write one packet of up to `maxLength` bytes at the end of the buffer. `body` returns the
    /// packet length, or a negative ngtcp2 code (nothing written). Call `commit` after a positive result.
    mutating func writePacket(maxLength: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        if buffer.writableBytes < maxLength {
            closeRun()
            sealBuffer()
            buffer = allocator.buffer(capacity: Self.bufferCapacity)
            runStart = 0
        }
        var result = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxLength) { destination in
            result = body(UnsafeMutableRawBufferPointer(rebasing: destination.prefix(maxLength)))
            return max(0, result)
        }
        // A negative result wrote nothing; a positive one is accounted for in `commit`.
        return result
    }

    /// Adds the packet just written (the last `length` bytes) by `connection` to the current run, or starts
    /// a new run.
    mutating func commit(_ length: Int, to destination: SocketAddress, from connection: ObjectIdentifier) {
        let packetStart = buffer.writerIndex - length
        let runBytes = packetStart - runStart
        let fits =
            useSegmentation && runCount > 0 && runCount < maxSegments && connection == runConnection
            && destination == runDestination && length <= runSegmentSize && runBytes + length <= Self.maxRunBytes
        if !fits {
            closeRun(endingAt: packetStart)
            runStart = packetStart
            runSegmentSize = length
            runDestination = destination
            runConnection = connection
        }
        runCount += 1
        packetCount += 1
        // A shorter packet must be the last of its run.
        if length < runSegmentSize || !useSegmentation { closeRun() }
    }

    private mutating func closeRun(endingAt end: Int? = nil) {
        let end = end ?? buffer.writerIndex
        defer {
            runStart = end
            runCount = 0
            runSegmentSize = 0
        }
        guard runCount > 0, let destination = runDestination, end > runStart else { return }
        runs.append(
            Run(start: runStart, end: end, destination: destination, segmentSize: runCount > 1 ? runSegmentSize : nil))
    }

    /// Slices the finished runs of `buffer` into envelopes; nothing more is written into it after this.
    private mutating func sealBuffer() {
        for run in runs {
            let data = buffer.getSlice(at: run.start, length: run.end - run.start)!
            let metadata = run.segmentSize.map {
                AddressedEnvelope<ByteBuffer>.Metadata(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: $0)
            }
            envelopes.append(AddressedEnvelope(remoteAddress: run.destination, data: data, metadata: metadata))
        }
        runs.removeAll(keepingCapacity: true)
    }

    /// Ends the pass: returns every envelope. Hand the array back to `recycle` once the socket took them.
    mutating func drain() -> [AddressedEnvelope<ByteBuffer>] {
        closeRun()
        sealBuffer()
        packetCount = 0
        var drained: [AddressedEnvelope<ByteBuffer>] = []
        swap(&drained, &envelopes)
        return drained
    }

    /// Starts the next pass in the same buffer when the socket no longer holds the last pass's envelopes
    /// (the usual case: they were written at once), else in a fresh one (`clear` allocates when shared).
    /// The drained array is kept for the next pass's envelopes.
    mutating func recycle(_ drained: consuming [AddressedEnvelope<ByteBuffer>]) {
        drained.removeAll(keepingCapacity: true)  // first, so that the buffer is no longer shared with them
        envelopes = drained
        if buffer.writerIndex > 0 { buffer.clear() }
        runStart = 0
    }
}
