public import QUIC

/// An outbound link to another relay node (`--cluster-connect`): this relay dials it as a moq-lite
/// client, and the session publishes into and consumes from this relay's origin like an accepted one, so
/// broadcasts flow both ways (loops are cut by the hop chains).
public struct RelayLink: Sendable, Equatable {
    /// `moqt://host:port/path` (raw QUIC) or `https://...` (WebTransport); a token goes in `?jwt=`.
    public var url: String
    /// How the far node's certificate is trusted.
    public var verification: QUICPeerVerification

    public init(url: String, verification: QUICPeerVerification = .systemRoots) {
        self.url = url
        self.verification = verification
    }

    /// This link carrying `token` in `?jwt=` (unchanged when it has no token to add or already carries one).
    public func withToken(_ token: String?) -> RelayLink {
        guard let token, !token.isEmpty, !url.contains("jwt=") else { return self }
        var link = self
        link.url += (url.contains("?") ? "&" : "?") + "jwt=" + token
        return link
    }
}
