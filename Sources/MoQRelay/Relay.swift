public import HTTP3
public import MoQ
import MoQWire
import NIOConcurrencyHelpers
import NIOCore
public import QUIC
public import ServiceLifecycle
import Logging

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
    private let sessions = NIOLockedValueBox<[ObjectIdentifier: MoQSession]>([:])
    /// Answers HTTP/3 requests on the UDP port that are not WebTransport sessions (the HTTP API).
    private let http3Responder = NIOLockedValueBox<(@Sendable (HTTP3Request) async -> HTTP3Response)?>(nil)

    /// Serves `respond` for HTTP/3 requests (WebTransport sessions are moq-lite sessions); call before `run`.
    public func serveHTTP3(_ respond: @escaping @Sendable (HTTP3Request) async -> HTTP3Response) {
        http3Responder.withLockedValue { $0 = respond }
    }

    /// Binds the UDP socket (so the address is known before `run`).
    public init(configuration: RelayConfiguration) async throws {
        self.configuration = configuration
        endpoint = try await QUICEndpoint.bind(
            host: configuration.host, port: configuration.port,
            server: QUICServerConfiguration(
                alpn: MoQServer.alpn(for: configuration.versions), identity: configuration.identity,
                transport: configuration.transport),
            logger: configuration.logger)
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
            [origin, configuration] in
            MoQSessionConfiguration(
                publish: origin, consume: origin, hopID: configuration.hopID, counters: self.metrics.traffic,
                logger: configuration.logger)
        } respond: { [http3Responder] request in
            await http3Responder.withLockedValue { $0 }?(request) ?? HTTP3Response(status: 404, text: "not found\n")
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await server.run { session in await self.track(session) } }
            // Returns when graceful shutdown starts (or throws when the task is cancelled: close at once).
            let graceful = (try? await gracefulShutdown()) != nil
            await drain(graceful: graceful)
        }
    }

    /// Keeps the session in the live set (for GOAWAY and metrics) while it lasts.
    private func track(_ session: MoQSession) async {
        let id = ObjectIdentifier(session)
        sessions.withLockedValue { $0[id] = session }
        metrics.sessionStarted()
        _ = await session.closed()
        sessions.withLockedValue { _ = $0.removeValue(forKey: id) }
        metrics.sessionEnded()
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
    }
}
