import Foundation
import TestSupport
import Testing

/// The store under kill -9: every change is one transaction, so a relay killed mid-update restarts on a
/// consistent state (each user either fully there or absent).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CrashSafetyTests {
    @Test func killDashNineMidUpdateLeavesAConsistentStore() async throws {
        var caster = try await RunningCaster.start(users: [])
        let directory = caster.directory
        defer { caster.stop() }
        // A stream of creates and updates, killed while it runs.
        let first = caster
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<1000 {
                    _ = try? await first.http(
                        "POST", "/api/ntrip/users",
                        json: "{\"name\":\"k\(index)\",\"password\":\"pw\(index)\",\"mounts\":[\"DEMO\"]}")
                    _ = try? await first.http(
                        "PUT", "/api/ntrip/users/k\(index)", json: "{\"mounts\":[\"DEMO\",\"X\(index)\"]}")
                }
            }
            try await Task.sleep(for: .seconds(2))
            kill(first.process.pid, SIGKILL)
            try await group.waitForAll()
        }
        _ = try await caster.process.waitForExit(timeout: .seconds(10))
        caster.stop(keepingData: true)
        caster = try await RunningCaster.start(users: [], directory: directory)
        let (code, body) = try await caster.http("GET", "/api/ntrip/users")
        #expect(code == 200)
        let users = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] ?? []
        let created = users.filter { ($0["name"] as? String)?.hasPrefix("k") == true }
        #expect(!created.isEmpty, "some changes were committed before the kill")
        #expect(created.count < 1000, "the kill came mid-run")
        for user in created {
            let mounts = user["mounts"] as? [String] ?? []
            #expect(mounts == ["DEMO"] || (mounts.count == 2 && mounts[0] == "DEMO"), "\(user)")
        }
        // The store still takes writes.
        #expect(
            try await caster.http("POST", "/api/ntrip/users", json: "{\"name\":\"after\",\"password\":\"x\"}").0 == 201)
    }
}
