import CDatagramSocket
import NIOCore

/// Writes an endpoint's packets with sendmmsg(2) on its UDP socket, from the loop that owns the socket.
///
/// NIO reads the socket; writing through its pipeline cost more than the system call itself (per datagram
/// a promise-less write, its pending-writes queue and a second address conversion). The message and
/// address tables are allocated once and grow to the largest pass.
final class DatagramSender {
    private let descriptor: CInt
    private var capacity = 0
    private var messages: UnsafeMutablePointer<cdatagram_message>
    private var addresses: UnsafeMutablePointer<sockaddr_storage>
    /// The socket was closed (NIO owns the descriptor): nothing may be written to its number any more.
    private var isClosed = false
    /// The errno of the last message the kernel refused, 0 if none.
    private(set) var lastError: CInt = 0

    init(descriptor: CInt) {
        self.descriptor = descriptor
        messages = .allocate(capacity: 0)
        addresses = .allocate(capacity: 0)
    }

    deinit {
        messages.deallocate()
        addresses.deallocate()
    }

    /// The socket is closed: later sends write nothing.
    func close() { isClosed = true }

    /// Sends `envelopes` in order and returns how many were sent or refused by the kernel; those from the
    /// returned index on would block, and the caller queues them. `envelopes` keeps every buffer's storage
    /// alive and unchanged for the call, so the pointers handed to the kernel stay valid.
    func send(_ envelopes: [AddressedEnvelope<ByteBuffer>], statistics: inout QUICEndpointStatistics) -> Int {
        guard !isClosed, !envelopes.isEmpty else { return 0 }
        reserve(envelopes.count)
        for (index, envelope) in envelopes.enumerated() {
            let address = addresses + index
            let addressLength = envelope.remoteAddress.withSockAddr { pointer, length in
                UnsafeMutableRawPointer(address).copyMemory(from: pointer, byteCount: length)
                return socklen_t(length)
            }
            let segmentSize = envelope.metadata?.segmentSize ?? 0
            envelope.data.withUnsafeReadableBytes { bytes in
                messages[index] = cdatagram_message(
                    data: bytes.baseAddress, length: bytes.count,
                    address: UnsafeRawPointer(address).assumingMemoryBound(to: sockaddr.self),
                    address_length: addressLength, segment_size: UInt16(clamping: segmentSize), refused: 0)
            }
        }
        let result = cdatagram_send(descriptor, messages, CInt(envelopes.count))
        statistics.sendCalls += Int(result.sent_calls)
        for (index, envelope) in envelopes.prefix(Int(result.handled)).enumerated() {
            guard messages[index].refused == 0 else {
                statistics.sendErrors += 1
                continue
            }
            statistics.datagramsSent += envelope.datagramCount
        }
        if result.dropped > 0 { lastError = result.last_error }
        return Int(result.handled)
    }

    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        messages.deallocate()
        addresses.deallocate()
        capacity = max(count, capacity * 2, 16)
        messages = .allocate(capacity: capacity)
        addresses = .allocate(capacity: capacity)
    }
}

extension AddressedEnvelope<ByteBuffer> {
    /// The datagrams this write puts on the wire: a GSO run is cut into segments (the last may be shorter).
    var datagramCount: Int {
        guard let segmentSize = metadata?.segmentSize, segmentSize > 0 else { return 1 }
        return (data.readableBytes + segmentSize - 1) / segmentSize
    }
}
