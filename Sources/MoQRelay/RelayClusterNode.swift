public import QUIC

/// This node in a cluster mesh (`--cluster-node`, `--cluster-mesh`): the URL other nodes dial it at, and
/// whether it dials the nodes it learns of (and how it trusts them).
public struct RelayClusterNode: Sendable {
    /// `moqt://host:port/` as the other nodes reach this one.
    public var url: String
    /// Dial every node announced in the mesh whose URL sorts after this one's (so each pair links once).
    public var mesh: Bool
    /// How discovered nodes' certificates are trusted.
    public var verification: QUICPeerVerification
    /// The token this node presents when it dials a discovered node (`?jwt=`), where nodes require one.
    public var token: String?

    public init(
        url: String, mesh: Bool = true, verification: QUICPeerVerification = .systemRoots, token: String? = nil
    ) {
        self.url = url
        self.mesh = mesh
        self.verification = verification
        self.token = token
    }
}
