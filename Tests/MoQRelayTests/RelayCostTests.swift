import Foundation
import MoQRelay
import TestSupport
import Testing

/// Per-link cost: `--cluster-connect URL?cost=N` prices a link; routes prefer the lowest sum of link
/// costs over the fewest hops, both ways across the link.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RelayCostTests {
    @Test func theCostQueryParameterIsTakenOutOfTheLinkURL() throws {
        let link = try RelayLink(url: "moqt://node-a:4443/?cost=10&jwt=abc")
        #expect(link.url == "moqt://node-a:4443/?jwt=abc" && link.cost == 10)
        let plain = try RelayLink(url: "moqt://node-a:4443/?jwt=abc")
        #expect(plain.url == "moqt://node-a:4443/?jwt=abc" && plain.cost == nil)
        #expect(try RelayLink(url: "moqt://node-a:4443/?cost=3").url == "moqt://node-a:4443/")
        #expect(throws: RelayLinkError.invalidCost("x")) { try RelayLink(url: "moqt://node-a:4443/?cost=x") }
    }

    /// The route to `path` in a node's `GET /nodes`.
    static func route(_ relay: RunningRelay, _ path: String) async throws -> (hops: [Int], cost: Int)? {
        let routes = try await RelayLinkTests.nodes(relay)["routes"] as? [[String: Any]] ?? []
        guard let route = routes.first(where: { $0["path"] as? String == path }),
            let hops = route["hops"] as? [Int], let cost = route["cost"] as? Int
        else { return nil }
        return (hops, cost)
    }

    @Test func anExpensiveDirectLinkLosesToACheapTwoHopPathUntilThatPathDies() async throws {
        // C links to A directly at cost 10 and through B (A <- B <- C) at 1 + 1.
        let a = try await RunningRelay.start()
        defer { a.process.terminate() }
        let b = try await RelayLinkTests.linked(to: a)
        defer { b.process.terminate() }
        let c = try await RunningRelay.start([
            "--cluster-connect", a.url + "?cost=10", "--cluster-fingerprint", a.pin, "--cluster-connect", b.url,
            "--cluster-fingerprint", b.pin, "--idle-timeout", "2",
        ])
        defer { c.process.terminate() }
        try await waitUntil { try await c.metric("moq_relay_links_up") == 2 }
        let nodeA = try #require(try await RelayLinkTests.nodes(a)["node"] as? Int)
        let nodeB = try #require(try await RelayLinkTests.nodes(b)["node"] as? Int)
        let nodeC = try #require(try await RelayLinkTests.nodes(c)["node"] as? Int)
        let links = try #require(try await RelayLinkTests.nodes(c)["links"] as? [[String: Any]])
        #expect(links.compactMap { $0["cost"] as? Int } == [10], "the configured cost is shown, the URL without it")

        // Published on A (the publisher's session is a link of cost 1 too, and its hop id starts the chain):
        // C routes through B (cost 3), not over the direct link (cost 11).
        let publisher = try RelayLinkTests.publish(a, "cost/cam")
        defer { publisher.terminate() }
        try await waitUntil { try await Self.route(c, "cost/cam")?.hops.suffix(2) == [nodeA, nodeB] }
        #expect(try await Self.route(c, "cost/cam")?.cost == 3)
        try await RelayLinkTests.expectDelivered(c, "cost/cam", count: 30)
        #expect(try await b.metric("moq_relay_subscriptions_total") == 1, "C pulls through B")

        // The other way: C told A its link costs 10 (SETUP Cost), so A reaches C's broadcast through B too.
        let fromC = try RelayLinkTests.publish(c, "cost/back")
        defer { fromC.terminate() }
        try await waitUntil { try await Self.route(a, "cost/back")?.hops.suffix(2) == [nodeC, nodeB] }
        #expect(try await Self.route(a, "cost/back")?.cost == 3)

        // B dies: the expensive direct link takes over and delivery goes on.
        kill(b.process.pid, SIGKILL)
        try await waitUntil(timeout: .seconds(30)) { try await Self.route(c, "cost/cam")?.hops.last == nodeA }
        #expect(try await Self.route(c, "cost/cam")?.cost == 11)
        try await RelayLinkTests.expectDelivered(c, "cost/cam", count: 30)
    }
}
