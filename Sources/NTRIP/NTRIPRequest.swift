import Foundation

/// What a connection asks for, sniffed from its request head: one port serves every role.
public enum NTRIPRequest: Sendable, Equatable {
    /// A source (NTRIP server) pushing a mount: v1 `SOURCE pw [/]mount [HTTP/1.x]` or v2 `POST /mount`.
    case source(Source)
    /// A client (rover) reading a mount: `GET /mount`.
    case client(Client)
    /// `GET /` (or a path with no mount): the sourcetable.
    case sourcetable(SourcetableStyle)
    /// Anything else: answer with this reply and close.
    case rejected(NTRIPReply)

    public enum Version: String, Sendable, Equatable, Codable {
        case v1 = "1.0"
        case v2 = "2.0"
    }

    /// How a sourcetable is framed for the asking agent.
    public enum SourcetableStyle: Sendable, Equatable {
        /// `SOURCETABLE 200 OK`: NTRIP v1 agents (User-Agent with "NTRIP", no Ntrip-Version).
        case ntripV1
        /// `HTTP/1.1 200 OK`, `gnss/sourcetable`: v2 agents and plain HTTP agents (curl, browsers).
        case http
    }

    public struct Source: Sendable, Equatable {
        public var mount: String
        public var version: Version
        /// v2 Basic user (v1 has none).
        public var user: String?
        public var password: String
        /// The STR record fields the source announced (`STR:` or `Ntrip-STR:`), if not empty.
        public var str: String?
        /// v2 body in `Transfer-Encoding: chunked`; otherwise raw bytes.
        public var chunked: Bool
        public var agent: String?
    }

    public struct Client: Sendable, Equatable {
        public var mount: String
        public var version: Version
        public var user: String?
        public var password: String?
        /// The `Ntrip-GGA` header, if sent.
        public var gga: String?
        public var agent: String?
        /// The agent said it is an NTRIP client (User-Agent contains "NTRIP").
        public var ntripAgent: Bool
    }

    /// Classifies a parsed head.
    public init(head: RequestHead) {
        let tokens = head.tokens
        let agent = head.header("User-Agent") ?? head.header("Source-Agent")
        let ntripAgent = agent?.lowercased().contains("ntrip") ?? false
        let v2 = head.header("Ntrip-Version")?.lowercased().contains("ntrip/2") ?? false
        guard let method = tokens.first?.uppercased() else {
            self = .rejected(.badRequest(v2: true))
            return
        }
        switch method {
        case "SOURCE":
            guard (3...4).contains(tokens.count), let mount = Self.mount(tokens[2]), !mount.isEmpty else {
                self = .rejected(.v1MountInvalid)
                return
            }
            if tokens.count == 4, !tokens[3].uppercased().hasPrefix("HTTP/") {
                self = .rejected(.v1MountInvalid)
                return
            }
            self = .source(
                Source(
                    mount: mount, version: .v1, user: nil, password: tokens[1],
                    str: Self.nonEmpty(head.header("STR")), chunked: false, agent: agent))
        case "POST":
            guard tokens.count == 3, let mount = Self.mount(tokens[1]), !mount.isEmpty else {
                self = .rejected(.badRequest(v2: true))
                return
            }
            let credentials = head.header("Authorization").flatMap(Self.basicCredentials)
            let chunked = head.header("Transfer-Encoding")?.lowercased().contains("chunked") ?? false
            self = .source(
                Source(
                    mount: mount, version: .v2, user: credentials?.user, password: credentials?.password ?? "",
                    str: Self.nonEmpty(head.header("Ntrip-STR")), chunked: chunked, agent: agent))
        case "GET":
            guard (2...3).contains(tokens.count), let mount = Self.mount(tokens[1]) else {
                self = .rejected(.badRequest(v2: true))
                return
            }
            if mount.isEmpty {
                self = .sourcetable(ntripAgent && !v2 ? .ntripV1 : .http)
                return
            }
            let credentials = head.header("Authorization").flatMap(Self.basicCredentials)
            self = .client(
                Client(
                    mount: mount, version: v2 ? .v2 : .v1, user: credentials?.user, password: credentials?.password,
                    gga: Self.nonEmpty(head.header("Ntrip-GGA")), agent: agent, ntripAgent: ntripAgent))
        default:
            self = .rejected(.notImplemented)
        }
    }

    /// The mount named by a request target: `/M`, `M`, `/M?query`; nil when it has invalid characters.
    static func mount(_ target: String) -> String? {
        var path = target[...]
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        while path.first == "/" { path = path.dropFirst() }
        guard path.count <= 100, path.allSatisfy(Self.isMountCharacter) else { return nil }
        return String(path)
    }

    /// Mount names: letters, digits, `_`, `-`, `.` (what SNIP advises, plus the dot of `sourcetable.txt`).
    static func isMountCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "_-.".contains(character))
    }

    /// `Basic base64(user:password)` decoded.
    static func basicCredentials(_ value: String) -> (user: String, password: String)? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
