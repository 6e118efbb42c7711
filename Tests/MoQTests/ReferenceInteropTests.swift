import Foundation
import MoQ
import MoQWire
import NIOCore
import Testing

/// Our moq-lite client and server against the reference implementation (PyPI moq-rs), on every version.
@Suite(.timeLimit(.minutes(2)))
struct ReferenceInteropTests {
    static let versions: [MoQVersion] = [.lite06, .lite05, .lite04]

    @Test(arguments: versions)
    func referenceServerPublishesOurClientSubscribes(version: MoQVersion) async throws {
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--groups", "6", "--frames-per-group", "4", "--interval-ms", "30",
            "--frame-size", "300",
        ])
        defer { peer.process.terminate() }
        let received = try await withTimeout(.seconds(60), "subscribe to demo/data") {
            try await MoQClient.withSession(url: peer.url, configuration: peer.clientConfiguration(versions: [version])) { session in
                #expect(session.version == version)
                // The broadcast is announced to us; then its track is read group by group.
                var announcements = session.announcements(prefix: "").makeAsyncIterator()
                let announced = await announcements.next()
                #expect(announced?.path == "demo")
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
            #expect(ReferencePayload.matches(frame.payload, group: frame.group, frame: frame.index), "group \(frame.group) frame \(frame.index)")
        }
        let groups = received.map(\.group)
        #expect(groups == groups.sorted(), "groups arrive in order")
    }
}
