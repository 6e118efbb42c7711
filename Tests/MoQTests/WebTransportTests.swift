import Foundation
import MoQ
import MoQWire
import NIOCore
import QUIC
import TestSupport
import Testing

/// moq-lite over WebTransport (`https://` URLs) with the reference (moq-rs) on the other side.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WebTransportTests {
    static let versions: [MoQVersion] = [.lite06, .lite04]

    @Test(arguments: versions)
    func ourHTTPSClientSubscribesFromTheReferenceServer(version: MoQVersion) async throws {
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--frames-per-group", "4", "--interval-ms", "30",
            "--frame-size", "300",
        ])
        defer { peer.process.terminate() }
        let url = "https://127.0.0.1:\(peer.port)/"
        let received = try await withTimeout(.seconds(60), "subscribe to demo/data over WebTransport") {
            try await MoQClient.withSession(url: url, configuration: peer.clientConfiguration(versions: [version])) {
                session in
                #expect(session.version == version)
                #expect(session.transport is WebTransportTransport)
                let subscription = session.subscribe(broadcast: "demo", track: "data")
                var frames: [(group: UInt64, index: Int, payload: ByteBuffer)] = []
                for try await group in subscription.track {
                    var index = 0
                    for try await frame in group {
                        frames.append((group.sequence, index, frame.payload))
                        index += 1
                    }
                    if frames.count >= 12 { break }
                }
                return frames
            }
        }
        #expect(received.count >= 12)
        for frame in received {
            #expect(frame.payload.readableBytes == 300)
            #expect(
                ReferencePayload.matches(frame.payload, group: frame.group, frame: frame.index),
                "group \(frame.group) frame \(frame.index)")
        }
    }

    @Test(arguments: versions)
    func referenceHTTPSClientsPublishToAndSubscribeFromOurServer(version: MoQVersion) async throws {
        try await withOurServer(versions: [version]) { url, pin, origin in
            let https = url.replacingOccurrences(of: "moqt://", with: "https://")
            let publisher = try referenceClient(
                "publish", url: https, pin: pin,
                [
                    "--broadcast", "ref", "--track", "data", "--groups", "40", "--frames-per-group", "3",
                    "--interval-ms", "25", "--frame-size", "700", "--hold-seconds", "3", "--timeout", "50",
                ])
            defer { publisher.terminate() }
            let announced = try await withTimeout(.seconds(20), "announcement over WebTransport") {
                () -> Announcement? in
                var iterator = origin.announcements(prefix: "").makeAsyncIterator()
                return await iterator.next()
            }
            #expect(announced?.path == "ref")
            // One subscriber over WebTransport, one over raw QUIC: the same bytes.
            let subscribers = try [https, url].map { target in
                try referenceClient(
                    "subscribe", url: target, pin: pin,
                    ["--broadcast", "ref", "--track", "data", "--count", "15", "--timeout", "40"])
            }
            defer { subscribers.forEach { $0.terminate() } }
            for subscriber in subscribers {
                #expect(
                    try await subscriber.waitForExit(timeout: .seconds(45)) == 0,
                    "\(subscriber.lines.suffix(5)) \(subscriber.stderr.suffix(2000))")
                let frames = subscriber.events.filter { $0["event"] as? String == "frame" }
                #expect(frames.count >= 15)
                #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "every frame byte-exact")
            }
            #expect(try await publisher.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    /// moq-lite datagrams ride HTTP/3 datagrams (quarter stream id prefix) and arrive byte-exact.
    @Test func referenceDatagramsArriveOverWebTransport() async throws {
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--groups", "2", "--frames-per-group", "1", "--interval-ms", "40",
            "--datagrams", "6", "--datagram-size", "500", "--wait-subscriber",
        ])
        defer { peer.process.terminate() }
        let url = "https://127.0.0.1:\(peer.port)/"
        let indexes = try await withTimeout(.seconds(40), "datagrams over WebTransport") {
            try await MoQClient.withSession(url: url, configuration: peer.clientConfiguration(versions: [.lite06])) {
                session in
                var announcements = session.announcements().makeAsyncIterator()
                _ = await announcements.next()
                var indexes: [Int] = []
                for try await group in session.subscribe(broadcast: "demo", track: "data").track {
                    for try await frame in group {
                        let bytes = Array(frame.payload.readableBytesView)
                        if bytes.first == UInt8(ascii: "d"),
                            let index = Int(String(decoding: bytes[1..<9], as: UTF8.self))
                        {
                            #expect(
                                bytes == ReferencePayload.make(group: UInt64(index), frame: 0, size: 500, kind: "d"))
                            indexes.append(index)
                        }
                    }
                    if indexes.count >= 6 { break }
                }
                return indexes
            }
        }
        #expect(Set(indexes) == Set(0..<6))
    }
}
