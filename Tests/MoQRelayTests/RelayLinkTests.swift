import Foundation
import TestSupport
import Testing

/// `--cluster-connect`: two moq-relay nodes linked over QUIC act as one, with reference moq-rs peers on
/// either side.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayLinkTests {
    /// Starts a node that links to `far` (pinning its certificate).
    static func linked(to far: RunningRelay, _ extra: [String] = []) async throws -> RunningRelay {
        let near = try await RunningRelay.start(
            ["--cluster-connect", far.url, "--cluster-fingerprint", far.pin] + extra)
        try await waitUntil { try await near.metric("moq_relay_links_up") == 1 }
        return near
    }

    /// `count` frames of `broadcast` read through `relay`, each byte-exact (the reference's pattern check).
    static func expectDelivered(_ relay: RunningRelay, _ broadcast: String, count: Int) async throws {
        let reader = try relay.reference(
            "subscribe", ["--broadcast", broadcast, "--track", "v", "--count", "\(count)", "--timeout", "40"])
        defer { reader.terminate() }
        #expect(try await reader.waitForExit(timeout: .seconds(45)) == 0, "\(reader.lines.suffix(3))")
        let frames = reader.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == count && frames.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact through the link")
    }

    /// The node's `GET /nodes` document.
    static func nodes(_ relay: RunningRelay) async throws -> [String: Any] {
        let text = try await httpGet("\(relay.http)/nodes")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func publish(_ relay: RunningRelay, _ broadcast: String) throws -> PeerProcess {
        try relay.reference(
            "publish",
            [
                "--broadcast", broadcast, "--track", "v", "--groups", "2000", "--frames-per-group", "3",
                "--interval-ms", "20", "--frame-size", "900", "--timeout", "120",
            ])
    }

    @Test func broadcastsCrossALinkBothWaysWithOneSubscriptionPerTrack() async throws {
        let far = try await RunningRelay.start()
        defer { far.process.terminate() }
        let near = try await Self.linked(to: far)
        defer { near.process.terminate() }

        // Published on the far node, read on the near one (the near node dialled the link).
        let farPublisher = try Self.publish(far, "site/far")
        defer { farPublisher.terminate() }
        try await waitUntil { try await httpGet("\(near.http)/announced/site").contains("site/far") }
        // Three readers on the near node at once: the far node serves the link one subscription.
        let readers = try (0..<3).map { _ in
            try near.reference(
                "subscribe", ["--broadcast", "site/far", "--track", "v", "--count", "60", "--timeout", "40"])
        }
        defer { readers.forEach { $0.terminate() } }
        for reader in readers {
            #expect(try await reader.waitForExit(timeout: .seconds(45)) == 0, "\(reader.lines.suffix(3))")
            let frames = reader.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 60 && frames.allSatisfy { $0["ok"] as? Bool == true })
        }
        #expect(try await far.metric("moq_relay_subscriptions_total") == 1, "one inter-node subscription per track")
        // GET /nodes: the link (up, to the far node's hop id) and the route's hop chain ending at that node.
        let farNode = try #require(try await Self.nodes(far)["node"] as? Int)
        let nearNodes = try await Self.nodes(near)
        let link = try #require((nearNodes["links"] as? [[String: Any]])?.first)
        #expect(link["up"] as? Bool == true && link["node"] as? Int == farNode && link["drops"] as? Int == 0)
        let routes = try #require(nearNodes["routes"] as? [[String: Any]])
        let route = try #require(routes.first { $0["path"] as? String == "site/far" })
        #expect((route["hops"] as? [Int])?.last == farNode, "\(routes)")

        // And the other way: published on the near node, read on the far one.
        let nearPublisher = try Self.publish(near, "site/near")
        defer { nearPublisher.terminate() }
        try await waitUntil { try await httpGet("\(far.http)/announced/site").contains("site/near") }
        try await Self.expectDelivered(far, "site/near", count: 30)
        // Neither node offers a broadcast back to where it came from (no loop through the link).
        #expect(
            try await httpGet("\(far.http)/announced/site").split(separator: "\n").sorted() == [
                "site/far", "site/near",
            ])
        #expect(
            try await httpGet("\(near.http)/announced/site").split(separator: "\n").sorted() == [
                "site/far", "site/near",
            ])
    }

    @Test func aLostLinkIsRedialledAndCarriesOn() async throws {
        var far = try await RunningRelay.start()
        let farPort = far.url.split(separator: ":").last!.split(separator: "/").first!
        let near = try await Self.linked(to: far, ["--idle-timeout", "2"])
        defer { near.process.terminate() }

        // The far node dies without a word; the near node notices within its idle timeout.
        kill(far.process.pid, SIGKILL)
        try await waitUntil { try await near.metric("moq_relay_links_up") == 0 }
        #expect(try await near.metric("moq_relay_link_drops_total") == 1)

        // It comes back on the same port and data directory (same certificate, same node id): the link is
        // redialled.
        let down = try #require((try await Self.nodes(near)["links"] as? [[String: Any]])?.first)
        #expect(down["up"] as? Bool == false && down["drops"] as? Int == 1 && down["lastError"] is String, "\(down)")
        let farNode = down["node"] as? Int
        far = try await RunningRelay.start(["--listen", "127.0.0.1:\(farPort)"], dataDirectory: far.dataDirectory)
        defer { far.process.terminate() }
        try await waitUntil(timeout: .seconds(30)) { try await near.metric("moq_relay_links_up") == 1 }
        let farNodeAgain = try await Self.nodes(far)["node"] as? Int
        #expect(farNode != nil && farNodeAgain == farNode, "a stable node id")
        let publisher = try Self.publish(far, "back/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await httpGet("\(near.http)/announced/back").contains("back/cam") }
        try await Self.expectDelivered(near, "back/cam", count: 30)
    }
}

