public import NIOCore

/// An HTTP answer of the gateway, independent of the server library: status (with the reason phrase for
/// 209), headers in canonical case, body. Routes turn it into a Hummingbird response.
public struct L7RTCPReply: Sendable {
    public var status: Int
    public var reasonPhrase: String
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer

    public init(status: Int, headers: [(name: String, value: String)] = [], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.reasonPhrase = status == 209 ? "Pending Transmission" : ""
        self.headers = [("X-L7RTCP-Version", "1")] + headers
        self.body = body
    }

    static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> L7RTCPReply {
        L7RTCPReply(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: ByteBuffer(string: text))
    }

    static func error(_ error: L7RTCPError, headers: [(name: String, value: String)] = []) -> L7RTCPReply {
        var extra = headers
        if let seconds = error.retryAfter { extra.append(("Retry-After", String(seconds))) }
        return json(error.status, error.jsonBody, headers: extra)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
