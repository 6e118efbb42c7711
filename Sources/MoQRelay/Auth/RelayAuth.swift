public import Foundation
public import MoQ

/// Who may use the relay, as moq-relay decides it: a JWT in the connection URL's `?jwt=` (verified with
/// `key`), scoped by its `root`, `put` and `get` claims; without a token, the `publicPrefixes` (both
/// directions). With neither a key nor public prefixes everything is public (a development relay).
public struct RelayAuth: Sendable {
    /// Verifies tokens (nil: tokens are refused).
    public var key: RelayKey?
    /// Prefixes anyone may publish and subscribe under without a token; nil means "everything" when no
    /// key is set and "nothing" when one is.
    public var publicPrefixes: [String]?

    public init(key: RelayKey? = nil, publicPrefixes: [String]? = nil) {
        self.key = key
        self.publicPrefixes = publicPrefixes
    }

    /// The prefixes open to anonymous peers.
    public var anonymousPrefixes: [String] { publicPrefixes ?? (key == nil ? [""] : []) }

    /// The decision for a peer that connected with `pathAndQuery` (e.g. `/room?jwt=...`; nil on lite-04).
    public func admit(_ pathAndQuery: String?, now: Date = Date()) -> MoQAdmission {
        let (path, token) = Self.split(pathAndQuery ?? "")
        guard let token else {
            let open = anonymousPrefixes
            let refusal = MoQAdmission.refused("a token is required: connect with ?jwt=<token>")
            guard !open.isEmpty else { return refusal }
            let decision = Self.scope(connection: path, root: "", put: open, get: open, expires: nil)
            if case .refused = decision { return refusal }
            return decision
        }
        guard let key else { return .refused("this relay takes no tokens (no auth key configured)") }
        let claims: RelayClaims
        do {
            claims = try key.verify(token, now: Int64(now.timeIntervalSince1970))
        } catch {
            return .refused("\(error)")
        }
        let expires = claims.exp.map { ContinuousClock.now + .seconds(Double($0) - now.timeIntervalSince1970) }
        return Self.scope(connection: path, root: claims.root, put: claims.put, get: claims.get, expires: expires)
    }

    /// Re-bases the token's grants onto the connection path (moq-relay's rule): the path and the token
    /// root must overlap; a path below the root narrows the grants, a path above it widens their names.
    static func scope(connection path: String, root: String, put: [String], get: [String], expires: ContinuousClock.Instant?)
        -> MoQAdmission
    {
        let path = MoQPath.normalize(path)
        let root = MoQPath.normalize(root)
        let below: String  // the connection path relative to the token root
        let above: String  // the token root relative to the connection path
        if let suffix = MoQPath.suffix(of: path, under: root) {
            (below, above) = (suffix, "")
        } else if let prefix = MoQPath.suffix(of: root, under: path) {
            (below, above) = ("", prefix)
        } else {
            return .refused("the token's root \(root.isEmpty ? "/" : root) does not cover the path /\(path)")
        }
        func rebase(_ grants: [String]) -> [String] {
            grants.compactMap { grant in
                let grant = MoQPath.join(above, grant)
                if let remaining = MoQPath.suffix(of: grant, under: below) { return remaining }
                return MoQPath.has(below, prefix: grant) ? "" : nil
            }
        }
        let publish = rebase(put)
        let subscribe = rebase(get)
        guard !publish.isEmpty || !subscribe.isEmpty else {
            return .refused("the token grants nothing under /\(path)")
        }
        return .granted(MoQSessionScope(root: path, publish: publish, subscribe: subscribe), expires: expires)
    }

    /// `/room/x?jwt=T&a=b` -> ("room/x", "T").
    static func split(_ pathAndQuery: String) -> (path: String, token: String?) {
        guard let question = pathAndQuery.firstIndex(of: "?") else { return (MoQPath.normalize(pathAndQuery), nil) }
        let path = MoQPath.normalize(String(pathAndQuery[..<question]))
        let query = pathAndQuery[pathAndQuery.index(after: question)...]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "jwt", !parts[1].isEmpty else { continue }
            return (path, String(parts[1]).removingPercentEncoding ?? String(parts[1]))
        }
        return (path, nil)
    }
}