/// Three linked nodes.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayLoopTests {
    @Test func aLoopOfLinksCarriesEveryFrameOnceToEveryNode() async throws {
        // A <- B <- C <- A: each node dials the next, so the links form a loop.
        let a = try await RunningRelay.start()
        defer { a.process.terminate() }
        let b = try await RelayLinkTests.linked(to: a)
        defer { b.process.terminate() }
        let c = try await RunningRelay.start([
            "--cluster-connect", b.url, "--cluster-fingerprint", b.pin, "--cluster-connect", a.url,
            "--cluster-fingerprint", a.pin,
        ])
        defer { c.process.terminate() }
        try await waitUntil { try await c.metric("moq_relay_links_up") == 2 }

        let publisher = try RelayLinkTests.publish(a, "loop/cam")
        defer { publisher.terminate() }
        for node in [b, c] {
            try await waitUntil { try await httpGet("\(node.http)/announced/loop") == "loop/cam\n" }
        }
        // Readers on every node get each frame once, byte-exact: no copy came round the loop.
        let readers = try [a, b, c].map { node in
            try node.reference(
                "subscribe", ["--broadcast", "loop/cam", "--track", "v", "--count", "90", "--timeout", "40"])
        }
        defer { readers.forEach { $0.terminate() } }
        for reader in readers {
            #expect(try await reader.waitForExit(timeout: .seconds(45)) == 0, "\(reader.lines.suffix(3))")
            let frames = reader.events.filter { $0["event"] as? String == "frame" }
            #expect(frames.count == 90 && frames.allSatisfy { $0["ok"] as? Bool == true })
            let positions = frames.compactMap { frame in
                (frame["group"] as? Int).flatMap { group in (frame["frame"] as? Int).map { group * 100 + $0 } }
            }
            #expect(positions.count == 90 && Set(positions).count == 90, "no frame twice")
        }
        // Each node still announces the broadcast once, and the publisher's node never took it back.
        for node in [a, b, c] { #expect(try await httpGet("\(node.http)/announced/loop") == "loop/cam\n") }
        #expect(try await a.metric("moq_relay_bytes_in_total") ?? 0 > 0)
    }
}

/// Two paths between a publisher's node and a subscriber's node: losing the one in use moves delivery to
/// the other without the subscriber noticing more than a gap.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayFailoverTests {
    @Test func killingTheNodeInUseMovesDeliveryToTheOtherPath() async throws {
        // A <- B <- D and A <- C <- D: D reaches A's broadcasts through B or C (same length).
        let a = try await RunningRelay.start()
        defer { a.process.terminate() }
        let b = try await RelayLinkTests.linked(to: a)
        defer { b.process.terminate() }
        let c = try await RelayLinkTests.linked(to: a)
        defer { c.process.terminate() }
        let d = try await RunningRelay.start([
            "--cluster-connect", b.url, "--cluster-fingerprint", b.pin, "--cluster-connect", c.url,
            "--cluster-fingerprint", c.pin, "--idle-timeout", "2",
        ])
        defer { d.process.terminate() }
        try await waitUntil { try await d.metric("moq_relay_links_up") == 2 }

        let publisher = try RelayLinkTests.publish(a, "dia/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await httpGet("\(d.http)/announced/dia") == "dia/cam\n" }
        // About 50 frames a second reach it: 400 frames take 8 s, the switch (about 3 s: the 2 s idle timeout
        // that notices the dead link, then the other route takes over the track) happens in their middle.
        let reader = try d.reference(
            "subscribe", ["--broadcast", "dia/cam", "--track", "v", "--count", "400", "--timeout", "60"])
        defer { reader.terminate() }
        _ = try await reader.waitForEvent { $0["event"] as? String == "frame" }
        try await Task.sleep(for: .seconds(1))
        // The node D pulls through serves one subscription: that one dies without a word.
        let inUse = try await b.metric("moq_relay_subscriptions_total") == 1 ? b : c
        let other = inUse.url == b.url ? c : b
        kill(inUse.process.pid, SIGKILL)

        #expect(try await reader.waitForExit(timeout: .seconds(60)) == 0, "\(reader.lines.suffix(3))")
        let frames = reader.events.filter { $0["event"] as? String == "frame" }
        #expect(frames.count == 400 && frames.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact after the switch")
        let positions = Set(
            frames.compactMap { frame in
                (frame["group"] as? Int).flatMap { group in (frame["frame"] as? Int).map { group * 100 + $0 } }
            })
        #expect(positions.count == 400, "no frame twice")
        #expect(try await other.metric("moq_relay_subscriptions_total") == 1, "the other path carries it now")
        #expect(try await d.metric("moq_relay_links_up") == 1)
    }
}

