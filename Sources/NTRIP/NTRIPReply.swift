public import NIOCore

/// The exact bytes the caster answers with: the wire strings every tested peer accepts
/// (shared/reference/ntrip.md section 0).
public enum NTRIPReply: Sendable, Equatable {
    /// v1 source accepted.
    case sourceOK
    /// v2 source accepted.
    case sourceOKv2
    /// v1 client accepted; the blank line after it is optional (RTKLIB passes it on as data).
    case clientOK(blankLine: Bool)
    /// v2 client accepted: chunked `gnss/data` follows.
    case clientOKv2
    case v1BadPassword
    case v1MountInvalid
    case v1TooManySources
    /// 401 with a Basic challenge for the mount.
    case unauthorized(mount: String, v2: Bool)
    case forbidden(v2: Bool)
    case notFound
    /// v2 mount taken.
    case conflict
    case badRequest(v2: Bool)
    case headTooLarge
    case timeout
    case notImplemented
    case unavailable(v2: Bool)

    public var bytes: ByteBuffer { ByteBuffer(string: text) }

    public var text: String {
        switch self {
        case .sourceOK: return "ICY 200 OK\r\n\r\n"
        case .sourceOKv2:
            return "HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nServer: \(Self.server)\r\nConnection: close\r\n\r\n"
        case .clientOK(let blankLine): return blankLine ? "ICY 200 OK\r\n\r\n" : "ICY 200 OK\r\n"
        case .clientOKv2:
            return "HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nServer: \(Self.server)\r\n"
                + "Cache-Control: no-store, no-cache, max-age=0\r\nPragma: no-cache\r\nConnection: close\r\n"
                + "Content-Type: gnss/data\r\nTransfer-Encoding: chunked\r\n\r\n"
        case .v1BadPassword: return "ERROR - Bad Password\r\n"
        case .v1MountInvalid: return "ERROR - Mount Point Taken or Invalid\r\n"
        case .v1TooManySources: return "ERROR - Too Many Sources\r\n"
        case .unauthorized(let mount, let v2):
            return Self.status(
                "401 Unauthorized", v2: v2, extra: "WWW-Authenticate: Basic realm=\"/\(mount)\"\r\n",
                body: "401 Unauthorized\r\n")
        case .forbidden(let v2): return Self.status("403 Forbidden", v2: v2, body: "403 Forbidden\r\n")
        case .notFound: return Self.status("404 Not Found", v2: true, body: "404 Not Found\r\n")
        case .conflict: return Self.status("409 Conflict", v2: true, body: "409 Mount Point Taken\r\n")
        case .badRequest(let v2): return Self.status("400 Bad Request", v2: v2, body: "400 Bad Request\r\n")
        case .headTooLarge:
            return Self.status(
                "431 Request Header Fields Too Large", v2: true, body: "431 Request Header Fields Too Large\r\n")
        case .timeout: return Self.status("408 Request Timeout", v2: true, body: "408 Request Timeout\r\n")
        case .notImplemented: return Self.status("501 Not Implemented", v2: true, body: "501 Not Implemented\r\n")
        case .unavailable(let v2):
            return Self.status("503 Service Unavailable", v2: v2, body: "503 Too Many Clients\r\n")
        }
    }

    static let server = "NTRIP swift-moq/0.1"

    /// An HTTP error reply (v1 agents get `HTTP/1.0`, the line RTKLIB recognises), with a short body.
    static func status(_ status: String, v2: Bool, extra: String = "", body: String) -> String {
        let version = v2 ? "HTTP/1.1" : "HTTP/1.0"
        let ntrip = v2 ? "Ntrip-Version: Ntrip/2.0\r\n" : ""
        return "\(version) \(status)\r\n\(ntrip)Server: \(server)\r\n\(extra)Content-Type: text/plain\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }
}
