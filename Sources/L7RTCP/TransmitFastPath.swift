import NIOCore
import NIOHTTP1

/// Answers `POST /l7rtcp/transmit`, the protocol's hot request, on the connection's event loop in front of
/// Hummingbird's HTTP handling (it skips the router and the async channel bridge; a chunk already
/// retained for a stateless id is answered without leaving the loop). Everything else goes to Hummingbird,
/// and responses stay in request order: a transmit is only taken while no forwarded request is unanswered,
/// and requests arriving while one is answered wait for it.
final class TransmitFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// A transmit request whose body (ignored) is still arriving.
        case collecting(HTTPRequestHead)
        case answering
        /// A request handed to Hummingbird whose parts are still arriving.
        case forwarding
    }

    private var state = State.idle
    private var waiting: [HTTPServerRequestPart] = []
    /// Responses Hummingbird still owes (its writes pass through `write`; ours start below this handler).
    private var forwardedPending = 0
    private let gateway: L7RTCPGateway

    init(gateway: L7RTCPGateway) { self.gateway = gateway }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .answering:
            waiting.append(part)
        case .collecting(let head):
            if case .end = part { answer(context: context, head: head) }
        case .forwarding:
            if case .end = part { state = .idle }
            context.fireChannelRead(data)
        case .idle:
            guard case .head(let head) = part else {
                context.fireChannelRead(data)
                return
            }
            if head.method == .POST, head.uri == "/l7rtcp/transmit", forwardedPending == 0 {
                state = .collecting(head)
            } else {
                forwardedPending += 1
                state = .forwarding
                context.fireChannelRead(data)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { forwardedPending = max(0, forwardedPending - 1) }
        context.write(data, promise: promise)
    }

    private func answer(context: ChannelHandlerContext, head: HTTPRequestHead) {
        state = .answering
        let headers = head.headers
        let lookup: @Sendable (String) -> String? = { headers.first(name: $0) }
        if let reply = gateway.transmitOnLoop(header: lookup) {
            respond(context: context, head: head, reply: reply)
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let gateway = self.gateway
        Task {
            let reply = await gateway.transmit(header: lookup)
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.respond(context: context, head: head, reply: reply)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, reply: L7RTCPReply) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(reply.headers.count + 2)
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status, reasonPhrase: reply.reasonPhrase)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if reply.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil) }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
        state = .idle
        let parts = waiting
        waiting = []
        for (index, part) in parts.enumerated() {
            if case .answering = state {
                waiting.append(contentsOf: parts[index...])
                return
            }
            channelRead(context: context, data: wrapInboundOut(part))
        }
    }
}
