/// A moq-lite URL: `moqt://host:port/path?query` or `moql://...` (raw QUIC), `https://...` (WebTransport).
public struct MoQURL: Sendable, Equatable {
    public enum Scheme: String, Sendable {
        case moqt, moql, https
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// The path as written, with its leading `/` (may be empty).
    public var path: String
    /// The query without `?` (e.g. `jwt=...`), or nil.
    public var query: String?

    /// The default port moq-relay listens on.
    public static let defaultPort = 443

    public init(_ text: String) throws {
        guard let schemeEnd = text.range(of: "://"),
            let scheme = Scheme(rawValue: String(text[..<schemeEnd.lowerBound]).lowercased())
        else { throw MoQURLError("unsupported URL \(text): use moqt://host:port/path (raw QUIC)") }
        self.scheme = scheme
        var rest = Substring(text[schemeEnd.upperBound...])
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            path = String(rest[..<question])
        } else {
            query = nil
            path = String(rest)
        }
        // host, host:port, [v6]:port
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? Int(after.dropFirst()) ?? -1 : Self.defaultPort
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = String(authority)
            port = Self.defaultPort
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw MoQURLError("bad host or port in \(text)") }
    }

    /// `path?query`, as the SETUP Path parameter carries it.
    public var pathAndQuery: String { query.map { "\(path)?\($0)" } ?? path }
}

public struct MoQURLError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
