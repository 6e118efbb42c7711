import NIOConcurrencyHelpers

/// Traffic counters a session adds to, shared by every session of a relay (for `/metrics`).
///
/// One lock per update, no allocation: cheap enough for the per-frame path.
public final class MoQSessionCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var subscriptionsServed = 0
        public var groupsOut = 0
        public var bytesOut = 0
        public var groupsDropped = 0
        public var groupsIn = 0
        public var bytesIn = 0
    }

    private let state = NIOLockedValueBox(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    func subscriptionServed() { state.withLockedValue { $0.subscriptionsServed += 1 } }
    func groupSent() { state.withLockedValue { $0.groupsOut += 1 } }
    func bytesSent(_ count: Int) { state.withLockedValue { $0.bytesOut += count } }
    func groupDropped() { state.withLockedValue { $0.groupsDropped += 1 } }
    func groupReceived() { state.withLockedValue { $0.groupsIn += 1 } }
    func bytesReceived(_ count: Int) { state.withLockedValue { $0.bytesIn += count } }
}
