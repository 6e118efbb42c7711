import Foundation
public import HTTP3
import Logging
public import MoQ
import MoQWire
import NIOConcurrencyHelpers
import NIOCore
public import QUIC
public import ServiceLifecycle

/// A moq-lite relay node: every session publishes into and consumes from one origin, so a broadcast
/// announced by any peer is offered to all others (split horizon: never back to the peer it came from)
/// and each track is pulled from its publisher once, whatever the number of subscribers.
///
/// A `Service`: run it in a `ServiceGroup`; on graceful shutdown it sends GOAWAY to every session, gives
/// them `drainTime` to leave, then closes the endpoint.
public final class Relay: Service, Sendable {
    public let configuration: RelayConfiguration
    public let origin = Origin()
    public let endpoint: QUICEndpoint
    public let metrics = RelayMetrics()
    /// The byte bound of the relay's cache (groups older than each track's latest).
    public let cache: CacheBudget
    private let sessions = NIOLockedValueBox<[ObjectIdentifier: MoQSession]>([:])
    private let linkStatus = NIOLockedValueBox<[String: (status: RelayLinkStatus, session: MoQSession?)]>([:])

    /// The cluster links and how they are doing, in configuration order.
    public var links: [RelayLinkStatus] {
        let all = linkStatus.withLockedValue { $0 }
        let configured = configuration.links.map(\.url)
        let discovered = all.keys.filter { !configured.contains($0) }.sorted()
        return (configured + discovered).compactMap { url in
            guard let entry = all[url] else { return nil }
            var status = entry.status
            if let origin = entry.session?.peerSetup.origin, origin != 0 { status.node = origin }
            return status
        }
    }
    /// Answers HTTP/3 requests on the UDP port that are not WebTransport sessions (the HTTP API).
    private let http3Responder = NIOLockedValueBox<(@Sendable (HTTP3Request) async -> HTTP3Response)?>(nil)

    /// Serves `respond` for HTTP/3 requests (WebTransport sessions are moq-lite sessions); call before `run`.
    public func serveHTTP3(_ respond: @escaping @Sendable (HTTP3Request) async -> HTTP3Response) {
        http3Responder.withLockedValue { $0 = respond }
    }
    /// Broadcasts of lost publishers, for `run()` to end when their linger is over.
    private let lost: AsyncStream<LingeringBroadcast>
    private let lostSink: AsyncStream<LingeringBroadcast>.Continuation

    /// Binds the UDP socket (so the address is known before `run`).
    public init(configuration: RelayConfiguration) async throws {
        self.configuration = configuration
        cache = CacheBudget(limit: configuration.cacheBytes)
        (lost, lostSink) = AsyncStream.makeStream(of: LingeringBroadcast.self)
        var options = QUICEndpointOptions()
        options.sockets = configuration.quicSockets
        options.placement = .packed(upTo: configuration.quicPack)
        endpoint = try await QUICEndpoint.bind(
            host: configuration.host, port: configuration.port,
            server: QUICServerConfiguration(
                alpn: MoQServer.alpn(for: configuration.versions), identity: configuration.identity,
                transport: configuration.transport),
            options: options, logger: configuration.logger)
        metrics.include { [endpoint] in RelayMetrics.quicText(sockets: await endpoint.socketStatistics()) }
    }

    /// `host:port` the relay listens on (UDP).
    public var listenAddress: String {
        let host = endpoint.localAddress.ipAddress ?? configuration.host
        let port = endpoint.localAddress.port ?? configuration.port
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Serves until graceful shutdown (SIGTERM in a `ServiceGroup`), then drains.
    public func run() async throws {
        let server = MoQServer(endpoint: endpoint, versions: configuration.versions, logger: configuration.logger) {
            [configuration, metrics] in
            self.sessionConfiguration(
                admission: { path in
                    let decision = configuration.auth.admit(path)
                    if case .refused = decision { metrics.sessionRefused() }
                    return decision
                })
        } respond: { [http3Responder] request in
            await http3Responder.withLockedValue { $0 }?(request) ?? HTTP3Response(status: 404, text: "not found\n")
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await server.run(started: self.sessionStarted, ended: self.sessionEnded) }
            group.addTask { await self.endLingeringBroadcasts() }
            for link in configuration.links { group.addTask { await self.maintain(link) } }
            let announcement = configuration.clusterNode.map { BroadcastProducer(path: Self.meshPath(for: $0.url)) }
            if let node = configuration.clusterNode, let announcement {
                origin.publish(announcement)
                if node.mesh { group.addTask { await self.joinMesh(as: node) } }
            }
            // Returns when graceful shutdown starts (or throws when the task is cancelled: close at once).
            let graceful = (try? await gracefulShutdown()) != nil
            announcement?.finish()  // the other nodes stop dialling this one
            await drain(graceful: graceful)
            group.cancelAll()  // lingering broadcasts end now, links close
        }
    }

