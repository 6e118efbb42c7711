import Foundation
import HTTP3
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
        let relay = try await RunningRelay.start()
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
        let relay = try await RunningRelay.start()
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
        let relay = try await RunningRelay.start()
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

/// Bad HTTP/3 input at the relay's UDP port: the offending connection or request ends with the right
/// code, and the relay goes on serving WebTransport and HTTP/3.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RelayHTTP3BadInputTests {
    func dial(_ relay: RunningRelay) async throws -> (QUICEndpoint, QUICConnection) {
        let port = Int(relay.url.split(separator: ":").last!.split(separator: "/").first!)!
        let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
        let connection = try await endpoint.connect(
            host: "127.0.0.1", port: port,
            configuration: QUICClientConfiguration(
                alpn: ["h3"], serverName: "localhost", verification: .pinnedSHA256([hexBytes(relay.pin)!])))
        return (endpoint, connection)
    }

    @Test func malformedSettingsAndUnknownProtocolsLeaveTheRelayServing() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }

        // SETTINGS with a repeated identifier: H3_SETTINGS_ERROR closes that connection.
        let (first, bad) = try await dial(relay)
        let control = try await bad.openUnidirectionalStream()
        try await control.write(ByteBuffer(bytes: [0x00, 0x04, 0x04, 0x08, 0x01, 0x08, 0x01]))
        let error = await bad.closed()
        #expect(error.byPeer && error.code == HTTP3ErrorCode.settingsError.rawValue, "\(error)")
        await first.close(grace: .milliseconds(20))

        // A WebTransport CONNECT offering only protocols the relay does not speak: 400, session refused.
        let (second, quic) = try await dial(relay)
        let http3 = try await HTTP3Connection.start(quic, role: .client)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await http3.run() }
            await #expect(throws: HTTP3ClientError.rejected(status: 400)) {
                _ = try await http3.webTransport(authority: "127.0.0.1", path: "/", protocols: ["moqt-15", "moq-00"])
            }
            // The same connection still serves the API and a moq-lite session.
            let health = try await http3.request(HTTP3Request(method: "GET", authority: "127.0.0.1", path: "/health"))
            #expect(health.status == 200 && String(buffer: health.body) == "ok\n")
            let session = try await http3.webTransport(authority: "127.0.0.1", path: "/", protocols: ["moq-lite-06"])
            #expect(session.negotiatedProtocol == "moq-lite-06")
            quic.close()
        }
        await second.close(grace: .milliseconds(20))

        // And a fresh moq-lite client over WebTransport is served.
        let https = relay.url.replacingOccurrences(of: "moqt://", with: "https://")
        let configuration = MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(relay.pin)!]))
        let version = try await withTimeout(.seconds(20), "session after bad input") {
            try await MoQClient.withSession(url: https, configuration: configuration) { $0.version }
        }
        #expect(version == .lite06)
    }
}
