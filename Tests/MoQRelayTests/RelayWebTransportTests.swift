import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC
import TestSupport
import Testing

/// `moq-relay` over WebTransport and HTTP/3 on its one UDP port, next to raw QUIC.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayWebTransportTests {
    @Test func referenceHTTPSClientsPublishAndSubscribeByteExact() async throws {
        let relay = try await RelayTests.RunningRelay.start()
        defer { relay.process.terminate() }
        let https = relay.url.replacingOccurrences(of: "moqt://", with: "https://")
        func reference(_ command: String, url: String, _ arguments: [String]) throws -> PeerProcess {
            try PeerProcess(
                Repository.python,
                [Repository.peer("moq_ref.py"), command, "--url", url, "--fingerprint", relay.pin] + arguments,
                name: "moq_ref \(command)")
        }
        let publisher = try reference(
            "publish", url: https,
            [
                "--broadcast", "wt/cam", "--track", "video", "--groups", "300", "--frames-per-group", "5",
                "--interval-ms", "20", "--frame-size", "1200", "--timeout", "90",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        // Four subscribers over WebTransport, two over raw QUIC, all through the same relay port.
        var subscribers: [PeerProcess] = []
        defer { subscribers.forEach { $0.terminate() } }
        for url in [https, https, https, https, relay.url, relay.url] {
            subscribers.append(
                try reference(
                    "subscribe", url: url,
                    ["--broadcast", "wt/cam", "--track", "video", "--count", "40", "--timeout", "60"]))
        }
        for subscriber in subscribers {
            #expect(
                try await subscriber.waitForExit(timeout: .seconds(70)) == 0,
                "\(subscriber.lines.suffix(3)) \(subscriber.stderr.suffix(800))")
            let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 40)
            #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact")
        }
        #expect(try await httpGet(relay.http + "/announced/wt") == "wt/cam\n")
    }

    @Test func ourHTTPSClientSubscribesThroughTheRelay() async throws {
        let relay = try await RelayTests.RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "b", "--track", "t", "--groups", "300", "--frames-per-group", "3", "--interval-ms", "20",
                "--frame-size", "500", "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        let https = relay.url.replacingOccurrences(of: "moqt://", with: "https://")
        let configuration = MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(relay.pin)!]))
        let frames = try await withTimeout(.seconds(40), "subscribe over WebTransport") {
            try await MoQClient.withSession(url: https, configuration: configuration) { session in
                #expect(session.version == .lite06)
                #expect(session.transport is WebTransportTransport)
                var frames: [(UInt64, Int, ByteBuffer)] = []
                for try await group in session.subscribe(broadcast: "b", track: "t").track {
                    var index = 0
                    for try await frame in group {
                        frames.append((group.sequence, index, frame.payload))
                        index += 1
                    }
                    if frames.count >= 9 { break }
                }
                return frames
            }
        }
        #expect(frames.count >= 9)
        for (group, index, payload) in frames {
            #expect(ReferencePayload.matches(payload, group: group, frame: index), "group \(group) frame \(index)")
        }
    }

    @Test func aioquicHTTP3ClientGetsTheAPIAndHTTP1AdvertisesAltSvc() async throws {
        let relay = try await RelayTests.RunningRelay.start()
        defer { relay.process.terminate() }
        let port = relay.url.split(separator: ":").last!.split(separator: "/").first!
        let client = try PeerProcess(
            Repository.python,
            [
                Repository.peer("aioquic_h3_get.py"), "--port", String(port), "--path", "/health", "--path",
                "/certificate.sha256", "--path", "/no/such/route",
            ],
            name: "aioquic h3")
        #expect(try await client.waitForExit(timeout: .seconds(30)) == 0, "\(client.stderr.suffix(800))")
        let responses = client.events.filter { $0["path"] != nil }
        #expect(responses.count == 3)
        #expect(responses.first?["status"] as? Int == 200)
        #expect(responses.first?["body"] as? String == "ok\n")
        #expect(responses.dropFirst().first?["body"] as? String == relay.pin + "\n")
        #expect(responses.last?["status"] as? Int == 404)

        let head = try PeerProcess("/usr/bin/curl", ["-si", "--max-time", "10", relay.http + "/health"], name: "curl")
        _ = try await head.waitForExit(timeout: .seconds(15))
        // curl's CRLF lines: search the whole output (a Swift Character "\r\n" is not "\n").
        let output = head.lines.joined(separator: "\n")
        #expect(output.contains("alt-svc: h3=\":\(port)\"\r\n"), "\(output)")
    }
}
