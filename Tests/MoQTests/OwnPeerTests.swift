import MoQ
import MoQWire
import NIOCore
import QUIC
import TestSupport
import Testing

/// Our client against our server: version choice, subscription bounds and updates, datagrams.
@Suite(.timeLimit(.minutes(1)))
struct OwnPeerTests {
    func configuration(_ pin: String, versions: [MoQVersion] = MoQVersion.serverPreference) -> MoQClient.Configuration {
        MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(pin)!]), versions: versions)
    }

    @Test func serverPicksItsPreferredVersionAmongTheOffered() async throws {
        try await withOurServer(versions: MoQVersion.serverPreference) { url, pin, _ in
            for (offered, expected) in [
                ([MoQVersion.lite04, .lite05, .lite06], MoQVersion.lite06), ([.lite04, .lite05], .lite05),
                ([.lite04], .lite04),
            ] {
                let version = try await MoQClient.withSession(
                    url: url, configuration: configuration(pin, versions: offered)
                ) { $0.version }
                #expect(version == expected)
            }
        }
    }

    @Test(arguments: [MoQVersion.lite06, .lite05, .lite04])
    func startAndEndGroupBoundTheSubscription(version: MoQVersion) async throws {
        let origin = Origin()
        let broadcast = BroadcastProducer(path: "/history/")
        let track = broadcast.createTrack("t")
        for _ in 0..<10 {
            let group = track.appendGroup()
            group.write(ByteBuffer(string: "g\(group.sequence)"))
            group.finish()
        }
        origin.publish(broadcast)
        try await withOurServer(versions: [version], origin: origin) { url, pin, _ in
            let sequences = try await MoQClient.withSession(
                url: url, configuration: configuration(pin, versions: [version])
            ) { session in
                let subscription = session.subscribe(
                    broadcast: "history", track: "t", options: SubscribeOptions(startGroup: 3, endGroup: 7))
                var sequences: [UInt64] = []
                for try await group in subscription.track {
                    #expect(try await group.collect().map { String(buffer: $0.payload) } == ["g\(group.sequence)"])
                    sequences.append(group.sequence)
                }
                return sequences
            }
            #expect(sequences == [3, 4, 5, 6], "groups [start, end) and then the track ends")
        }
    }

    /// Received frames are what a relay caches: a small frame must not keep a large receive buffer alive
    /// (the cache budget counts payload bytes). Each 100-byte frame, written apart from the others, arrives
    /// in storage at most twice its size plus 1 KiB.
    @Test func receivedSmallFramesDoNotPinLargeBuffers() async throws {
        let (origin, track) = publishedTrack(broadcast: "small", track: "t")
        try await withOurServer(versions: [.lite06], origin: origin) { url, pin, _ in
            try await MoQClient.withSession(url: url, configuration: configuration(pin, versions: [.lite06])) {
                session in
                let subscription = session.subscribe(broadcast: "small", track: "t")
                let group = track.appendGroup()
                async let frames = subscription.track.first { _ in true }!.collect()
                for index in 0..<20 {
                    try await Task.sleep(for: .milliseconds(5))
                    group.write(ByteBuffer(repeating: UInt8(index), count: 100))
                }
                group.finish()
                let received = try await frames
                #expect(received.count == 20)
                #expect(received.enumerated().allSatisfy { $1.payload == ByteBuffer(repeating: UInt8($0), count: 100) })
                let pinned = received.map(\.payload.storageCapacity)
                #expect(pinned.allSatisfy { $0 <= 2 * 100 + 1024 }, "storage per frame: \(pinned)")
            }
        }
    }

    /// Route costs cross the session: lite-06 announcements carry the sender's cost, the receiver adds the
    /// link's price (its own `linkCost`, told to the peer in SETUP); lite-05 has no costs, each hop counts 1.
    @Test(arguments: [MoQVersion.lite06, .lite05])
    func routeCostsAddTheLinkPrice(version: MoQVersion) async throws {
        let serverOrigin = Origin()
        serverOrigin.publish(BroadcastProducer(path: "cam"), hops: [9], cost: 3)
        try await withOurServer(versions: [version], origin: serverOrigin) { url, pin, origin in
            let mine = Origin()
            mine.publish(BroadcastProducer(path: "up"))
            var session = MoQSessionConfiguration(publish: mine, consume: Origin())
            session.linkCost = 5
            let learned = session.consume
            var client = configuration(pin, versions: [version])
            client.session = session
            try await MoQClient.withSession(url: url, configuration: client) { _ in
                try await waitUntil { learned.route(to: "cam") != nil && origin.route(to: "up") != nil }
                if version == .lite06 {
                    #expect(learned.route(to: "cam")?.cost == 8, "announced 3 + link 5")
                    #expect(origin.route(to: "up")?.cost == 5, "the peer's SETUP Cost is the link's price")
                } else {
                    #expect(learned.route(to: "cam")?.cost == 6, "one hop before the peer + link 5")
                    #expect(origin.route(to: "up")?.cost == 1, "no SETUP Cost before lite-06: 1")
                }
            }
        }
    }

    @Test func subscribeUpdateMovesTheEnd() async throws {
        let (origin, track) = publishedTrack(broadcast: "live", track: "t")
        @Sendable func produce() {
            let group = track.appendGroup()
            group.write(ByteBuffer(string: "x"))
            group.finish()
        }
        try await withOurServer(versions: [.lite06], origin: origin) { url, pin, _ in
            let sequences = try await MoQClient.withSession(url: url, configuration: configuration(pin)) { session in
                let subscription = session.subscribe(broadcast: "live", track: "t")
                var groups = subscription.track.makeAsyncIterator()
                var sequences: [UInt64] = []
                // Two groups in lockstep, then SUBSCRIBE_UPDATE with an end two groups ahead.
                for _ in 0..<2 {
                    produce()
                    guard let group = try await groups.next() else { break }
                    sequences.append(group.sequence)
                }
                subscription.update(SubscribeOptions(endGroup: sequences.last! + 3))
                try await Task.sleep(for: .milliseconds(300))
                for _ in 0..<6 { produce() }
                while let group = try await groups.next() { sequences.append(group.sequence) }
                return sequences
            }
            #expect(sequences == [0, 1, 2, 3], "the update ends the subscription before group 4")
        }
    }

    @Test func datagramGroupsTravelAsDatagrams() async throws {
        let (origin, track) = publishedTrack(broadcast: "dg", track: "t")
        try await withOurServer(versions: [.lite06], origin: origin) { url, pin, _ in
            let payloads = try await MoQClient.withSession(url: url, configuration: configuration(pin)) { session in
                let subscription = session.subscribe(broadcast: "dg", track: "t")
                try await Task.sleep(for: .milliseconds(200))
                for index in 0..<5 {
                    track.writeDatagram(ByteBuffer(string: "datagram \(index)"), timestamp: UInt64(index))
                }
                var payloads: [String] = []
                for try await group in subscription.track {
                    for try await frame in group { payloads.append(String(buffer: frame.payload)) }
                    if payloads.count == 5 { break }
                }
                return payloads
            }
            // Datagrams may be lost on a real network, not on loopback at this rate.
            #expect(Set(payloads) == Set((0..<5).map { "datagram \($0)" }))
        }
    }
}
