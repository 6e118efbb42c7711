import Foundation
public import Hummingbird

/// Admin authentication for the management API: `Authorization: Bearer <token>` or Basic with the token
/// as password. Never anonymous: anything else is 401 with a challenge.
public struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    public init(token: String) { self.token = token }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], authorized(header) else {
            return Response(
                status: .unauthorized,
                headers: [.wwwAuthenticate: "Basic realm=\"moq-relay admin\"", .contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":\"admin authentication required\"}\n")))
        }
        return try await next(request, context)
    }

    func authorized(_ header: String) -> Bool {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return false }
        switch parts[0].lowercased() {
        case "bearer": return constantTimeEqual(String(parts[1]), token)
        case "basic":
            guard let data = Data(base64Encoded: String(parts[1])), let text = String(data: data, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else { return false }
            return constantTimeEqual(String(text[text.index(after: colon)...]), token)
        default: return false
        }
    }

    func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let (a, b) = (Array(lhs.utf8), Array(rhs.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
