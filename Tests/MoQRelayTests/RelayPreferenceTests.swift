import Foundation
import MoQ
import MoQWire
import NIOCore
import TestSupport
import Testing

/// One upstream subscription per track, asking for what the downstream subscribers want together.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct RelayPreferenceTests {
    @Test func theUpstreamSubscriptionCarriesTheAggregatedPreferences() async throws {
        let relay = try await RunningRelay.start()
        defer { relay.process.terminate() }
        // Two configurations: each session needs its own hop id (one shared would look like a loop).
        var client: MoQClient.Configuration {
            MoQClient.Configuration(verification: .pinnedSHA256([hexBytes(relay.pin)!]))
        }
        let broadcast = BroadcastProducer(path: "pref")
        let track = broadcast.createTrack("v")
        try await MoQClient.withSession(url: relay.url, configuration: client) { publisher in
            publisher.publish(broadcast)
            try await MoQClient.withSession(url: relay.url, configuration: client) { viewers in
                try await waitUntil { viewers.broadcast("pref") != nil }
                let low = viewers.subscribe(
                    broadcast: "pref", track: "v",
                    options: SubscribeOptions(priority: 10, maxLatency: .milliseconds(100)))
                let high = viewers.subscribe(
                    broadcast: "pref", track: "v", options: SubscribeOptions(priority: 200, maxLatency: .seconds(2)))
                // The publisher sees one subscription (the relay's), with the highest priority and longest latency.
                try await waitUntil {
                    track.subscriberPreference == SubscriberPreference(priority: 200, maxLatency: .seconds(2))
                }
                // Two first readers may race at the relay; the loser's upstream subscription ends at once.
                try await waitUntil(timeout: .seconds(5)) { track.subscriberCount == 1 }
                high.cancel()
                try await waitUntil {
                    track.subscriberPreference == SubscriberPreference(priority: 10, maxLatency: .milliseconds(100))
                }
                #expect(track.subscriberCount == 1)
                low.cancel()
                // The last subscriber gone: the upstream subscription ends after the relay's linger (2 s).
                try await waitUntil(timeout: .seconds(10)) { track.subscriberCount == 0 }
            }
        }
    }
}
