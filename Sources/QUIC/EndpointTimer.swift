import CNGTCP2
import Glibc
import NIOCore

/// The endpoint's one wake-up: a CLOCK_MONOTONIC timerfd set to the earliest connection deadline and moved
/// either way, read by a NIO pipe channel on the endpoint's loop.
///
/// NIO's scheduled tasks never move the loop's timer later: a cancelled task still wakes the loop at its old
/// deadline. A QUIC connection's loss-detection deadline is pushed later by nearly every ACK, so with them
/// every round trip cost one empty wake-up per connection. Here it costs one `timerfd_settime` per loop pass.
final class EndpointTimer {
    let descriptor: CInt
    private var armed: UInt64 = .max
    /// The pipe channel closed the descriptor (its number may already belong to another file).
    private var closed = false
    /// A pipe channel owns (and will close) the descriptor.
    private var owned = false

    init() throws {
        let fd = cngtcp2_timerfd_create()
        guard fd >= 0 else { throw QUICEndpointError("timerfd_create failed: errno \(errno)") }
        descriptor = fd
    }

    /// Fires at `deadline` (monotonic nanoseconds, as `monotonicNow()`); `.max` disarms.
    func arm(at deadline: UInt64) {
        guard deadline != armed, !closed else { return }
        // Once expired, the timerfd may already be reported readable in the loop's current batch of events:
        // changing it now would clear it before NIO reads it. It is left to fire; the wake-up re-arms.
        if armed != .max, armed <= monotonicNow() { return }
        armed = deadline
        _ = cngtcp2_timerfd_arm(descriptor, deadline)
    }

    /// The timer went off (a timerfd is one-shot here): it is no longer armed.
    func fired() { armed = .max }

    /// The descriptor is closed: arming does nothing from now on.
    func invalidate() { closed = true }

    /// A pipe channel took the descriptor.
    func handedOver() { owned = true }

    deinit { if !owned { Glibc.close(descriptor) } }
}

/// Reads the timerfd's expirations and hands them to the endpoint.
final class EndpointTimerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let endpoint: EndpointCore

    init(endpoint: EndpointCore) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) { endpoint.timerFired() }

    func channelInactive(context: ChannelHandlerContext) {
        endpoint.timer.invalidate()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        endpoint.logger.debug("endpoint timer error", metadata: ["error": "\(error)"])
    }
}
