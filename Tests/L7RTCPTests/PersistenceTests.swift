import Foundation
import TestSupport
import Testing

/// Stateful transmissions survive a relay restart (SQLite in the data directory): status answers, ids
/// served before the restart answer 410 chunk_evicted, and pulls resume with new chunks, never wrong bytes.
@Suite(.serialized) struct PersistenceTests {
    @Test func statusAndPullsSurviveARestart() async throws {
        let data = try Repository.temporaryDirectory()
        var relay = try await TestRelay.start(dataDirectory: data)
        var publisher = try await relay.publish("room/cam", tracks: ["video"], frameSize: 1000)
        let stream = "video;broadcast=room/cam"
        let (id, statelessID) = try await relay.createTransmissions(of: stream, clientID: "keeper")
        for packet in 0..<5 { #expect(try await relay.pull(id, stream: stream, packet: packet).status == 209) }
        // The registry saves changes every second; then stop the relay and its publisher.
        try await Task.sleep(for: .milliseconds(1500))
        publisher.closeInput()
        relay.process.terminate()

        relay = try await TestRelay.start(dataDirectory: data)
        let status = try await relay.exchange("GET", "/l7rtcp/status/\(id)")
        #expect(status.status == 200, "\(status.text)")
        let state = (status.json["streams"] as? [String: [String: Any]])?[stream]
        #expect(state?["received"] as? [Int] == [0, 1, 2, 3, 4])
        #expect(status.json["client_id"] as? String == "keeper" && status.json["alive"] as? Bool == true)
        let resumed = try await relay.exchange(
            "POST", "/l7rtcp/init",
            [
                "X-Client-ID": "keeper", "X-Features-Supported": "core", "X-Session-Type": "stateful",
                "X-Transmission-ID": id,
            ])
        #expect(resumed.status == 200 && resumed.headers["x-chunk-size"] == "1000")
        #expect(resumed.headers["x-features-enabled"] == "core,resend,pull,pause")
        // The stateless id's key persisted too.
        #expect(try await relay.exchange("GET", "/l7rtcp/status/\(statelessID)").status == 200)

        // What was served before the restart is gone: 410 chunk_evicted, pointing past the old ids.
        let old = try await relay.pull(id, stream: stream, packet: 2)
        #expect(old.status == 410 && old.json["error"] as? String == "chunk_evicted")
        let oldest = try #require(old.json["oldest_available"] as? Int)
        #expect(oldest >= 5)
        let early = try await relay.pull(id, stream: stream, packet: 5)
        #expect(early.status == 410 || oldest == 5)

        // A publisher returns; pulls from oldest_available get its frames, byte-exact.
        publisher = try await relay.publish("room/cam", tracks: ["video"], frameSize: 1000)
        defer { publisher.closeInput() }
        for packet in oldest..<(oldest + 3) {
            let reply = try await relay.pull(id, stream: stream, packet: packet)
            #expect(reply.status == 209, "\(packet): \(reply.status) \(reply.text)")
            let group = UInt64(String(decoding: reply.body.prefix(9).dropFirst(), as: UTF8.self)) ?? 0
            let frame =
                Int(
                    String(decoding: reply.body[reply.body.startIndex + 11..<reply.body.startIndex + 16], as: UTF8.self)
                ) ?? -1
            #expect(Array(reply.body) == ReferencePayload.make(group: group, frame: frame, size: 1000))
        }
        // Expired transmissions are not restored past TTL + grace (covered by the store's filter); a
        // transmission the relay never knew is still 404.
        #expect(try await relay.exchange("GET", "/l7rtcp/status/tx-unknown").status == 404)
    }
}
