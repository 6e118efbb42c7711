public import Foundation
import GRDB
import NIOConcurrencyHelpers

/// The relay's persistent state in SQLite (`<data dir>/relay.sqlite`): streampoints and users. Every
/// change is one transaction (a kill -9 leaves the old or the new state, never half); reads come from a
/// snapshot refreshed after each change, so protocol handlers never wait on the database.
///
/// A fresh directory starts with streampoint `DEMO` (source password `source`) and user `user`
/// (password `password`, all mounts), so the quick start works with no configuration.
public final class RelayStore: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case notFound
        case conflict
        case invalid(String)
    }

    public struct Snapshot: Sendable {
        public var streampoints: [String: Streampoint] = [:]
        public var users: [String: StoredUser] = [:]
    }

    public static let defaultMount = "DEMO"
    public static let defaultSourcePassword = "source"
    public static let defaultUser = "user"
    public static let defaultPassword = "password"

    let database: DatabaseQueue
    private let cache = NIOLockedValueBox(Snapshot())
    public let directory: URL

    /// Opens (creating and seeding if new) the store in `directory`.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(
            path: directory.appendingPathComponent("relay.sqlite").path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: streampoints and users") { db in
            try db.create(table: "streampoint") { table in
                table.primaryKey("mount", .text)
                table.column("sourcePasswordHash", .text).notNull()
                table.column("str", .text)
            }
            try db.create(table: "user") { table in
                table.primaryKey("name", .text)
                table.column("passwordHash", .text).notNull()
                table.column("mountsJSON", .text)
            }
            try Streampoint(
                mount: Self.defaultMount, sourcePasswordHash: PasswordHash.make(Self.defaultSourcePassword), str: nil
            ).insert(db)
            try StoredUser(name: Self.defaultUser, passwordHash: PasswordHash.make(Self.defaultPassword), mounts: nil)
                .insert(db)
        }
        migrator.registerMigration("v2: l7rtcp transmissions") { db in
            try db.create(table: "l7rtcpTransmission") { table in
                table.primaryKey("id", .text)
                table.column("clientID", .text).notNull()
                table.column("parametersJSON", .text).notNull()
                table.column("streamsJSON", .text).notNull()
                table.column("createdAt", .double).notNull()
                table.column("expiresAt", .double).notNull().indexed()
            }
        }
        try migrator.migrate(database)
        try reload()
    }

    public var snapshot: Snapshot { cache.withLockedValue { $0 } }

    private func reload() throws {
        let snapshot = try database.read { db in
            Snapshot(
                streampoints: Dictionary(uniqueKeysWithValues: try Streampoint.fetchAll(db).map { ($0.mount, $0) }),
                users: Dictionary(uniqueKeysWithValues: try StoredUser.fetchAll(db).map { ($0.name, $0) }))
        }
        cache.withLockedValue { $0 = snapshot }
    }

    /// Runs `change` in one write transaction, then refreshes the snapshot.
    private func write<T>(_ change: (Database) throws -> T) throws -> T {
        let result = try database.write(change)
        try reload()
        return result
    }

    // MARK: streampoints

    public func createStreampoint(mount: String, sourcePassword: String, str: String?) throws {
        guard Self.isValidName(mount) else { throw Failure.invalid("mount must be 1-100 of [A-Za-z0-9_.-]") }
        guard !sourcePassword.isEmpty else { throw Failure.invalid("sourcePassword must not be empty") }
        try write { db in
            if try Streampoint.exists(db, key: mount) { throw Failure.conflict }
            try Streampoint(mount: mount, sourcePasswordHash: PasswordHash.make(sourcePassword), str: str).insert(db)
        }
    }

    public func updateStreampoint(mount: String, sourcePassword: String?, str: String??) throws {
        if let sourcePassword, sourcePassword.isEmpty { throw Failure.invalid("sourcePassword must not be empty") }
        try write { db in
            guard var streampoint = try Streampoint.fetchOne(db, key: mount) else { throw Failure.notFound }
            if let sourcePassword { streampoint.sourcePasswordHash = PasswordHash.make(sourcePassword) }
            if let str { streampoint.str = str }
            try streampoint.update(db)
        }
    }

    public func deleteStreampoint(mount: String) throws {
        try write { db in
            guard try Streampoint.deleteOne(db, key: mount) else { throw Failure.notFound }
        }
    }

    // MARK: users

    public func createUser(name: String, password: String, mounts: [String]?) throws {
        guard Self.isValidName(name) else { throw Failure.invalid("name must be 1-100 of [A-Za-z0-9_.-]") }
        guard !password.isEmpty else { throw Failure.invalid("password must not be empty") }
        try write { db in
            if try StoredUser.exists(db, key: name) { throw Failure.conflict }
            try StoredUser(name: name, passwordHash: PasswordHash.make(password), mounts: mounts).insert(db)
        }
    }

    public func updateUser(name: String, password: String?, mounts: [String]??) throws {
        if let password, password.isEmpty { throw Failure.invalid("password must not be empty") }
        try write { db in
            guard var user = try StoredUser.fetchOne(db, key: name) else { throw Failure.notFound }
            if let password { user.passwordHash = PasswordHash.make(password) }
            if let mounts { user.mountsJSON = mounts.map { StoredUser.encode($0) } }
            try user.update(db)
        }
    }

    public func deleteUser(name: String) throws {
        try write { db in
            guard try StoredUser.deleteOne(db, key: name) else { throw Failure.notFound }
        }
    }

    /// Names (mounts and users): 1 to 100 of letters, digits, `_`, `-`, `.`.
    public static func isValidName(_ name: String) -> Bool {
        (1...100).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }
}
