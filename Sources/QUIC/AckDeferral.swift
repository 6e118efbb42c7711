/// When a connection that only receives sends its ACKs: with every second packet (RFC 9000 13.2.2) or
/// once `maxAckDelay` has passed, instead of after every read. ngtcp2 adds a PING to every second ACK-only
/// packet, which the peer must acknowledge; acknowledging every packet of a 100 frames/s publisher thus
/// cost a wake-up per two frames at each end. A value type, so its rule is tested without sockets.
struct AckDeferral {
    /// The max_ack_delay told to the peer, in nanoseconds; below 2 ms nothing is deferred.
    let maxAckDelay: UInt64
    /// Packets closer together than this are a burst.
    static let burstGap: UInt64 = 1_000_000
    /// When the packet whose ACK waits arrived (0: none waits).
    private var deferredSince: UInt64 = 0
    private var lastReceiveAt: UInt64 = 0

    init(maxAckDelay: UInt64) { self.maxAckDelay = maxAckDelay }

    /// A packet arrives at `now`. Its ACK may wait when none waits already, the packets come steadily, one
    /// at a time (the previous one came at least 1 ms ago: inside a burst, whose end cannot be told, a
    /// waiting ACK would cost a timer wake-up after the last packet) and often enough (less than half of
    /// `maxAckDelay` ago: the next one is likely to come before the deadline), and `receiveOnly()`: the
    /// connection has nothing in flight or queued. Asked last, since it is the costly question.
    mutating func deferAcknowledgement(at now: UInt64, receiveOnly: () -> Bool) -> Bool {
        defer { lastReceiveAt = now }
        guard deferredSince == 0, lastReceiveAt != 0, now - lastReceiveAt >= Self.burstGap,
            now - lastReceiveAt < maxAckDelay / 2, receiveOnly()
        else { return false }
        deferredSince = now
        return true
    }

    /// A write pass ran: any ACK that was due went out with it.
    mutating func wrote() { deferredSince = 0 }

    /// The latest time the waiting ACK may leave, `nil` when none waits. One millisecond inside
    /// `maxAckDelay`, for the endpoint timer's rounding up to the millisecond.
    var deadline: UInt64? { deferredSince == 0 ? nil : deferredSince + maxAckDelay - 1_000_000 }
}
