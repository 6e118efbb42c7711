public import Foundation
import NIOConcurrencyHelpers

/// The relay's persistent state: streampoints, users and L7RTCP transmissions, in SQLite
/// (`<data dir>/relay.sqlite`, the single-node default) or PostgreSQL (shared by a cluster's nodes), behind a
/// `StoreBackend`. Every change is one transaction (a kill -9 leaves the old or the new state, never half);
/// reads come from a snapshot refreshed after each change, and with PostgreSQL also when another node changed
/// something (LISTEN/NOTIFY, and a poll each second as the bound), so protocol handlers never wait on the
/// database.
///
/// A fresh directory starts with streampoint `DEMO` (source password `source`) and user `user`
/// (password `password`, all mounts), so the quick start works with no configuration.
public final class RelayStore: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case notFound
        case conflict
        case invalid(String)
        /// The database could not be reached or failed (PostgreSQL); nothing was changed.
        case unavailable(String)
    }

    public struct Snapshot: Sendable {
        public var streampoints: [String: Streampoint] = [:]
        public var users: [String: StoredUser] = [:]
    }

    public static let defaultMount = "DEMO"
    public static let defaultSourcePassword = "source"
    public static let defaultUser = "user"
    public static let defaultPassword = "password"

    let backend: any StoreBackend
    private let cache = NIOLockedValueBox(Snapshot())
    /// Serializes reloads so a slower, older read never replaces a newer snapshot.
    private let reloading = NIOLock()
    public let directory: URL

    /// Opens (creating and seeding if new) the SQLite store in `directory`.
    public convenience init(directory: URL) throws {
        try self.init(directory: directory, url: nil)
    }

    /// Opens the store `url` names: nil, empty or `sqlite` for SQLite in `directory`; `postgres://` or
    /// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` for a PostgreSQL database shared by a cluster's
    /// nodes (migrated and seeded if new). `directory` keeps the admin token either way.
    public convenience init(directory: URL, url: String?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let backend: any StoreBackend
        switch url {
        case nil, "", "sqlite": backend = try SQLiteBackend(directory: directory)
        case let url?: backend = try PostgresBackend(url: url)
        }
        try self.init(directory: directory, backend: backend)
    }

    init(directory: URL, backend: any StoreBackend) throws {
        self.directory = directory
        self.backend = backend
        do {
            try reload()
        } catch {
            backend.close()
            throw error
        }
        backend.observeChanges { [weak self] in try? self?.reload() }
    }

    /// True when other nodes share this store (PostgreSQL).
    public var isShared: Bool { backend.isShared }

    /// Stops the backend's background work and closes its connections (PostgreSQL); the store is unusable after.
    public func close() { backend.close() }

    public var snapshot: Snapshot { cache.withLockedValue { $0 } }

    /// Reads streampoints and users again (after each write here, and when another node changed them).
    func reload() throws {
        try reloading.withLock {
            let snapshot = try backend.loadSnapshot()
            cache.withLockedValue { $0 = snapshot }
        }
    }

    /// Runs `change` (one transaction of the backend's), then refreshes the snapshot.
    private func write<T>(_ change: (any StoreBackend) throws -> T) throws -> T {
        let result = try change(backend)
        try reload()
        return result
    }

    static func seedStreampoint() -> Streampoint {
        Streampoint(mount: defaultMount, sourcePasswordHash: PasswordHash.make(defaultSourcePassword), str: nil)
    }

    static func seedUser() -> StoredUser {
        StoredUser(name: defaultUser, passwordHash: PasswordHash.make(defaultPassword), mounts: nil)
    }

    // MARK: streampoints

    public func createStreampoint(mount: String, sourcePassword: String, str: String?) throws {
        guard Self.isValidName(mount) else { throw Failure.invalid("mount must be 1-100 of [A-Za-z0-9_.-]") }
        guard !sourcePassword.isEmpty else { throw Failure.invalid("sourcePassword must not be empty") }
        try write {
            try $0.insertStreampoint(
                Streampoint(mount: mount, sourcePasswordHash: PasswordHash.make(sourcePassword), str: str))
        }
    }

    public func updateStreampoint(mount: String, sourcePassword: String?, str: String??) throws {
        if let sourcePassword, sourcePassword.isEmpty { throw Failure.invalid("sourcePassword must not be empty") }
        try write {
            try $0.updateStreampoint(
                mount: mount, sourcePasswordHash: sourcePassword.map { PasswordHash.make($0) }, str: str)
        }
    }

    public func deleteStreampoint(mount: String) throws {
        try write { try $0.deleteStreampoint(mount: mount) }
    }

    // MARK: users

    public func createUser(name: String, password: String, mounts: [String]?) throws {
        guard Self.isValidName(name) else { throw Failure.invalid("name must be 1-100 of [A-Za-z0-9_.-]") }
        guard !password.isEmpty else { throw Failure.invalid("password must not be empty") }
        try write {
            try $0.insertUser(StoredUser(name: name, passwordHash: PasswordHash.make(password), mounts: mounts))
        }
    }

    public func updateUser(name: String, password: String?, mounts: [String]??) throws {
        if let password, password.isEmpty { throw Failure.invalid("password must not be empty") }
        try write {
            try $0.updateUser(
                name: name, passwordHash: password.map { PasswordHash.make($0) },
                mountsJSON: mounts.map { $0.map { StoredUser.encode($0) } })
        }
    }

    public func deleteUser(name: String) throws {
        try write { try $0.deleteUser(name: name) }
    }

    /// Names (mounts and users): 1 to 100 of letters, digits, `_`, `-`, `.`.
    public static func isValidName(_ name: String) -> Bool {
        (1...100).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }
}
