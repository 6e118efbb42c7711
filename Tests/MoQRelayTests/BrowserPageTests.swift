import Foundation
import MoQ
import NIOCore
import TestSupport
import Testing

/// The relay's browser page in a real headless Chromium: moq-lite over WebTransport, pinned with
/// serverCertificateHashes, against reference (moq-rs) peers through the relay.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct BrowserPageTests {
    /// Opens `path` of the relay's HTTP API in Chromium and samples `window.moqState` once `until` holds.
    func page(_ relay: RunningRelay, _ path: String, until: String, samples: Int) throws -> PeerProcess {
        // The page is served on localhost (a secure context) and dials 127.0.0.1 itself.
        let url = relay.http.replacingOccurrences(of: "127.0.0.1", with: "localhost") + path
        return try PeerProcess(
            Repository.python,
            [
                Repository.peer("chromium_page.py"), "--url", url, "--until", until, "--samples", String(samples),
                "--interval", "1", "--timeout", "45",
            ],
            name: "chromium")
    }

    /// The sampled `window.moqState` objects.
    func states(_ browser: PeerProcess) -> [[String: Any]] {
        browser.events.filter { $0["event"] as? String == "sample" }.compactMap { event in
            (event["value"] as? String).flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    @Test func pageListsAndSubscribesToAReferencePublisher() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let publisher = try relay.reference(
            "publish",
            [
                "--broadcast", "live/page", "--track", "video", "--groups", "1000", "--frames-per-group", "5",
                "--interval-ms", "20", "--frame-size", "100", "--timeout", "60",
            ])
        defer { publisher.terminate() }
        _ = try await publisher.waitForEvent { $0["event"] as? String == "announced" }
        let browser = try page(
            relay, "/?subscribe=live/page&track=video", until: "window.moqState && window.moqState.frames > 0",
            samples: 3)
        defer { browser.terminate() }
        #expect(try await browser.waitForExit(timeout: .seconds(60)) == 0, "\(browser.lines.suffix(2))")
        let samples = states(browser)
        #expect(samples.count == 3)
        #expect(samples.allSatisfy { $0["ready"] as? Bool == true && $0["error"] is NSNull })
        #expect(samples.last?["broadcasts"] as? [String] == ["live/page"], "the announcement list")
        let counts = samples.compactMap { $0["frames"] as? Int }
        #expect(counts.count == 3 && counts[0] > 0 && counts[1] > counts[0] && counts[2] > counts[1], "\(counts)")
        var checked = 0
        for sample in samples {
            for frame in sample["recent"] as? [[String: Any]] ?? [] {
                let group = UInt64(frame["group"] as? Int ?? -1)
                let index = frame["index"] as? Int ?? -1
                let payload = ByteBuffer(bytes: hexBytes(frame["hex"] as? String ?? "") ?? [])
                #expect(payload.readableBytes == 100)
                #expect(ReferencePayload.matches(payload, group: group, frame: index), "group \(group) frame \(index)")
                checked += 1
            }
        }
        #expect(checked >= 60)
    }

    @Test func pagePublishesATestTrackToAReferenceSubscriber() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        let browser = try page(
            relay, "/?publish=browser/test&track=test", until: "window.moqState && window.moqState.published",
            samples: 20)
        defer { browser.terminate() }
        _ = try await browser.waitForLine(prefix: "{\"event\": \"sample\"", timeout: .seconds(40))
        let subscriber = try relay.reference(
            "subscribe", ["--broadcast", "browser/test", "--track", "test", "--count", "10", "--timeout", "30"])
        defer { subscriber.terminate() }
        #expect(try await subscriber.waitForExit(timeout: .seconds(35)) == 0, "\(subscriber.lines.suffix(3))")
        let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 10)
        for frame in frames {
            let text = String(decoding: hexBytes(frame["payload_hex"] as? String ?? "") ?? [], as: UTF8.self)
            #expect(text == "browser \(frame["group"] as? Int ?? -1)/\(frame["frame"] as? Int ?? -1)")
        }
    }
}
