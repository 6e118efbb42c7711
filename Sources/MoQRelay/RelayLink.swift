public import QUIC

/// An outbound link to another relay node (`--cluster-connect`): this relay dials it as a moq-lite
/// client, and the session publishes into and consumes from this relay's origin like an accepted one, so
/// broadcasts flow both ways (loops are cut by the hop chains).
public struct RelayLink: Sendable, Equatable {
    /// `moqt://host:port/path` (raw QUIC) or `https://...` (WebTransport); a token goes in `?jwt=`.
    public var url: String
    /// How the far node's certificate is trusted.
    public var verification: QUICPeerVerification
    /// The price of pulling over this link, added to the cost of every route learned through it and told
    /// to the far node (lite-06 SETUP Cost) for the routes it learns from us. nil: 1, or what the far node says.
    public var cost: UInt64?

    /// A link to `url`; a `cost=N` query parameter in it is taken out into `cost` (the far node never sees it).
    public init(url: String, verification: QUICPeerVerification = .systemRoots, cost: UInt64? = nil) throws {
        let (url, queryCost) = try Self.takingCost(from: url)
        self.url = url
        self.verification = verification
        self.cost = cost ?? queryCost
    }

    /// `url` without its `cost=` query parameter, and that parameter's value.
    static func takingCost(from url: String) throws -> (String, UInt64?) {
        guard let mark = url.firstIndex(of: "?") else { return (url, nil) }
        var cost: UInt64?
        var kept: [Substring] = []
        for item in url[url.index(after: mark)...].split(separator: "&") {
            guard item.hasPrefix("cost=") else {
                kept.append(item)
                continue
            }
            guard let value = UInt64(item.dropFirst(5)), value < 1 << 62 else {
                throw RelayLinkError.invalidCost(String(item.dropFirst(5)))
            }
            cost = value
        }
        let base = String(url[..<mark])
        return (kept.isEmpty ? base : base + "?" + kept.joined(separator: "&"), cost)
    }

    /// This link carrying `token` in `?jwt=` (unchanged when it has no token to add or already carries one).
    public func withToken(_ token: String?) -> RelayLink {
        guard let token, !token.isEmpty, !url.contains("jwt=") else { return self }
        var link = self
        link.url += (url.contains("?") ? "&" : "?") + "jwt=" + token
        return link
    }
}

/// Why a link's URL was refused.
public enum RelayLinkError: Error, Equatable, CustomStringConvertible {
    case invalidCost(String)

    public var description: String {
        switch self {
        case .invalidCost(let text): "cost=\(text) is not a whole number (0 to 2^62-1)"
        }
    }
}
