public import HTTP3
import HTTPTypes
public import Hummingbird
public import Logging
public import MoQRelay
import NIOCore

extension RelayHTTPServer {
    /// The relay's API routes (health, certificate pin, metrics, announced, fetch) on any router, so
    /// HTTP/3 serves exactly what HTTP/1.1 serves.
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, relay: Relay) {
        addBrowserPage(to: router)
        router.get("health") { _, _ in "ok\n" }
        router.get("certificate.sha256") { _, _ in relay.configuration.identity.fingerprintHex + "\n" }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: relay.metrics.render(
                            broadcasts: relay.origin.announced().count, lingering: relay.origin.lingeringPaths.count,
                            cacheBytes: relay.cache.bytes) + (await relay.metrics.includedText()))))
        }
        router.get("nodes") { _, _ in try nodes(relay) }
        router.get("announced") { _, _ in listing(relay, prefix: "") }
        router.get("announced/**") { _, context in
            listing(relay, prefix: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("fetch/**") { request, context in
            try await fetch(
                relay, path: context.parameters.getCatchAll(),
                group: request.uri.queryParameters.get("group", as: UInt64.self))
        }
    }

    /// Answers the HTTP/3 requests that reach the relay's UDP port (everything but WebTransport sessions)
    /// with the API routes, through Hummingbird's router.
    /// `routes` adds other services' routes (the L7RTCP gateway), as `application(routes:)` does for HTTP/1.1.
    public static func http3Responder(
        relay: Relay, routes: (Router<HTTP3RequestContext>) -> Void = { _ in }
    ) -> @Sendable (HTTP3Request) async -> HTTP3Response {
        let router = Router(context: HTTP3RequestContext.self)
        routes(router)
        addRoutes(to: router, relay: relay)
        let responder = router.buildResponder()
        let logger = relay.configuration.logger
        return { request in
            guard let method = HTTPRequest.Method(request.method) else {
                return HTTP3Response(status: 400, text: "bad method\n")
            }
            var headers = HTTPFields()
            for (name, value) in request.fields {
                if let name = HTTPField.Name(name) { headers.append(HTTPField(name: name, value: value)) }
            }
            let head = HTTPRequest(
                method: method, scheme: request.scheme, authority: request.authority, path: request.path,
                headerFields: headers)
            let context = HTTP3RequestContext(source: HTTP3RequestContextSource(logger: logger))
            do {
                let response = try await responder.respond(
                    to: Request(head: head, body: RequestBody(buffer: request.body)), context: context)
                let collector = BodyCollector()
                try await response.body.write(collector)
                return HTTP3Response(
                    status: response.status.code, fields: fields(response.headers), body: collector.body)
            } catch let error as any HTTPResponseError {
                return HTTP3Response(status: error.status.code, text: "\(error)\n")
            } catch {
                return HTTP3Response(status: 500, text: "\(error)\n")
            }
        }
    }

    static func fields(_ headers: HTTPFields) -> HTTP3Fields {
        HTTP3Fields(headers.map { (name: $0.name.canonicalName, value: $0.value) })
    }
}

/// The request context of API requests that arrived over HTTP/3.
public struct HTTP3RequestContext: RequestContext {
    public typealias Source = HTTP3RequestContextSource
    public var coreContext: CoreRequestContextStorage
    public init(source: HTTP3RequestContextSource) { coreContext = CoreRequestContextStorage(source: source) }
}

public struct HTTP3RequestContextSource: RequestContextSource {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }
}

/// Gathers a response body written by Hummingbird into one buffer (API responses are small).
private final class BodyCollector: ResponseBodyWriter {
    var body = ByteBuffer()
    func write(_ buffer: ByteBuffer) async throws { body.writeImmutableBuffer(buffer) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Adds `Alt-Svc: h3=":<port>"` to HTTP/1.1 responses: the same API (and WebTransport) is on that UDP port.
public struct AltSvcMiddleware<Context: RequestContext>: RouterMiddleware {
    let value: String

    public init(udpPort: Int) { value = "h3=\":\(udpPort)\"" }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("alt-svc")!] = value
        return response
    }
}
