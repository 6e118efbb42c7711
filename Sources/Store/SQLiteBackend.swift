import Foundation
import GRDB

/// The single-node backend: `<data dir>/relay.sqlite` (GRDB), and the L7RTCP key in `<data dir>/l7rtcp.key`.
/// Migrations are GRDB's, named "v1", "v2" in `grdb_migrations`.
final class SQLiteBackend: StoreBackend {
    let database: DatabaseQueue
    let directory: URL

    init(directory: URL) throws {
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
            try RelayStore.seedStreampoint().insert(db)
            try RelayStore.seedUser().insert(db)
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
    }

    var isShared: Bool { false }
    func observeChanges(_ changed: @escaping @Sendable () -> Void) {}
    func close() {}

    func loadSnapshot() throws -> RelayStore.Snapshot {
        try database.read { db in
            RelayStore.Snapshot(
                streampoints: Dictionary(uniqueKeysWithValues: try Streampoint.fetchAll(db).map { ($0.mount, $0) }),
                users: Dictionary(uniqueKeysWithValues: try StoredUser.fetchAll(db).map { ($0.name, $0) }))
        }
    }

    func insertStreampoint(_ streampoint: Streampoint) throws { try insertNew(streampoint, key: streampoint.mount) }

    func updateStreampoint(mount: String, sourcePasswordHash: String?, str: String??) throws {
        try database.write { db in
            guard var streampoint = try Streampoint.fetchOne(db, key: mount) else {
                throw RelayStore.Failure.notFound
            }
            if let sourcePasswordHash { streampoint.sourcePasswordHash = sourcePasswordHash }
            if let str { streampoint.str = str }
            try streampoint.update(db)
        }
    }

    func deleteStreampoint(mount: String) throws { try deleteExisting(Streampoint.self, key: mount) }

    func insertUser(_ user: StoredUser) throws { try insertNew(user, key: user.name) }

    func updateUser(name: String, passwordHash: String?, mountsJSON: String??) throws {
        try database.write { db in
            guard var user = try StoredUser.fetchOne(db, key: name) else { throw RelayStore.Failure.notFound }
            if let passwordHash { user.passwordHash = passwordHash }
            if let mountsJSON { user.mountsJSON = mountsJSON }
            try user.update(db)
        }
    }

    func deleteUser(name: String) throws { try deleteExisting(StoredUser.self, key: name) }

    /// Inserts a record whose key must be new (else `.conflict`).
    private func insertNew<Record: PersistableRecord & TableRecord>(_ record: Record, key: String) throws {
        try database.write { db in
            if try Record.exists(db, key: key) { throw RelayStore.Failure.conflict }
            try record.insert(db)
        }
    }

    /// Deletes the record with `key` (else `.notFound`).
    private func deleteExisting<Record: TableRecord>(_ type: Record.Type, key: String) throws {
        try database.write { db in
            guard try Record.deleteOne(db, key: key) else { throw RelayStore.Failure.notFound }
        }
    }

    func saveTransmissions(_ records: [TransmissionRecord]) throws {
        try database.write { db in
            for record in records { try record.save(db) }
        }
    }

    func deleteTransmissions(_ ids: [String]) throws {
        _ = try database.write { db in try TransmissionRecord.deleteAll(db, keys: ids) }
    }

    func transmissions(now: Double) throws -> [TransmissionRecord] {
        try database.write { db in
            try TransmissionRecord.filter(Column("expiresAt") <= now).deleteAll(db)
            return try TransmissionRecord.fetchAll(db)
        }
    }

    func transmission(id: String, now: Double) throws -> TransmissionRecord? {
        try database.read { db in
            try TransmissionRecord.filter(Column("id") == id && Column("expiresAt") > now).fetchOne(db)
        }
    }

    /// `<data dir>/l7rtcp.key` (32 random bytes, hex, mode 0600), generated on first use and kept so stateless
    /// ids survive a restart.
    func l7rtcpSecret() throws -> [UInt8] {
        let file = directory.appendingPathComponent("l7rtcp.key")
        if let text = try? String(contentsOf: file, encoding: .utf8), let bytes = Self.bytes(hex: text, count: 32) {
            return bytes
        }
        let bytes = Self.randomKey()
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data((Self.hex(bytes) + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw RelayStore.Failure.invalid("cannot write \(file.path)") }
        return bytes
    }
}
