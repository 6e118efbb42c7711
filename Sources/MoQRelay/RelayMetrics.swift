import NIOConcurrencyHelpers

/// The relay's counters, exported on `/metrics` in the Prometheus text format.
public final class RelayMetrics: Sendable {
    private struct Counters {
        var sessions = 0
        var sessionsTotal = 0
    }

    private let counters = NIOLockedValueBox(Counters())

    public init() {}

    func sessionStarted() {
        counters.withLockedValue {
            $0.sessions += 1
            $0.sessionsTotal += 1
        }
    }

    func sessionEnded() { counters.withLockedValue { $0.sessions -= 1 } }

    /// Prometheus exposition text; `broadcasts` comes from the origin at scrape time.
    public func render(broadcasts: Int) -> String {
        let snapshot = counters.withLockedValue { $0 }
        return """
            # HELP moq_relay_sessions moq-lite sessions open now.
            # TYPE moq_relay_sessions gauge
            moq_relay_sessions \(snapshot.sessions)
            # HELP moq_relay_sessions_total moq-lite sessions accepted since start.
            # TYPE moq_relay_sessions_total counter
            moq_relay_sessions_total \(snapshot.sessionsTotal)
            # HELP moq_relay_broadcasts Broadcasts announced in the relay's origin.
            # TYPE moq_relay_broadcasts gauge
            moq_relay_broadcasts \(broadcasts)

            """
    }
}
