import Foundation
import TestSupport
import Testing

@testable import Store

/// The PostgreSQL backend of the store against a real server the test starts: CRUD, versioned migrations run
/// again (and by two nodes at once) without effect, and one store seeing another's changes within the
/// documented bound (NOTIFY, or the one-second poll when a change comes without one).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PostgresStoreTests {
    @Test func crudMigrationsAndTwoStoresOnOneDatabase() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let directoryA = try Repository.temporaryDirectory()
        let directoryB = try Repository.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: directoryA)
            try? FileManager.default.removeItem(at: directoryB)
        }
        let url = server.url

        // Two nodes starting at once on an empty database: each migration applies exactly once.
        async let openA = Task.detached { try RelayStore(directory: directoryA, url: url) }.value
        async let openB = Task.detached { try RelayStore(directory: directoryB, url: url) }.value
        let a = try await openA
        let b = try await openB
        defer {
            a.close()
            b.close()
        }
        #expect(a.isShared && b.isShared)
        let migrations = "SELECT version || ':' || name FROM schema_migrations ORDER BY version"
        let applied = try await server.psql(migrations)
        #expect(applied == "1:streampoints and users\n2:l7rtcp transmissions\n3:settings")
        // The seed of a fresh store, once.
        #expect(try await server.psql("SELECT count(*) FROM streampoint") == "1")
        #expect(a.snapshot.streampoints[RelayStore.defaultMount] != nil)
        #expect(a.snapshot.users[RelayStore.defaultUser] != nil)
        // Opening again migrates nothing and seeds nothing.
        try a.deleteStreampoint(mount: RelayStore.defaultMount)
        let again = try RelayStore(directory: directoryA, url: url)
        again.close()
        #expect(try await server.psql(migrations) == applied)
        #expect(try await server.psql("SELECT count(*) FROM streampoint") == "0")

        // Streampoints: create, conflict, update, not found, delete.
        try a.createStreampoint(mount: "P1", sourcePassword: "p1pw", str: "Plant;RTCM 3.2")
        #expect(throws: RelayStore.Failure.conflict) {
            try a.createStreampoint(mount: "P1", sourcePassword: "x", str: nil)
        }
        #expect(throws: RelayStore.Failure.notFound) {
            try a.updateStreampoint(mount: "NOPE", sourcePassword: "x", str: nil)
        }
        let p1 = try #require(a.snapshot.streampoints["P1"])
        #expect(PasswordHash.verify("p1pw", against: p1.sourcePasswordHash) && p1.str == "Plant;RTCM 3.2")
        try a.updateStreampoint(mount: "P1", sourcePassword: nil, str: .some(nil))
        #expect(a.snapshot.streampoints["P1"]?.str == nil)
        #expect(a.snapshot.streampoints["P1"]?.sourcePasswordHash == p1.sourcePasswordHash)
        try a.updateStreampoint(mount: "P1", sourcePassword: "new", str: nil)
        #expect(PasswordHash.verify("new", against: a.snapshot.streampoints["P1"]!.sourcePasswordHash))

        // Users: create, conflict, update mounts and password, delete.
        try a.createUser(name: "u2", password: "pw2", mounts: ["P1"])
        #expect(throws: RelayStore.Failure.conflict) { try a.createUser(name: "u2", password: "x", mounts: nil) }
        #expect(a.snapshot.users["u2"]?.mounts == ["P1"])
        try a.updateUser(name: "u2", password: nil, mounts: .some(nil))
        #expect(a.snapshot.users["u2"]?.mounts == nil)
        try a.updateUser(name: "u2", password: "pw3", mounts: .some(["P1", "P2"]))
        let u2 = try #require(a.snapshot.users["u2"])
        #expect(u2.mounts == ["P1", "P2"] && PasswordHash.verify("pw3", against: u2.passwordHash))
        #expect(throws: RelayStore.Failure.notFound) { try a.deleteUser(name: "nobody") }

        // B sees A's changes within the bound (NOTIFY; the poll is one second).
        try await waitUntil(timeout: .seconds(3)) {
            b.snapshot.users["u2"]?.mounts == ["P1", "P2"] && b.snapshot.streampoints["P1"] != nil
                && b.snapshot.streampoints[RelayStore.defaultMount] == nil
        }
        try b.deleteUser(name: "u2")
        try await waitUntil(timeout: .seconds(3)) { a.snapshot.users["u2"] == nil }
        // A change made without NOTIFY (another tool) still arrives, through the poll.
        try await server.psql("INSERT INTO ntrip_user (name, password_hash) VALUES ('direct', 'x')")
        try await waitUntil(timeout: .seconds(3)) {
            a.snapshot.users["direct"] != nil && b.snapshot.users["direct"] != nil
        }

        // Transmissions: upsert, lookup by id, expiry, delete; one L7RTCP key for every node.
        let record = TransmissionRecord(
            id: "tx-1", clientID: "c", parametersJSON: "{}", streamsJSON: "[]", createdAt: 100, expiresAt: 200)
        try a.saveTransmissions([
            record,
            TransmissionRecord(
                id: "tx-old", clientID: "c", parametersJSON: "{}", streamsJSON: "[]", createdAt: 1, expiresAt: 50),
        ])
        var updated = record
        updated.streamsJSON = "[1]"
        try a.saveTransmissions([updated])
        #expect(try b.transmission(id: "tx-1", now: 150) == updated)
        #expect(try b.transmission(id: "tx-1", now: 250) == nil)
        #expect(try b.transmissions(now: 150) == [updated])
        #expect(try await server.psql("SELECT count(*) FROM l7rtcp_transmission") == "1")
        try b.deleteTransmissions(["tx-1"])
        #expect(try a.transmission(id: "tx-1", now: 150) == nil)
        let key = try a.l7rtcpSecret()
        #expect(key.count == 32)
        #expect(try b.l7rtcpSecret() == key)

        // The database gone: writes fail as unavailable (the API's 503), reads keep the last snapshot.
        let before = a.snapshot.streampoints.keys.sorted()
        server.stop()
        do {
            try a.createUser(name: "late", password: "pw", mounts: nil)
            Issue.record("a write succeeded with the database stopped")
        } catch let failure as RelayStore.Failure {
            guard case .unavailable = failure else {
                Issue.record("\(failure)")
                return
            }
        }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(a.snapshot.streampoints.keys.sorted() == before && before == ["P1"])
    }

    @Test func notifyAloneCarriesAChangeToAnotherStore() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Polls so rare that within this test only NOTIFY can carry a change.
        let a = try RelayStore(
            directory: directory, backend: PostgresBackend(url: server.url, pollInterval: .seconds(600)))
        let b = try RelayStore(
            directory: directory, backend: PostgresBackend(url: server.url, pollInterval: .seconds(600)))
        defer {
            a.close()
            b.close()
        }
        try a.createUser(name: "n1", password: "pw", mounts: nil)
        try await waitUntil(timeout: .seconds(3)) { b.snapshot.users["n1"] != nil }
        try b.createStreampoint(mount: "N1", sourcePassword: "pw", str: nil)
        try await waitUntil(timeout: .seconds(3)) { a.snapshot.streampoints["N1"] != nil }
        // A change made without NOTIFY waits for the poll (which the default store does each second).
        try await server.psql("INSERT INTO ntrip_user (name, password_hash) VALUES ('quiet', 'x')")
        try await Task.sleep(for: .milliseconds(1500))
        #expect(a.snapshot.users["quiet"] == nil && b.snapshot.users["quiet"] == nil)
    }

    @Test func aBadURLOrAnUnreachableServerIsAnError() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: RelayStore.Failure.self) { try RelayStore(directory: directory, url: "mysql://x/y") }
        #expect(throws: RelayStore.Failure.self) {
            try RelayStore(directory: directory, url: "postgres://127.0.0.1:\(try freeTCPPort())/moq")
        }
    }
}
