import Crypto
import Foundation
public import Logging
public import MoQ
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// The L7RTCP gateway (§3): answers init, transmit, status and resend for stateful transmissions (through
/// the registry actor) and stateless ones (signed ids, no state), pulling chunks from shared feeds of the
/// relay's tracks. As a `Service` it restores persisted transmissions, then sweeps and saves each second.
public final class L7RTCPGateway: Service, Sendable {
    public let configuration: L7RTCPConfiguration
    let feeds: FeedTable
    let registry: TransmissionRegistry
    let key: SymmetricKey
    let origin: Origin
    let metrics = L7RTCPMetrics()
    private let inFlight = NIOLockedValueBox(0)
    private let replay = NIOLockedValueBox(ReplayGuard())
    /// Stateless ids already verified (a cache only: losing it costs one HMAC and decode per id).
    private let verified = NIOLockedValueBox<[String: StatelessToken]>([:])
    let logger: Logger
    let clock: @Sendable () -> Double

    /// `secret` signs stateless ids (keep it across restarts so they stay valid); `journal` persists
    /// stateful transmissions (nil: memory only).
    public init(
        origin: Origin, secret: [UInt8], journal: (any TransmissionJournal)?,
        configuration: L7RTCPConfiguration = .init(), logger: Logger,
        clock: (@Sendable () -> Double)? = nil
    ) {
        self.configuration = configuration
        self.origin = origin
        self.key = SymmetricKey(data: secret)
        self.logger = logger
        let clock = clock ?? { Date().timeIntervalSince1970 }
        self.clock = clock
        self.feeds = FeedTable(origin: origin, configuration: configuration, logger: logger)
        self.registry = TransmissionRegistry(
            feeds: feeds, journal: journal, configuration: configuration, logger: logger, clock: clock)
    }

    /// The token of stateless id `id`, verified once and then served from a bounded cache.
    func verifiedToken(_ id: String) -> StatelessToken? {
        if let token = verified.withLockedValue({ $0[id] }) { return token }
        guard let token = StatelessToken.decode(id, key: key) else { return nil }
        verified.withLockedValue { cache in
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[id] = token
        }
        return token
    }

    /// Restores persisted transmissions now (`run` does it too; tests call it to control the timing).
    public func restore() async { await registry.restore(now: clock()) }

