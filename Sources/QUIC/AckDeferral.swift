/// When the ACKs for received packets leave: with the next write pass, or later, up to `maxAckDelay`, when
/// something else is sure to carry them or they are not needed yet. ngtcp2 acknowledges in every write pass
/// and adds a PING to every second ACK-only packet, which the peer must acknowledge in turn, so each ACK sent
/// on its own costs a wake-up at both ends. Two cases wait:
/// - a connection that only receives: ACKs every second packet (RFC 9000 13.2.2) or after the delay;
/// - a connection that writes stream data steadily (a relay forwarding frames, a publisher): its ACKs ride
///   on the next data packet, as quinn and Chromium piggyback them, instead of an ACK-only packet now.
/// A value type, so its rules are tested without sockets.
struct AckDeferral {
    /// The max_ack_delay told to the peer, in nanoseconds; below 2 ms nothing is deferred.
    let maxAckDelay: UInt64
    /// Packets (or write passes) closer together than this are a burst.
    static let burstGap: UInt64 = 1_000_000
    /// When the packet whose ACK waits arrived (0: none waits).
    private var deferredSince: UInt64 = 0
    private var lastReceiveAt: UInt64 = 0
    /// When the last burst of write passes that sent stream data began, how long after the one before it (0:
    /// not known), and when its latest pass ran.
    private var lastSendAt: UInt64 = 0
    private var sendGap: UInt64 = 0
    private var lastSendPassAt: UInt64 = 0

    init(maxAckDelay: UInt64) { self.maxAckDelay = maxAckDelay }

    /// A packet was read at `now`; `canWait`: it was read cleanly on the current path and nothing waits here
    /// to be sent. Its ACK may wait when none waits already and either
    /// - stream data went out steadily (bursts of write passes less than half of `maxAckDelay` apart, the
    ///   last one less than that ago): the next, which carries the ACK, is likely to come before the
    ///   deadline; or
    /// - packets come steadily, one at a time (the previous one came at least 1 ms ago: inside a burst, whose
    ///   end cannot be told, a waiting ACK would cost a timer wake-up after the last packet) and often
    ///   enough (less than half of `maxAckDelay` ago), and `receiveOnly()`: nothing of ours is in flight.
    ///   Asked last, since it is the costly question.
    /// A retransmission the packet's ACK made necessary leaves with the pass that ends the wait.
    mutating func deferAcknowledgement(at now: UInt64, canWait: Bool, receiveOnly: () -> Bool) -> Bool {
        defer { lastReceiveAt = now }
        guard canWait, deferredSince == 0 else { return false }
        let halfDelay = maxAckDelay / 2
        let sendsSteadily = sendGap != 0 && sendGap < halfDelay && now - lastSendAt < halfDelay
        let receivesSteadily =
            lastReceiveAt != 0 && now - lastReceiveAt >= Self.burstGap && now - lastReceiveAt < halfDelay
        guard sendsSteadily || (receivesSteadily && receiveOnly()) else { return false }
        deferredSince = now
        return true
    }

    /// A write pass ran: any ACK that was due went out with it.
    mutating func wrote() { deferredSince = 0 }

    /// A write pass at `now` sent stream data. Passes less than `burstGap` after the previous one continue its
    /// burst: a bulk transfer is one long burst, never a steady sender.
    mutating func sentStreamData(at now: UInt64) {
        defer { lastSendPassAt = now }
        guard lastSendPassAt == 0 || now - lastSendPassAt >= Self.burstGap else { return }
        sendGap = lastSendAt == 0 ? 0 : now - lastSendAt
        lastSendAt = now
    }

    /// The latest time the waiting ACK may leave, `nil` when none waits. One millisecond inside
    /// `maxAckDelay`, for the endpoint timer's rounding up to the millisecond.
    var deadline: UInt64? { deferredSince == 0 ? nil : deferredSince + maxAckDelay - 1_000_000 }
}
