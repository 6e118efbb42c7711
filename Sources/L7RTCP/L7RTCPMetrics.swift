import NIOConcurrencyHelpers

/// The gateway's Prometheus counters (§3.11 `metrics`): chunks and bytes served, resends, replies by
/// status, and, at scrape time, active transmissions and queue depth.
public final class L7RTCPMetrics: Sendable {
    struct Counters {
        var chunks = 0
        var bytes = 0
        var resends = 0
        var resendChunks = 0
        var replies: [Int: Int] = [:]
        var transmissionsCreated = 0
    }

    private let counters = NIOLockedValueBox(Counters())

    init() {}

    func served(bytes: Int) {
        counters.withLockedValue {
            $0.chunks += 1
            $0.bytes += bytes
        }
    }

    func replied(_ status: Int) { counters.withLockedValue { $0.replies[status, default: 0] += 1 } }
    func created() { counters.withLockedValue { $0.transmissionsCreated += 1 } }

    func resend(chunks: Int) {
        counters.withLockedValue {
            $0.resends += 1
            $0.resendChunks += chunks
        }
    }

    /// Prometheus exposition text.
    func render(active: Int, waiting: Int, inFlight: Int, feeds: Int, retainedBytes: Int) -> String {
        let snapshot = counters.withLockedValue { $0 }
        var text = """
            # HELP l7rtcp_chunks_served_total Chunks answered to pulls (209 and 200).
            # TYPE l7rtcp_chunks_served_total counter
            l7rtcp_chunks_served_total \(snapshot.chunks)
            # HELP l7rtcp_bytes_served_total Chunk bytes answered to pulls.
            # TYPE l7rtcp_bytes_served_total counter
            l7rtcp_bytes_served_total \(snapshot.bytes)
            # HELP l7rtcp_resend_requests_total Resend requests accepted.
            # TYPE l7rtcp_resend_requests_total counter
            l7rtcp_resend_requests_total \(snapshot.resends)
            # HELP l7rtcp_resend_chunks_total Chunk ids listed in accepted resend requests.
            # TYPE l7rtcp_resend_chunks_total counter
            l7rtcp_resend_chunks_total \(snapshot.resendChunks)
            # HELP l7rtcp_transmissions_created_total Transmissions created (stateful and stateless).
            # TYPE l7rtcp_transmissions_created_total counter
            l7rtcp_transmissions_created_total \(snapshot.transmissionsCreated)
            # HELP l7rtcp_responses_total Responses by HTTP status.
            # TYPE l7rtcp_responses_total counter

            """
        for (status, count) in snapshot.replies.sorted(by: { $0.key < $1.key }) {
            text += "l7rtcp_responses_total{code=\"\(status)\"} \(count)\n"
        }
        text += """
            # HELP l7rtcp_transmissions_active Stateful transmissions held now.
            # TYPE l7rtcp_transmissions_active gauge
            l7rtcp_transmissions_active \(active)
            # HELP l7rtcp_queue_depth Long-polls waiting for chunks now.
            # TYPE l7rtcp_queue_depth gauge
            l7rtcp_queue_depth \(waiting)
            # HELP l7rtcp_requests_in_flight L7RTCP requests being answered now.
            # TYPE l7rtcp_requests_in_flight gauge
            l7rtcp_requests_in_flight \(inFlight)
            # HELP l7rtcp_feeds Track feeds (track and chunk size) read now.
            # TYPE l7rtcp_feeds gauge
            l7rtcp_feeds \(feeds)
            # HELP l7rtcp_retained_bytes Chunk bytes retained for pulls and resends.
            # TYPE l7rtcp_retained_bytes gauge
            l7rtcp_retained_bytes \(retainedBytes)

            """
        return text
    }
}
