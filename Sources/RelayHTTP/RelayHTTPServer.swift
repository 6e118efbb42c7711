import Foundation
public import Hummingbird
public import HummingbirdCore
import MoQ
public import MoQRelay
import NIOCore

/// The relay's HTTP/1.1 API (TCP): health, the certificate pin for dev clients, announced broadcasts,
/// a group's bytes, and Prometheus metrics. Same paths as moq-relay; the same routes answer over HTTP/3.
public enum RelayHTTPServer {
    /// The Hummingbird application serving `relay` on `host:port`; run it as a service next to the relay.
    /// `routes` adds routes of other services (the NTRIP management API) to the same listener; `server` picks
    /// the child channel (the L7RTCP gateway's adds its WebSocket upgrade).
    public static func application(
        relay: Relay, host: String = "127.0.0.1", port: Int = 8080,
        routes: (Router<BasicRequestContext>) -> Void = { _ in }, server: HTTPServerBuilder = .http1(),
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: AltSvcMiddleware(udpPort: relay.endpoint.localAddress.port ?? relay.configuration.port))
        routes(router)
        addRoutes(to: router, relay: relay)
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "moq-relay"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: relay.configuration.logger)
    }

    /// One announced path per line.
    /// `GET /nodes`: this node's hop id, its cluster links, and the route (hop chain, cost) to every broadcast.
    static func nodes(_ relay: Relay) throws -> Response {
        struct Route: Encodable {
            let path: String
            let hops: [UInt64]
            let cost: UInt64
        }
        struct Nodes: Encodable {
            let node: UInt64
            let links: [RelayLinkStatus]
            let routes: [Route]
        }
        let origin = relay.origin
        let routes = origin.announced().compactMap { path in
            origin.route(to: path).map { Route(path: path, hops: $0.hops, cost: $0.cost) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(Nodes(node: relay.configuration.hopID, links: relay.links, routes: routes))
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func listing(_ relay: Relay, prefix: String) -> String {
        relay.origin.announced(prefix: prefix).map { $0 + "\n" }.joined()
    }

    /// The frames of the latest (or given) group of `<broadcast...>/<track>`, concatenated.
    static func fetch(_ relay: Relay, path: [Substring], group: UInt64?) async throws -> Response {
        guard path.count >= 2 else { throw HTTPError(.badRequest, message: "use /fetch/<broadcast>/<track>[?group=N]") }
        let broadcastPath = path.dropLast().joined(separator: "/")
        guard let broadcast = relay.origin.consume(broadcastPath) else {
            throw HTTPError(.notFound, message: "broadcast \(broadcastPath) is not announced")
        }
        guard let track = broadcast.track(String(path.last!)) else {
            throw HTTPError(.notFound, message: "track \(path.last!) not found in \(broadcastPath)")
        }
        // A track pulled on demand may need a moment for its first group.
        var sequence = group ?? track.latestSequence
        for _ in 0..<50 where sequence == nil {
            try await Task.sleep(for: .milliseconds(20))
            sequence = track.latestSequence
        }
        guard let sequence, let consumer = track.group(sequence) else {
            throw HTTPError(.notFound, message: "group not in the relay's cache")
        }
        var body = ByteBuffer()
        for try await frame in consumer { body.writeImmutableBuffer(frame.payload) }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody(byteBuffer: body))
    }
}
