public import Logging
public import MoQWire
import NIOCore
public import QUIC

/// What a relay node needs to run: where it listens, who it is, which versions it speaks.
public struct RelayConfiguration: Sendable {
    /// UDP address for moq-lite over QUIC.
    public var host: String
    public var port: Int
    /// UDP sockets sharing the port, each on its own event loop (`QUICEndpointOptions.sockets`): the
    /// relay's QUIC work then spreads over that many cores, one connection on one of them. One per core by
    /// default.
    public var quicSockets: Int
    /// One QUIC socket per core (NIO's count, which honours the cgroup's CPU limit).
    public static var defaultQUICSockets: Int { System.coreCount }
    /// Connections the first QUIC socket takes before the others get any (`QUICSocketPlacement.packed`):
    /// a broadcast's subscribers on one event loop cost one wake-up per frame, not one per loop. Past it,
    /// each new connection goes to the socket holding the fewest.
    public var quicPack: Int
    public static let defaultQUICPack = 256
    public var identity: QUICServerIdentity
    /// Versions accepted, in the server's preference order.
    public var versions: [MoQVersion]
    /// The relay's hop id in announcement chains (stable across restarts when configured).
    public var hopID: UInt64
    /// How long sessions get to leave after GOAWAY before the endpoint closes.
    public var drainTime: Duration
    public var transport: QUICTransportConfiguration
    /// Bytes of cached groups older than each track's latest, across all tracks (the latest always stays).
    public var cacheBytes: Int
    /// How long a lost publisher's broadcasts stay announced (tracks open) for it to come back.
    public var publisherLinger: Duration
    /// How long an upstream subscription stays once its last downstream subscriber left.
    public var subscriberLinger: Duration
    /// Per session: broadcasts a peer may announce and subscriptions it may hold at once.
    public var maxSessionBroadcasts: Int
    public var maxSessionSubscriptions: Int
    /// Who may publish and subscribe what (default: everything is public).
    public var auth: RelayAuth
    /// Other relay nodes this one dials and keeps linked (redialled with backoff when a link drops).
    public var links: [RelayLink]
    /// This node's place in a cluster mesh: announced to the others, and dialling the ones it learns of.
    public var clusterNode: RelayClusterNode?
    public var logger: Logger

    public init(
        host: String = "127.0.0.1", port: Int = 4443, quicSockets: Int = RelayConfiguration.defaultQUICSockets,
        quicPack: Int = RelayConfiguration.defaultQUICPack, identity: QUICServerIdentity,
        versions: [MoQVersion] = MoQVersion.serverPreference, hopID: UInt64 = UInt64.random(in: 1..<(1 << 52)),
        drainTime: Duration = .seconds(2), transport: QUICTransportConfiguration = .init(),
        cacheBytes: Int = 256 << 20, publisherLinger: Duration = .seconds(5), subscriberLinger: Duration = .seconds(2),
        maxSessionBroadcasts: Int = 10_000, maxSessionSubscriptions: Int = 10_000,
        auth: RelayAuth = RelayAuth(), links: [RelayLink] = [], clusterNode: RelayClusterNode? = nil,
        logger: Logger = Logger(label: "moq-relay")
    ) {
        self.host = host
        self.port = port
        self.quicSockets = quicSockets
        self.quicPack = quicPack
        self.identity = identity
        self.versions = versions
        self.hopID = hopID
        self.drainTime = drainTime
        self.transport = transport
        self.cacheBytes = cacheBytes
        self.publisherLinger = publisherLinger
        self.subscriberLinger = subscriberLinger
        self.maxSessionBroadcasts = maxSessionBroadcasts
        self.maxSessionSubscriptions = maxSessionSubscriptions
        self.auth = auth
        self.links = links
        self.clusterNode = clusterNode
        self.logger = logger
    }
}
