import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The cluster scenarios of RelayLinkTests, RelayFailoverTests and RelayLoopTests on separate hosts: each
/// node in a network namespace of its own (`NetworkLab`), nodes joined by veth pairs, and links crossing
/// the tests' lossy UDP forwarder (20 ms each way, 1% loss, a fixed seed; this kernel has no netem).
/// Needs root: without it the tests fail, saying so.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayNamespaceTests {
    /// What the forwarder does to each datagram, both ways.
    static let impairment = ["--delay-ms", "20", "--drop", "0.01", "--reorder", "0"]

    /// A lossy forwarder in `far`'s namespace, on `far`'s veth address toward `near`, in front of `far`'s
    /// relay; returns it and the URL `near` dials to reach `far` through it. The seed fixes which datagrams
    /// are dropped (those chosen drop one of their first hundred).
    static func forwarder(_ lab: NetworkLab, from near: String, to far: String, seed: Int) async throws
        -> (PeerProcess, String)
    {
        let host = lab.address(far, toward: near)
        let process = try lab.process(
            in: far, Repository.python,
            [
                Repository.peer("lossy_forwarder.py"), "--listen-host", host, "--listen-port", "4500", "--target",
                "\(lab.address(far)):4443", "--seed", "\(seed)", "--follow-client", "--timeout", "300",
            ] + impairment, name: "lossy_forwarder \(near)->\(far)")
        _ = try await process.waitForLine(prefix: "READY ")
        return (process, "moqt://\(host):4500/")
    }

    /// Stops a forwarder and returns how many datagrams it forwarded and dropped (both ways).
    static func counts(_ forwarder: PeerProcess) async throws -> (forwarded: Int, dropped: Int) {
        forwarder.closeInput()
        _ = try await forwarder.waitForExit(timeout: .seconds(10))
        let line = try #require(forwarder.stderr.split(separator: "\n").last { $0.hasPrefix("forwarded=") })
        var fields: [String: Int] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=")
            if parts.count == 2 { fields[String(parts[0])] = Int(parts[1]) }
        }
        return (fields["forwarded"] ?? 0, fields["dropped"] ?? 0)
    }

    /// Options linking to `url` (a node, or a forwarder in front of it) and trusting `relay`'s certificate.
    static func link(_ url: String, _ relay: RunningRelay) -> [String] {
        ["--cluster-connect", url, "--cluster-fingerprint", relay.pin]
    }

    static func reader(_ relay: RunningRelay, _ broadcast: String, count: Int) throws -> PeerProcess {
        try relay.reference(
            "subscribe", ["--broadcast", broadcast, "--track", "v", "--count", "\(count)", "--timeout", "60"])
    }

    /// The frame events a reader printed.
    static func frames(_ reader: PeerProcess) -> [[String: Any]] {
        reader.events.filter { $0["event"] as? String == "frame" }
    }

    /// Expects the reader to end with `count` frames, each byte-exact (the reference's pattern check) and
    /// none twice (by group and frame number).
    static func expectExact(_ reader: PeerProcess, count: Int, _ what: String) async throws {
        #expect(try await reader.waitForExit(timeout: .seconds(65)) == 0, "\(what): \(reader.lines.suffix(3))")
        let frames = Self.frames(reader)
        #expect(frames.count == count, "\(what): \(frames.count) frames")
        #expect(frames.allSatisfy { $0["ok"] as? Bool == true }, "\(what): byte-exact")
        let positions = Set(
            frames.compactMap { frame in
                (frame["group"] as? Int).flatMap { group in (frame["frame"] as? Int).map { group * 1000 + $0 } }
            })
        #expect(positions.count == count, "\(what): no frame twice")
    }

    @Test func aLineOfHostsCarriesTheTrackByteExactAcrossALossyLink() async throws {
        // A - B - C on veth pairs; C dials B through the forwarder; C has no route to A.
        let lab = try NetworkLab(nodes: ["a", "b", "c"], links: [("a", "b"), ("b", "c")])
        defer { lab.close() }
        #expect(lab.existingNamespaces.count == 3)
        let a = try await RunningRelay.start(in: lab, node: "a")
        defer { a.stop() }
        let b = try await RunningRelay.start(in: lab, node: "b", Self.link(a.url, a))
        defer { b.stop() }
        let (forwarder, throughForwarder) = try await Self.forwarder(lab, from: "c", to: "b", seed: 7)
        defer { forwarder.terminate() }
        let c = try await RunningRelay.start(in: lab, node: "c", Self.link(throughForwarder, b))
        defer { c.stop() }
        for node in [b, c] { try await waitUntil { try await node.metric("moq_relay_links_up") == 1 } }
        #expect(try await httpGet("\(a.http)/health", in: lab.namespace("c")) == "", "C cannot reach A directly")

        let publisher = try RelayLinkTests.publish(a, "line/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await c.get("/announced/line") == "line/cam\n" }
        let readers = try [b, c].map { try Self.reader($0, "line/cam", count: 150) }
        defer { readers.forEach { $0.terminate() } }
        try await Self.expectExact(readers[0], count: 150, "reader on B")
        try await Self.expectExact(readers[1], count: 150, "reader on C (two hops, one lossy)")
        #expect(try await a.metric("moq_relay_subscriptions_total") == 1, "A serves B one subscription for both")
        #expect(try await b.metric("moq_relay_subscriptions_total") == 2, "B serves its reader and C's link")

        let (forwarded, dropped) = try await Self.counts(forwarder)
        #expect(forwarded > 200 && dropped > 0, "the B-C link crossed the lossy path: \(forwarded) / \(dropped)")
    }

    @Test func killingTheMiddleHostInUseMovesDeliveryToTheOtherPath() async throws {
        // A - B - D and A - C - D: D reaches A's broadcast through B or C (the same length), each of D's
        // links through a forwarder. Whichever middle node D pulls through is killed. (Four nodes, as in
        // RelayFailoverTests: routes are chosen by hop count, so in a line A-B-C with a direct A-C link C
        // would pull over that link and never through B.)
        let lab = try NetworkLab(
            nodes: ["a", "b", "c", "d"], links: [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
        defer { lab.close() }
        let a = try await RunningRelay.start(in: lab, node: "a")
        defer { a.stop() }
        let b = try await RunningRelay.start(in: lab, node: "b", Self.link(a.url, a))
        defer { b.stop() }
        let c = try await RunningRelay.start(in: lab, node: "c", Self.link(a.url, a))
        defer { c.stop() }
        let (toB, throughB) = try await Self.forwarder(lab, from: "d", to: "b", seed: 2)
        defer { toB.terminate() }
        let (toC, throughC) = try await Self.forwarder(lab, from: "d", to: "c", seed: 8)
        defer { toC.terminate() }
        let d = try await RunningRelay.start(
            in: lab, node: "d", Self.link(throughB, b) + Self.link(throughC, c) + ["--idle-timeout", "2"])
        defer { d.stop() }
        try await waitUntil { try await d.metric("moq_relay_links_up") == 2 }

        let publisher = try RelayLinkTests.publish(a, "dia/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await d.get("/announced/dia") == "dia/cam\n" }
        // About 50 frames a second: 400 take 8 s, and the switch (the 2 s idle timeout that notices the
        // dead link, then the other route feeds the track) happens early in them.
        let reader = try Self.reader(d, "dia/cam", count: 400)
        defer { reader.terminate() }
        _ = try await reader.waitForEvent { $0["event"] as? String == "frame" }
        try await Task.sleep(for: .seconds(1))
        let servedByB = try await b.metric("moq_relay_subscriptions_total")
        let servedByC = try await c.metric("moq_relay_subscriptions_total")
        #expect([servedByB, servedByC].sorted { ($0 ?? -1) < ($1 ?? -1) } == [0, 1], "one path in use")
        let (inUse, other, otherForwarder) = servedByB == 1 ? (b, c, toC) : (c, b, toB)
        let before = Self.frames(reader).count
        kill(inUse.process.pid, SIGKILL)

        try await Self.expectExact(reader, count: 400, "reader on D across the switch")
        #expect(400 - before >= 200, "most frames came after the switch (\(before) before)")
        #expect(try await other.metric("moq_relay_subscriptions_total") == 1, "the other path carries it now")
        #expect(try await d.metric("moq_relay_links_up") == 1)
        let (forwarded, dropped) = try await Self.counts(otherForwarder)
        #expect(forwarded > 200 && dropped > 0, "the path after the switch is lossy: \(forwarded) / \(dropped)")
    }

    @Test func aLoopOfHostsCarriesEveryFrameOnceToEveryNode() async throws {
        // A <- B <- C <- A: B dials A, C dials B and (through the forwarder) A.
        let lab = try NetworkLab(nodes: ["a", "b", "c"], links: [("a", "b"), ("b", "c"), ("c", "a")])
        defer { lab.close() }
        let a = try await RunningRelay.start(in: lab, node: "a")
        defer { a.stop() }
        let b = try await RunningRelay.start(in: lab, node: "b", Self.link(a.url, a))
        defer { b.stop() }
        let (forwarder, throughForwarder) = try await Self.forwarder(lab, from: "c", to: "a", seed: 10)
        defer { forwarder.terminate() }
        let c = try await RunningRelay.start(
            in: lab, node: "c", Self.link(b.url, b) + Self.link(throughForwarder, a))
        defer { c.stop() }
        try await waitUntil { try await c.metric("moq_relay_links_up") == 2 }

        let publisher = try RelayLinkTests.publish(a, "loop/cam")
        defer { publisher.terminate() }
        for node in [b, c] { try await waitUntil { try await node.get("/announced/loop") == "loop/cam\n" } }
        let readers = try [a, b, c].map { try Self.reader($0, "loop/cam", count: 90) }
        defer { readers.forEach { $0.terminate() } }
        for (reader, node) in zip(readers, ["A", "B", "C"]) {
            try await Self.expectExact(reader, count: 90, "reader on \(node)")
        }
        // Each node announces the broadcast once; the publisher's node never took it back.
        for node in [a, b, c] { #expect(try await node.get("/announced/loop") == "loop/cam\n") }
        let (forwarded, dropped) = try await Self.counts(forwarder)
        #expect(forwarded > 100 && dropped > 0, "the C-A link crossed the lossy path: \(forwarded) / \(dropped)")
    }
}
