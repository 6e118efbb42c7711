import Foundation
import TestSupport
import Testing

/// A stateful transmission created on node A of a cluster sharing one PostgreSQL store resumes on node B after
/// A is killed: status answers, the chunks A served answer 410 chunk_evicted (never other bytes), and new
/// chunks are byte-exact. The publisher is on B; A reads it over a `--cluster-connect` link.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterResumeTests {
    @Test func aTransmissionMadeOnAResumesOnBAfterAIsKilled() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let b = try await TestRelay.start(["--store", server.url])
        defer {
            b.process.terminate()
            try? FileManager.default.removeItem(at: b.dataDirectory)
        }
        let a = try await TestRelay.start(
            ["--store", server.url, "--cluster-connect", b.url, "--cluster-fingerprint", b.pin])
        defer {
            a.process.terminate()
            try? FileManager.default.removeItem(at: a.dataDirectory)
        }
        let publisher = try await b.publish("cluster/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.terminate() }
        try await waitUntil(timeout: .seconds(20)) {
            try await httpGet(a.http + "/announced").split(separator: "\n").contains("cluster/cam")
        }

        let stream = "video;broadcast=cluster/cam"
        let (id, statelessID) = try await a.createTransmissions(of: stream, clientID: "roamer")
        for packet in 0..<5 {
            let reply = try await a.pull(id, stream: stream, packet: packet)
            #expect(reply.status == 209, "\(packet): \(reply.status) \(reply.text)")
        }
        // A saves the served sets each second; then it dies without a chance to say anything.
        try await Task.sleep(for: .milliseconds(1500))
        kill(a.process.pid, SIGKILL)
        _ = try await a.process.waitForExit(timeout: .seconds(10))

        // B never saw this transmission; the shared store has it.
        let status = try await b.exchange("GET", "/l7rtcp/status/\(id)")
        #expect(status.status == 200, "\(status.text)")
        let state = (status.json["streams"] as? [String: [String: Any]])?[stream]
        #expect(state?["received"] as? [Int] == [0, 1, 2, 3, 4], "\(status.text)")
        #expect(status.json["client_id"] as? String == "roamer")
        let resumed = try await b.exchange(
            "POST", "/l7rtcp/init",
            [
                "X-Client-ID": "roamer", "X-Features-Supported": "core", "X-Session-Type": "stateful",
                "X-Transmission-ID": id,
            ])
        #expect(resumed.status == 200 && resumed.headers["x-features-enabled"] == "core,resend,pull,pause")
        // A stateless id made on A verifies on B: one signing key for the cluster.
        #expect(try await b.exchange("GET", "/l7rtcp/status/\(statelessID)").status == 200)

        // What A served is not B's to give: 410 chunk_evicted, pointing past A's ids.
        for packet in [0, 2, 4] {
            let old = try await b.pull(id, stream: stream, packet: packet)
            #expect(old.status == 410 && old.json["error"] as? String == "chunk_evicted", "\(packet): \(old.text)")
        }
        let oldest = try #require(try await b.pull(id, stream: stream, packet: 2).json["oldest_available"] as? Int)
        #expect(oldest >= 5)
        // New chunks from B, byte-exact frames of the publisher.
        for packet in oldest..<(oldest + 3) {
            let reply = try await b.pull(id, stream: stream, packet: packet)
            #expect(reply.status == 209, "\(packet): \(reply.status) \(reply.text)")
            guard reply.status == 209, reply.body.count >= 16 else { continue }
            let group = UInt64(String(decoding: reply.body.prefix(9).dropFirst(), as: UTF8.self)) ?? 0
            let frame =
                Int(
                    String(decoding: reply.body[reply.body.startIndex + 11..<reply.body.startIndex + 16], as: UTF8.self)
                ) ?? -1
            #expect(Array(reply.body) == ReferencePayload.make(group: group, frame: frame, size: 1000))
        }
        // An id no node ever made is still unknown on B.
        let unknown = "tx-01890a5d-ac96-7774-8cc1-0123456789ab"
        #expect(try await b.exchange("GET", "/l7rtcp/status/\(unknown)").status == 404)
        // The publisher ends before the relays (it exits when its stdin closes).
        publisher.closeInput()
        _ = try? await publisher.waitForExit(timeout: .seconds(10))
    }
}
