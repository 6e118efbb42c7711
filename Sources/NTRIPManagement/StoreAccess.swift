public import NTRIP
public import Store

/// The caster's access rules from the store: a streampoint's source password, users' hashed passwords
/// and allowed mounts. `extra` (command-line users and an optional shared source password) is asked too.
public struct StoreAccess: NTRIPAccess {
    public let store: RelayStore
    public let extra: NTRIPUserList?

    public init(store: RelayStore, extra: NTRIPUserList? = nil) {
        self.store = store
        self.extra = extra
    }

    public func authorizeSource(mount: String, user: String?, password: String) -> Bool {
        if let streampoint = store.snapshot.streampoints[mount] {
            return PasswordHash.verify(password, against: streampoint.sourcePasswordHash)
        }
        return extra?.authorizeSource(mount: mount, user: user, password: password) ?? false
    }

    public func authorizeClient(mount: String, user: String?, password: String?) -> ClientAuthorization {
        if let user, let password, let stored = store.snapshot.users[user] {
            guard PasswordHash.verify(password, against: stored.passwordHash) else { return .unauthorized }
            if let mounts = stored.mounts, !mounts.isEmpty, !mounts.contains(mount) { return .forbidden }
            return .allowed
        }
        return extra?.authorizeClient(mount: mount, user: user, password: password) ?? .unauthorized
    }

    public func streampoints() -> [StreamRecord] {
        store.snapshot.streampoints.values.map { StreamRecord(mount: $0.mount, fields: $0.str) }
    }
}