    public func run() async throws {
        await restore()
        let feedIdle = Duration.seconds(max(60, configuration.sourceGrace))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self.registry.sweep(now: self.clock())
                self.feeds.sweep(idle: feedIdle)
            }
        }
        await registry.flush()
        feeds.stopAll()
    }

    /// Saves every changed transmission now.
    public func flush() async { await registry.flush() }

    func tracked(_ body: () async -> L7RTCPReply) async -> L7RTCPReply {
        inFlight.withLockedValue { $0 += 1 }
        let reply = await body()
        inFlight.withLockedValue { $0 -= 1 }
        metrics.replied(reply.status)
        return reply
    }

    /// Replay protection of a mutating request (init, control, resend); nil when admitted.
    func replayCheck(_ header: (String) -> String?) -> L7RTCPError? {
        let timestamp = header("X-Request-Timestamp")
        let nonce = header("X-Request-Nonce")
        guard timestamp != nil || nonce != nil else { return nil }
        let now = clock()
        return replay.withLockedValue { $0.admit(timestamp: timestamp, nonce: nonce, now: now) }
    }

    var loadRatios: [Double] {
        [Double(inFlight.withLockedValue { $0 }) / Double(max(1, configuration.maxInFlight))]
    }

    // MARK: init

    /// `POST /l7rtcp/init` (§3.3).
    public func initialize(header: (String) -> String?) async -> L7RTCPReply {
        let parsed = InitRequest.parse(header)
        let replayed = replayCheck(header)
        return await tracked {
            if let replayed { return .error(replayed) }
            switch parsed {
            case .failure(let error): return .error(error)
            case .success(let request): return await initialize(request)
            }
        }
    }

    private func initialize(_ request: InitRequest) async -> L7RTCPReply {
        let now = clock()
        if let id = request.transmissionID {
            if StatelessToken.looksStateless(id) {
                guard let token = verifiedToken(id) else { return .error(.transmissionNotFound) }
                guard token.clientID == request.clientID else { return .error(.clientMismatch) }
                guard now <= token.expiresAt else { return .error(.transmissionExpired) }
                return initReply(
                    id: id, features: token.features, streams: token.streams, ttl: token.ttl,
                    maxPacketSize: token.maxPacketSize, chunkSize: token.chunkSize, resumed: true, stateless: true)
            }
            switch await registry.resume(id: id, clientID: request.clientID, now: now) {
            case .failure(let error): return .error(error)
            case .success(let transmission):
                return initReply(
                    id: id, features: transmission.features, streams: transmission.streams.map(\.id),
                    ttl: transmission.ttl, maxPacketSize: transmission.maxPacketSize,
                    chunkSize: transmission.chunkSize, resumed: true, stateless: false)
            }
        }
        var features = Feature.negotiate(request.requestedFeatures)
        if request.sessionType == .stateless {
            features.removeAll { $0 == .pause }
            if !features.contains(.stateless) { features = (features + [.stateless]).sorted() }
        } else {
            features.removeAll { $0 == .stateless }
        }
        guard request.streams.count <= configuration.maxStreams else {
            return .error(.invalidHeader("X-Streams", reason: "at most \(configuration.maxStreams) streams"))
        }
        if request.streams.count > 1, !features.contains(.multistream) { return .error(.multistreamNotEnabled) }
        var sources: [TrackSource] = []
        for spec in request.streams {
            guard let source = TrackSource(spec), let broadcast = origin.consume(source.broadcast),
                !broadcast.isEnded
            else { return .error(.streamNotOffered(spec.id)) }
            sources.append(source)
        }
        let maxPacket = min(request.maxPacketSize ?? configuration.maxChunkSize, configuration.maxChunkSize)
        let chunkSize = min(request.chunkSize ?? configuration.defaultChunkSize, maxPacket)
        let ttl = min(request.ttl ?? configuration.defaultTTL, configuration.maxTTL)
        let uuid = TransmissionID.make(milliseconds: UInt64(now * 1000))
        let streamIDs = request.streams.map(\.id)
        let stateless = request.sessionType == .stateless
        var streamFeeds: [ChunkFeed] = []
        for source in sources {
            guard let feed = feeds.feed(.init(source: source, chunkSize: chunkSize), hold: !stateless, limited: true)
            else {
                if !stateless { for feed in streamFeeds { feeds.release(feed) } }
                return .error(.overloaded(retryAfter: configuration.stopRetryAfter))
            }
            streamFeeds.append(feed)
        }
        let id: String
        if stateless {
            let token = StatelessToken(
                uuid: uuid, clientID: request.clientID, streams: streamIDs, features: features, chunkSize: chunkSize,
                maxPacketSize: maxPacket, ttl: ttl, createdAt: now,
                anchors: streamFeeds.map { .init(feed: $0.instance, base: $0.joinPoint) })
            id = token.encode(key: key)
        } else {
            id = uuid
            let transmission = Transmission(
                id: id, clientID: request.clientID, features: features, streams: streamIDs, chunkSize: chunkSize,
                maxPacketSize: maxPacket, ttl: ttl, now: now)
            do {
                try await registry.create(transmission, feeds: streamFeeds)
            } catch {
                for feed in streamFeeds { feeds.release(feed) }
                logger.error("l7rtcp: cannot persist a new transmission: \(error)")
                return .error(.overloaded(retryAfter: configuration.stopRetryAfter))
            }
        }
        metrics.created()
        return initReply(
            id: id, features: features, streams: streamIDs, ttl: ttl, maxPacketSize: maxPacket, chunkSize: chunkSize,
            resumed: false, stateless: stateless)
    }

    private func initReply(
        id: String, features: [Feature], streams: [String], ttl: Int, maxPacketSize: Int?, chunkSize: Int,
        resumed: Bool, stateless: Bool
    ) -> L7RTCPReply {
        var headers: [(name: String, value: String)] = [
            ("X-Transmission-ID", id), ("X-Features-Enabled", Feature.headerValue(features)),
        ]
        if !streams.isEmpty { headers.append(("X-Accepted-Streams", streams.joined(separator: ","))) }
        headers.append(("X-TTL", String(ttl)))
        if let maxPacketSize { headers.append(("X-Max-Packet-Size", String(maxPacketSize))) }
        headers.append(("X-Chunk-Size", String(chunkSize)))
        headers.append(("X-Session-Type", stateless ? "stateless" : "stateful"))
        headers.append(("X-Resumed", resumed ? "true" : "false"))
        return L7RTCPReply(status: 200, headers: headers)
    }

    // MARK: transmit

    /// `POST /l7rtcp/transmit` (§3.4, §3.5).
    public func transmit(header: (String) -> String?) async -> L7RTCPReply {
        let parsed = TransmitRequest.parse(header, maxWaitMs: configuration.maxWaitMs)
        // Pulls are idempotent reads; only stream control is checked for replays.
        let replayed: L7RTCPError? = if case .success(.control) = parsed { replayCheck(header) } else { nil }
        return await tracked {
            if let replayed { return .error(replayed) }
            switch parsed {
            case .failure(let error): return .error(error)
            case .success(.control(let id, let control)):
                return await self.control(id: id, control)
            case .success(.pull(let id, let stream, let packet, let waitMs)):
                if StatelessToken.looksStateless(id) {
                    return await statelessPull(id: id, stream: stream, packet: packet, waitMs: waitMs)
                }
                return await pull(id: id, stream: stream, packet: packet, waitMs: waitMs)
            }
        }
    }

    private func control(id: String, _ control: StreamControl) async -> L7RTCPReply {
        let now = clock()
        let applied: [(stream: String, command: StreamControl.Command, status: Transmission.StreamStatus)]
        if StatelessToken.looksStateless(id) {
            guard let token = verifiedToken(id) else { return .error(.transmissionNotFound) }
            guard now <= token.expiresAt else { return .error(.transmissionExpired) }
            for item in control.items {
                guard token.streams.contains(item.stream) else { return .error(.badStreamControl(item: item.stream)) }
                if item.command != .cancel { return .error(.featureNotEnabled(.pause)) }
            }
            applied = control.items.map { ($0.stream, $0.command, .cancelled) }
        } else {
            switch await registry.control(id: id, control, now: now) {
            case .failure(let error): return .error(error)
            case .success(let result): applied = result
            }
        }
        let items = applied.map {
            JSONText.object([
                ("stream", JSONText.string($0.stream)), ("command", JSONText.string($0.command.rawValue)),
                ("state", JSONText.string($0.status.rawValue)),
            ])
        }
        return .json(
            200, JSONText.object([("applied", JSONText.array(items))]),
            headers: [("X-Backpressure-Advice", BackpressureAdvice.low.rawValue)])
    }

    private func pull(id: String, stream: String, packet: UInt64, waitMs: Int) async -> L7RTCPReply {
        var outcome = await registry.pull(
            id: id, stream: stream, packet: packet, now: clock(), waiting: waitMs > 0, globalRatios: loadRatios)
        if case .wait(let feed, let feedID) = outcome {
            await registry.adjustWaiting(id: id, by: 1)
            await feed.wait(for: feedID, until: .now + .milliseconds(waitMs))
            await registry.adjustWaiting(id: id, by: -1)
            outcome = await registry.pull(
                id: id, stream: stream, packet: packet, now: clock(), waiting: false, globalRatios: loadRatios)
        }
        guard case .reply(let reply, let advice, _) = outcome else {
            return .error(.overloaded(retryAfter: configuration.stopRetryAfter))
        }
        return pullReply(reply, packet: packet, advice: advice)
    }

    private func statelessPull(id: String, stream: String, packet: UInt64, waitMs: Int) async -> L7RTCPReply {
        if let reply = statelessPullNow(id: id, stream: stream, packet: packet, waitMs: waitMs) { return reply }
        guard let token = verifiedToken(id), let index = token.streams.firstIndex(of: stream),
            let feed = feeds.feed(instance: token.anchors[index].feed)
        else { return .error(.transmissionNotFound) }
        await feed.wait(for: token.anchors[index].base + packet, until: .now + .milliseconds(waitMs))
        return statelessPullNow(id: id, stream: stream, packet: packet, waitMs: 0)!
    }

    /// A stateless pull answered at once; nil when the chunk is not produced yet and the client waits.
    private func statelessPullNow(id: String, stream: String, packet: UInt64, waitMs: Int) -> L7RTCPReply? {
        guard let token = verifiedToken(id) else { return .error(.transmissionNotFound) }
        guard let index = token.streams.firstIndex(of: stream) else { return .error(.unknownStream(stream)) }
        guard clock() <= token.expiresAt else { return .error(.transmissionExpired) }
        let anchor = token.anchors[index]
        guard let feed = feeds.feed(instance: anchor.feed) else {
            return .error(.chunkEvicted(oldestAvailable: packet + 1))
        }
        let reply: Transmission.PullReply
        switch feed.lookup(anchor.base + packet) {
        case .chunk(let chunk, let isLast):
            reply = .chunk(chunk, isLast: isLast, next: packet + 1, total: isLast ? packet + 1 : nil)
        case .notYet:
            if waitMs > 0 { return nil }
            reply = .notYet(next: packet)
        case .evicted(let oldest):
            reply = .refused(.chunkEvicted(oldestAvailable: oldest >= anchor.base ? oldest - anchor.base : 0))
        case .pastEnd(let total):
            reply = .refused(.streamComplete(total: total >= anchor.base ? total - anchor.base : 0))
        }
        let advice: BackpressureAdvice =
            token.features.contains(.backpressure) ? .compute(ratios: loadRatios) : .low
        return pullReply(reply, packet: packet, advice: advice)
    }

    /// `transmit` answered without suspending (a stateless pull of a chunk that exists, or any refusal of
    /// it), for callers on an event loop; nil when it needs the registry or a wait (then call `transmit`).
    func transmitOnLoop(header: (String) -> String?) -> L7RTCPReply? {
        guard
            case .success(.pull(let id, let stream, let packet, let waitMs)) = TransmitRequest.parse(
                header, maxWaitMs: configuration.maxWaitMs), StatelessToken.looksStateless(id)
        else { return nil }
        inFlight.withLockedValue { $0 += 1 }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        guard let reply = statelessPullNow(id: id, stream: stream, packet: packet, waitMs: waitMs) else { return nil }
        metrics.replied(reply.status)
        return reply
    }

    private func pullReply(_ reply: Transmission.PullReply, packet: UInt64, advice: BackpressureAdvice) -> L7RTCPReply {
        let adviceHeader = ("X-Backpressure-Advice", advice.rawValue)
        switch reply {
        case .chunk(let chunk, let isLast, let next, let total):
            metrics.served(bytes: chunk.bytes.readableBytes)
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/octet-stream"), ("X-Packet-ID", String(packet)),
                ("X-Next-Packet-ID", String(next)), adviceHeader, ("X-Chunk-CRC32C", chunk.crcHex),
            ]
            if let total { headers.append(("X-Total-Chunks", String(total))) }
            if advice >= .high { headers.append(("Retry-After", String(configuration.stopRetryAfter))) }
            return L7RTCPReply(status: isLast ? 200 : 209, headers: headers, body: chunk.bytes)
        case .notYet(let next):
            return L7RTCPReply(
                status: 204, headers: [("X-Next-Packet-ID", String(next)), ("Retry-After", "1"), adviceHeader])
        case .refused(let error):
            return .error(error, headers: [adviceHeader])
        }
    }

    // MARK: metrics

    /// `GET /l7rtcp/metrics`: Prometheus text.
    public func metricsText() async -> String {
        metrics.render(
            active: await registry.count, waiting: await registry.waiting, inFlight: inFlight.withLockedValue { $0 },
            feeds: feeds.count, retainedBytes: feeds.retainedBytes)
    }
}
