import HTTPTypes
public import Hummingbird
import NIOCore

/// The gateway's HTTP routes under `/l7rtcp/` on any Hummingbird router (HTTP/1.1 and HTTP/3 alike).
public enum L7RTCPRoutes {
    public static func register<Context: RequestContext>(on router: Router<Context>, gateway: L7RTCPGateway) {
        let group = router.group("l7rtcp")
        group.post("init") { request, _ in
            response(await gateway.initialize(header: lookup(request)))
        }
        group.post("transmit") { request, _ in
            response(await gateway.transmit(header: lookup(request)))
        }
        group.get("status/:id") { request, context in
            let id = try context.parameters.require("id")
            let compact = request.uri.queryParameters.get("compact").map { $0 == "1" || $0 == "true" } ?? false
            return response(await gateway.status(id: id, clientID: lookup(request)("X-Client-ID"), compact: compact))
        }
        group.post("resend/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await request.body.collect(upTo: 1 << 20)
            return response(await gateway.resend(id: id, body: body, header: lookup(request)))
        }
        group.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: await gateway.metricsText())))
        }
    }

    /// Case-insensitive header lookup (HTTPFields compares names case-insensitively).
    static func lookup(_ request: Request) -> (String) -> String? {
        let headers = request.headers
        return { name in fieldName(name).flatMap { headers[$0] } }
    }

    /// The protocol's header names, made once (`HTTPField.Name(_:)` validates and lower-cases each time).
    private static let names: [String: HTTPField.Name] = Dictionary(
        uniqueKeysWithValues: [
            "X-L7RTCP-Version", "X-Client-ID", "X-Features-Supported", "X-Features-Enabled", "X-Session-Type",
            "X-Transmission-ID", "X-Streams", "X-Accepted-Streams", "X-TTL", "X-Max-Packet-Size", "X-Chunk-Size",
            "X-Resumed", "X-Stream-ID", "X-Packet-ID", "X-Next-Packet-ID", "X-Total-Chunks", "X-Chunk-CRC32C",
            "X-Backpressure-Advice", "X-Stream-Control", "X-Wait-Ms", "X-Request-Timestamp", "X-Request-Nonce",
            "Content-Type", "Retry-After",
        ].map { ($0, HTTPField.Name($0)!) })

    static func fieldName(_ name: String) -> HTTPField.Name? { names[name] ?? HTTPField.Name(name) }

    static func response(_ reply: L7RTCPReply) -> Response {
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let name = fieldName(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: reply.status, reasonPhrase: reply.reasonPhrase), headers: fields,
            body: ResponseBody(byteBuffer: reply.body))
    }
}
