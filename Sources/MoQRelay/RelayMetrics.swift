public import MoQ
import NIOConcurrencyHelpers
public import QUIC

/// The relay's counters, exported on `/metrics` in the Prometheus text format.
public final class RelayMetrics: Sendable {
    private struct Counters {
        var sessions = 0
        var sessionsTotal = 0
        var sessionsRefused = 0
        var linksUp = 0
        var linkDrops = 0
    }

    private let counters = NIOLockedValueBox(Counters())
    private let included = NIOLockedValueBox<[@Sendable () async -> String]>([])
    /// Groups and bytes every session of the relay moved.
    public let traffic = MoQSessionCounters()

    public init() {}

    func sessionStarted() {
        counters.withLockedValue {
            $0.sessions += 1
            $0.sessionsTotal += 1
        }
    }

    func sessionEnded() { counters.withLockedValue { $0.sessions -= 1 } }

    func sessionRefused() { counters.withLockedValue { $0.sessionsRefused += 1 } }

    /// A cluster link came up or went down (a drop counts as a failure).
    func linkChanged(up: Bool) {
        counters.withLockedValue {
            $0.linksUp += up ? 1 : -1
            if !up { $0.linkDrops += 1 }
        }
    }

    /// Adds another part of the node's exposition text (the L7RTCP gateway's counters) to `/metrics`.
    public func include(_ source: @escaping @Sendable () async -> String) {
        included.withLockedValue { $0.append(source) }
    }

    /// The included parts' text, in the order they were added.
    public func includedText() async -> String {
        var text = ""
        for source in included.withLockedValue({ $0 }) { text += await source() }
        return text
    }

    /// Per UDP socket of the QUIC port: what it holds and moves, and the new connections it placed elsewhere.
    public static func quicText(sockets: [QUICEndpointStatistics]) -> String {
        let series: [(name: String, type: String, help: String, value: (QUICEndpointStatistics) -> Int)] = [
            ("quic_connections", "gauge", "QUIC connections each socket of the port holds now.", \.connections),
            (
                "quic_connections_accepted_total", "counter", "QUIC connections each socket accepted.",
                \.connectionsAccepted
            ),
            ("quic_datagrams_received_total", "counter", "UDP datagrams each socket read.", \.datagramsReceived),
            ("quic_datagrams_sent_total", "counter", "UDP datagrams each socket sent.", \.datagramsSent),
            (
                "quic_datagrams_handed_off_total", "counter",
                "Datagrams starting a connection that each socket handed to the socket placed to own it.",
                \.datagramsHandedOff
            ),
        ]
        var text = ""
        for metric in series {
            text += "# HELP moq_relay_\(metric.name) \(metric.help)\n# TYPE moq_relay_\(metric.name) \(metric.type)\n"
            for (socket, statistics) in sockets.enumerated() {
                text += "moq_relay_\(metric.name){socket=\"\(socket)\"} \(metric.value(statistics))\n"
            }
        }
        return text
    }

    /// Prometheus exposition text; `broadcasts` comes from the origin at scrape time.
    public func render(broadcasts: Int, lingering: Int = 0, cacheBytes: Int = 0) -> String {
        let snapshot = counters.withLockedValue { $0 }
        let traffic = self.traffic.snapshot
        return """
            # HELP moq_relay_sessions moq-lite sessions open now.
            # TYPE moq_relay_sessions gauge
            moq_relay_sessions \(snapshot.sessions)
            # HELP moq_relay_sessions_total moq-lite sessions accepted since start.
            # TYPE moq_relay_sessions_total counter
            moq_relay_sessions_total \(snapshot.sessionsTotal)
            # HELP moq_relay_sessions_refused_total Sessions closed as unauthorized (bad, expired or missing token).
            # TYPE moq_relay_sessions_refused_total counter
            moq_relay_sessions_refused_total \(snapshot.sessionsRefused)
            # HELP moq_relay_links_up Cluster links to other relay nodes that are up now.
            # TYPE moq_relay_links_up gauge
            moq_relay_links_up \(snapshot.linksUp)
            # HELP moq_relay_link_drops_total Cluster links that went down after being up.
            # TYPE moq_relay_link_drops_total counter
            moq_relay_link_drops_total \(snapshot.linkDrops)
            # HELP moq_relay_broadcasts Broadcasts announced in the relay's origin.
            # TYPE moq_relay_broadcasts gauge
            moq_relay_broadcasts \(broadcasts)
            # HELP moq_relay_cache_bytes Bytes of cached groups older than each track's latest (bounded by --cache-bytes).
            # TYPE moq_relay_cache_bytes gauge
            moq_relay_cache_bytes \(cacheBytes)
            # HELP moq_relay_broadcasts_lingering Broadcasts of lost publishers kept announced for them to return.
            # TYPE moq_relay_broadcasts_lingering gauge
            moq_relay_broadcasts_lingering \(lingering)
            # HELP moq_relay_subscriptions_total SUBSCRIBEs served to downstream sessions.
            # TYPE moq_relay_subscriptions_total counter
            moq_relay_subscriptions_total \(traffic.subscriptionsServed)
            # HELP moq_relay_groups_out_total Groups delivered whole to subscribers.
            # TYPE moq_relay_groups_out_total counter
            moq_relay_groups_out_total \(traffic.groupsOut)
            # HELP moq_relay_bytes_out_total Frame payload bytes sent to subscribers.
            # TYPE moq_relay_bytes_out_total counter
            moq_relay_bytes_out_total \(traffic.bytesOut)
            # HELP moq_relay_groups_dropped_total Groups reset toward a subscriber (fell behind, or upstream loss).
            # TYPE moq_relay_groups_dropped_total counter
            moq_relay_groups_dropped_total \(traffic.groupsDropped)
            # HELP moq_relay_groups_in_total Groups received whole from publishers.
            # TYPE moq_relay_groups_in_total counter
            moq_relay_groups_in_total \(traffic.groupsIn)
            # HELP moq_relay_bytes_in_total Frame payload bytes received from publishers.
            # TYPE moq_relay_bytes_in_total counter
            moq_relay_bytes_in_total \(traffic.bytesIn)

            """
    }
}
