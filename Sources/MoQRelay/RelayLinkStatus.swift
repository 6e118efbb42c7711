import Foundation

/// What `GET /nodes` shows of one cluster link: where it goes, whether it is up, the far node's hop id,
/// and how it has fared.
public struct RelayLinkStatus: Sendable, Codable, Equatable {
    /// The link's URL with any token left out.
    public var url: String
    /// The link's configured cost (`?cost=N`), if set.
    public var cost: UInt64?
    public var up: Bool
    /// The far node's hop id, from its SETUP (nil until a session came up, or on lite-04).
    public var node: UInt64?
    /// When the link last came up or went down (seconds since 1970).
    public var since: Double
    /// Times it went down after being up.
    public var drops: Int
    /// Why the last dial or session failed, if one did.
    public var lastError: String?
}