/// `--cluster-node` + `--cluster-mesh`: nodes that only know a seed find each other and link directly.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayMeshTests {
    @Test func nodesThatOnlyKnowASeedLinkDirectlyAndOutliveIt() async throws {
        // Nodes require tokens (clients are anonymous under mesh/ only), so every link, dialled or
        // discovered, must present the cluster token.
        let key = try Repository.temporaryDirectory().appendingPathComponent("root.jwk")
        _ = try await RelayAuthInteropTests.token(["generate", "--key", key.path])
        let token = try await RelayAuthInteropTests.sign(key, ["--root", "", "--put", "", "--get", ""])
        let auth = ["--auth-key", key.path, "--auth-public", "mesh", "--cluster-token", token]
        // One certificate for the three nodes (so one pin trusts them all): the seed's generated one.
        let seedPort = try freeUDPPort()
        let seedURL = "moqt://127.0.0.1:\(seedPort)/"
        let seed = try await RunningRelay.start(
            ["--listen", "127.0.0.1:\(seedPort)", "--cluster-node", seedURL, "--cluster-mesh"] + auth)
        defer { seed.process.terminate() }
        let certificate = seed.dataDirectory.appendingPathComponent("generated-cert.pem").path
        let privateKey = seed.dataDirectory.appendingPathComponent("generated-key.pem").path
        var nodes: [RunningRelay] = []
        defer { nodes.forEach { $0.process.terminate() } }
        for _ in 0..<2 {
            let port = try freeUDPPort()
            nodes.append(
                try await RunningRelay.start(
                    [
                        "--listen", "127.0.0.1:\(port)", "--tls-cert", certificate, "--tls-key", privateKey,
                        "--cluster-node", "moqt://127.0.0.1:\(port)/", "--cluster-mesh", "--cluster-connect", seedURL,
                        "--cluster-fingerprint", seed.pin, "--idle-timeout", "2",
                    ] + auth))
        }
        let (b, c) = (nodes[0], nodes[1])
        #expect(b.pin == seed.pin && c.pin == seed.pin)
        // Whichever URL sorts first dials the other: between them they hold three links (two to the seed).
        try await waitUntil(timeout: .seconds(30)) {
            let up = try await (b.metric("moq_relay_links_up") ?? 0) + (c.metric("moq_relay_links_up") ?? 0)
            return up == 3
        }
        let cNode = try #require(try await RelayLinkTests.nodes(c)["node"] as? Int)

        // A broadcast published on C reaches B over the direct link (one hop), not through the seed.
        let publisher = try RelayLinkTests.publish(c, "mesh/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await httpGet("\(b.http)/announced/mesh") == "mesh/cam\n" }
        try await RelayLinkTests.expectDelivered(b, "mesh/cam", count: 30)
        let routes = try #require(try await RelayLinkTests.nodes(b)["routes"] as? [[String: Any]])
        let route = try #require(routes.first { $0["path"] as? String == "mesh/cam" })
        #expect((route["hops"] as? [Int])?.last == cNode, "the direct link: \(routes)")

        // The seed goes away; B and C stay linked and keep serving each other.
        kill(seed.process.pid, SIGKILL)
        try await waitUntil {
            try await (b.metric("moq_relay_links_up") ?? 0) + (c.metric("moq_relay_links_up") ?? 0) == 1
        }
        try await RelayLinkTests.expectDelivered(b, "mesh/cam", count: 30)
    }
}
