import Logging
import MoQ
import NIOCore

/// One TCP connection to the caster: reads the request head, then becomes a source (its bytes are
/// de-chunked, framed and published) or a client (its uplink is scanned for GGA). Runs on the
/// channel's event loop; decisions come from the value-type parsers.
final class NTRIPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct SourceSession {
        let entry: NTRIPCaster.SourceEntry
        var decoder: ChunkedDecoder?
        var framer = RTCM3Framer()
        var publisher: SourcePublisher
    }

    private struct ClientSession {
        let sink: ClientSink
        let user: String?
        var gga: GGAReader
    }

    private enum State {
        case head(RequestHeadParser)
        case source(SourceSession)
        case client(ClientSession)
        case closing
    }

    private let caster: NTRIPCaster
    private let connectionID: UInt64
    private var state: State
    private var logger: Logger
    private var lastRead = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(caster: NTRIPCaster, connectionID: UInt64) {
        self.caster = caster
        self.connectionID = connectionID
        self.state = .head(RequestHeadParser(maxHeadBytes: caster.configuration.maxHeadBytes))
        self.logger = caster.configuration.logger
        logger[metadataKey: "ntrip.connection"] = "\(connectionID)"
    }

    private var configuration: NTRIPConfiguration { caster.configuration }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context: context, after: configuration.headTimeout)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        finish()
        caster.unregister(connectionID)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        lastRead = .now()
        switch state {
        case .head(var parser):
            let action = parser.feed(bytes)
            state = .head(parser)
            switch action {
            case .needMore: return
            case .tooLarge: reject(.headTooLarge, context: context, reason: "request head too large")
            case .malformed(let reason): reject(.badRequest(v2: true), context: context, reason: reason)
            case .head(let head, let rest): dispatch(NTRIPRequest(head: head), rest: rest, context: context)
            }
        case .source(var session):
            state = .closing
            let ok = publish(bytes, session: &session)
            state = .source(session)
            if !ok {
                logger.warning("source \(session.entry.mount): malformed chunked body, closing")
                context.close(promise: nil)
            }
        case .client(var session):
            session.gga.feed(bytes)
            session.sink.setGGA(session.gga.lastGGA)
            state = .client(session)
        case .closing:
            return
        }
    }

    // MARK: requests

    private func dispatch(_ request: NTRIPRequest, rest: ByteBuffer, context: ChannelHandlerContext) {
        switch request {
        case .rejected(let reply):
            reject(reply, context: context, reason: "unsupported request")
        case .sourcetable(let style):
            reply(Sourcetable.reply(caster.records(), style: style), close: true, context: context)
        case .source(let source):
            startSource(source, rest: rest, context: context)
        case .client(let client):
            startClient(client, rest: rest, context: context)
        }
    }

    private func startSource(_ source: NTRIPRequest.Source, rest: ByteBuffer, context: ChannelHandlerContext) {
        let v2 = source.version == .v2
        guard configuration.access.authorizeSource(mount: source.mount, user: source.user, password: source.password)
        else {
            reject(
                v2 ? .unauthorized(mount: source.mount, v2: true) : .v1BadPassword, context: context,
                reason: "source: bad password")
            return
        }
        let entry = NTRIPCaster.SourceEntry(
            mount: source.mount, channel: context.channel, address: address(context), version: source.version,
            str: source.str)
        switch caster.claimSource(entry) {
        case .failure(.taken):
            reject(v2 ? .conflict : .v1MountInvalid, context: context, reason: "source: mount \(source.mount) taken")
            return
        case .failure(.tooMany):
            reject(
                v2 ? .unavailable(v2: true) : .v1TooManySources, context: context, reason: "source: too many sources")
            return
        case .success:
            break
        }
        let broadcast = BroadcastProducer(path: caster.path(of: source.mount))
        var session = SourceSession(
            entry: entry, decoder: source.chunked ? ChunkedDecoder() : nil,
            publisher: SourcePublisher(
                broadcast: broadcast, trackName: configuration.trackName, gap: configuration.epochGap,
                length: configuration.epochLength))
        caster.origin.publish(broadcast)
        logger.info("source \(source.mount) connected from \(entry.address) (NTRIP \(source.version.rawValue))")
        reply(v2 ? NTRIPReply.sourceOKv2.bytes : NTRIPReply.sourceOK.bytes, close: false, context: context)
        timer?.cancel()
        arm(context: context, after: configuration.sourceIdleTimeout)
        if rest.readableBytes > 0, !publish(rest, session: &session) {
            state = .source(session)
            context.close(promise: nil)
            return
        }
        state = .source(session)
    }

    private func startClient(_ client: NTRIPRequest.Client, rest: ByteBuffer, context: ChannelHandlerContext) {
        let v2 = client.version == .v2
        guard caster.isLive(client.mount) else {
            if !v2 && client.ntripAgent {
                reply(Sourcetable.reply(caster.records(), style: .ntripV1), close: true, context: context)
            } else {
                reject(.notFound, context: context, reason: "client: no mount \(client.mount)")
            }
            return
        }
        switch configuration.access.authorizeClient(mount: client.mount, user: client.user, password: client.password) {
        case .unauthorized:
            reject(.unauthorized(mount: client.mount, v2: v2), context: context, reason: "client: bad credentials")
            return
        case .forbidden:
            reject(
                .forbidden(v2: v2), context: context,
                reason: "client \(client.user ?? ""): no access to \(client.mount)")
            return
        case .allowed:
            break
        }
        let sink = ClientSink(
            id: connectionID, mount: client.mount, channel: context.channel, chunked: v2,
            info: ClientSink.Info(
                user: client.user, address: address(context), version: client.version, agent: client.agent,
                since: .now, lastGGA: client.gga))
        var gga = GGAReader(header: client.gga)
        gga.feed(rest)
        sink.setGGA(gga.lastGGA)
        timer?.cancel()
        timer = nil
        guard case .success = caster.admit(sink, user: client.user) else {
            reject(.unavailable(v2: v2), context: context, reason: "client: too many clients")
            return
        }
        // Written in this event-loop turn: the hub's writes come from another thread, so they queue after it.
        let ok = v2 ? NTRIPReply.clientOKv2 : NTRIPReply.clientOK(blankLine: configuration.v1BlankLine)
        reply(ok.bytes, close: false, context: context)
        logger.info(
            "client \(client.user ?? "-") of \(client.mount) connected from \(sink.snapshot.address) (NTRIP \(client.version.rawValue))"
        )
        state = .client(ClientSession(sink: sink, user: client.user, gga: gga))
    }

    // MARK: data

    /// De-chunks, frames and publishes source bytes; false on a malformed chunked body.
    private func publish(_ bytes: ByteBuffer, session: inout SourceSession) -> Bool {
        var pieces = [bytes]
        if session.decoder != nil {
            do {
                pieces = try session.decoder!.feed(bytes)
            } catch {
                return false
            }
        }
        var messages = 0
        for piece in pieces {
            for output in session.framer.feed(piece) {
                switch output {
                case .message(let payload):
                    messages += 1
                    session.publisher.write(payload)
                case .raw(let payload):
                    session.publisher.write(payload)
                }
            }
        }
        let badCRC = session.framer.badCRC
        let rawBytes = session.framer.rawBytes
        session.entry.counters.withLockedValue {
            $0.bytes += bytes.readableBytes
            $0.messages += messages
            $0.badCRC = badCRC
            $0.rawBytes = rawBytes
        }
        return true
    }

    /// The connection ends: a source's broadcast ends, a client leaves its mount.
    private func finish() {
        switch state {
        case .source(var session):
            session.publisher.finish()
            caster.releaseSource(session.entry)
            logger.info(
                "source \(session.entry.mount) disconnected (\(session.framer.messages) messages, \(session.framer.badCRC) bad CRC)"
            )
        case .client(let session):
            caster.depart(session.sink, user: session.user)
            logger.info("client of \(session.sink.mount) disconnected")
        case .head, .closing:
            break
        }
        state = .closing
    }

    // MARK: helpers

    private func reply(_ bytes: ByteBuffer, close: Bool, context: ChannelHandlerContext) {
        if close {
            state = .closing
            timer?.cancel()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        }
    }

    private func reject(_ reply: NTRIPReply, context: ChannelHandlerContext, reason: String) {
        logger.info("\(reason) (\(address(context)))")
        self.reply(reply.bytes, close: true, context: context)
    }

    private func address(_ context: ChannelHandlerContext) -> String {
        guard let remote = context.channel.remoteAddress, let ip = remote.ipAddress, let port = remote.port else {
            return "?"
        }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// The head deadline (while reading the request) or the source idle timeout (re-armed from the last read).
    private func arm(context: ChannelHandlerContext, after timeout: Duration) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let amount = TimeAmount.nanoseconds(timeout.nanoseconds)
        timer = context.eventLoop.scheduleTask(deadline: lastRead + amount) {
            let (handler, context) = bound.value
            handler.timerFired(context: context, timeout: timeout)
        }
    }

    private func timerFired(context: ChannelHandlerContext, timeout: Duration) {
        switch state {
        case .head:
            reject(.timeout, context: context, reason: "request head not complete within \(timeout)")
        case .source(let session):
            if NIODeadline.now() - lastRead >= TimeAmount.nanoseconds(timeout.nanoseconds) {
                logger.warning("source \(session.entry.mount) silent for \(timeout), closing")
                context.close(promise: nil)
            } else {
                arm(context: context, after: timeout)
            }
        case .client, .closing:
            break
        }
    }
}