    /// How every session of the relay, accepted or dialled, shares the origin, cache and counters.
    private func sessionConfiguration(admission: MoQAdmissionPolicy?, linkCost: UInt64? = nil)
        -> MoQSessionConfiguration
    {
        var session = MoQSessionConfiguration(
            publish: origin, consume: origin, hopID: configuration.hopID, counters: metrics.traffic,
            admission: admission,
            onPublisherLost: { [lostSink] broadcasts in broadcasts.forEach { lostSink.yield($0) } },
            unusedTrackLinger: configuration.subscriberLinger, cache: cache,
            maxPeerBroadcasts: configuration.maxSessionBroadcasts,
            maxPeerSubscriptions: configuration.maxSessionSubscriptions,
            logger: configuration.logger)
        session.linkCost = linkCost
        return session
    }

    /// Keeps a link to another relay up until cancelled: dial, run the session, and when it ends dial
    /// again after a backoff (0.5 s doubling to 10 s; back to 0.5 s after a link that held a minute).
    func maintain(_ link: RelayLink) async {
        let logger = configuration.logger
        var backoff = Duration.milliseconds(500)
        let shown = MoQSession.redacted(link.url)
        @Sendable func update(session: MoQSession? = nil, _ change: (inout RelayLinkStatus) -> Void) {
            linkStatus.withLockedValue { all in
                var status =
                    all[link.url]?.status
                    ?? RelayLinkStatus(
                        url: shown, cost: link.cost, up: false, since: Date().timeIntervalSince1970, drops: 0)
                change(&status)
                all[link.url] = (status, session)
            }
        }
        update { _ in }
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let session = try await MoQClient.connect(
                    url: link.url,
                    configuration: MoQClient.Configuration(
                        verification: link.verification, versions: configuration.versions,
                        session: sessionConfiguration(admission: nil, linkCost: link.cost),
                        transport: configuration.transport))
                logger.info("cluster link up", metadata: ["url": "\(shown)"])
                metrics.linkChanged(up: true)
                update(session: session) {
                    $0.up = true
                    $0.since = Date().timeIntervalSince1970
                }
                await withTaskCancellationHandler {
                    await session.run()
                } onCancel: {
                    session.close(code: 0, reason: "relay shutting down")
                }
                metrics.linkChanged(up: false)
                let (code, reason) = await session.closed()
                logger.notice(
                    "cluster link down", metadata: ["url": "\(shown)", "code": "\(code)", "reason": "\(reason)"])
                update {
                    if session.peerSetup.origin != 0 { $0.node = session.peerSetup.origin }
                    $0.up = false
                    $0.since = Date().timeIntervalSince1970
                    $0.drops += 1
                    $0.lastError = "closed (code \(code)): \(reason)"
                }
            } catch {
                logger.warning("cluster link failed", metadata: ["url": "\(shown)", "error": "\(error)"])
                update { $0.lastError = "\(error)" }
            }
            if ContinuousClock.now - started > .seconds(60) { backoff = .milliseconds(500) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }

    /// Keeps the session for GOAWAY at shutdown and counts it.
    @Sendable private func sessionStarted(_ session: MoQSession) {
        sessions.withLockedValue { $0[ObjectIdentifier(session)] = session }
        metrics.sessionStarted()
    }

    @Sendable private func sessionEnded(_ session: MoQSession) {
        sessions.withLockedValue { _ = $0.removeValue(forKey: ObjectIdentifier(session)) }
        metrics.sessionEnded()
    }

    /// Ends each lost publisher's broadcast when its linger is over, unless the publisher came back.
    private func endLingeringBroadcasts() async {
        await withDiscardingTaskGroup { group in
            for await lingering in lost {
                group.addTask { [origin, configuration] in
                    try? await Task.sleep(for: configuration.publisherLinger)
                    origin.endLingering(lingering)
                }
            }
        }
    }

    public var sessionCount: Int { sessions.withLockedValue { $0.count } }

    /// GOAWAY to every session, give them the drain time, then close the endpoint (which ends `server.run`).
    private func drain(graceful: Bool) async {
        let live = sessions.withLockedValue { Array($0.values) }
        if graceful, !live.isEmpty {
            configuration.logger.info("shutting down: GOAWAY to \(live.count) session(s)")
            await withDiscardingTaskGroup { group in
                for session in live { group.addTask { try? await session.goaway() } }
            }
            let deadline = ContinuousClock.now + configuration.drainTime
            while sessionCount > 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        }
        await endpoint.close(code: 0, reason: "relay shutting down")
        lostSink.finish()
    }
}
