/// Who may push and read which mounts; the caster asks it on every request (a store implements it).
public protocol NTRIPAccess: Sendable {
    /// Whether a source with these credentials may push `mount` (v1 sources have no user).
    func authorizeSource(mount: String, user: String?, password: String) -> Bool
    /// Whether a client with these credentials may read `mount`.
    func authorizeClient(mount: String, user: String?, password: String?) -> ClientAuthorization
    /// The configured streampoints, listed in the sourcetable even without a live source.
    func streampoints() -> [StreamRecord]
}

public enum ClientAuthorization: Sendable, Equatable {
    case allowed
    /// Unknown user or wrong password (401).
    case unauthorized
    /// A known user without access to the mount (403).
    case forbidden
}

/// Credentials held in memory: one source password for every mount and a list of users, each with
/// the mounts they may read (nil: all). The relay's defaults when no store is configured.
public struct NTRIPUserList: NTRIPAccess {
    public struct User: Sendable, Equatable {
        public var name: String
        public var password: String
        /// Mounts this user may read; nil means all.
        public var mounts: [String]?

        public init(name: String, password: String, mounts: [String]? = nil) {
            self.name = name
            self.password = password
            self.mounts = mounts
        }

        /// `user:password` or `user:password:M1,M2`.
        public init?(spec: String) {
            let parts = spec.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, !parts[0].isEmpty else { return nil }
            let mounts = parts.count == 3 ? parts[2].split(separator: ",").map(String.init) : nil
            self.init(name: parts[0], password: parts[1], mounts: mounts)
        }
    }

    /// The source password for every mount; nil: no source is accepted.
    public var sourcePassword: String?
    public var users: [User]
    public var records: [StreamRecord]

    public init(sourcePassword: String?, users: [User], records: [StreamRecord] = []) {
        self.sourcePassword = sourcePassword
        self.users = users
        self.records = records
    }

    public func authorizeSource(mount: String, user: String?, password: String) -> Bool {
        sourcePassword.map { $0 == password } ?? false
    }

    public func authorizeClient(mount: String, user: String?, password: String?) -> ClientAuthorization {
        guard let user, let password, let entry = users.first(where: { $0.name == user }), entry.password == password
        else { return .unauthorized }
        if let mounts = entry.mounts, !mounts.contains(mount) { return .forbidden }
        return .allowed
    }

    public func streampoints() -> [StreamRecord] { records }
}
