/// Transport limits and timers shared by client and server connections.
///
/// Defaults suit a relay: generous windows for bulk media, bounded buffers so a peer that stops reading
/// cannot grow memory (receive buffering is capped by the stream and connection windows).
public struct QUICTransportConfiguration: Sendable {
    /// Close a connection after this long without any packet from the peer.
    public var idleTimeout: Duration = .seconds(30)
    /// Send a PING after this long without sending, so NATs and the peer's idle timer stay open; `nil` disables.
    public var keepAliveInterval: Duration? = nil
    /// Give up on a handshake that has not completed after this long.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How many bidirectional / unidirectional streams the peer may have open at once.
    public var maxIncomingBidirectionalStreams: UInt64 = 1024
    public var maxIncomingUnidirectionalStreams: UInt64 = 1024
    /// Initial per-stream receive window; ngtcp2 grows it up to `maxStreamReceiveWindow` as the reader keeps up.
    public var streamReceiveWindow: UInt64 = 1 << 20
    public var maxStreamReceiveWindow: UInt64 = 16 << 20
    /// Initial connection-wide receive window and its auto-tuning ceiling.
    public var connectionReceiveWindow: UInt64 = 4 << 20
    public var maxConnectionReceiveWindow: UInt64 = 64 << 20
    /// Unacknowledged bytes a stream may hold before `write` suspends the writer.
    public var streamSendBufferLimit: Int = 4 << 20
    /// Largest DATAGRAM frame accepted from the peer; 0 disables DATAGRAM support.
    public var maxDatagramFrameSize: UInt64 = 65535
    /// Received datagrams queued for a reader that is behind; older ones are dropped past this.
    public var datagramReceiveQueueLimit: Int = 1024
    /// Datagrams queued for sending when congestion control holds them back; older ones are dropped past this.
    public var datagramSendQueueLimit: Int = 1024

    /// How long this endpoint may hold back an ACK (max_ack_delay, told to the peer, which adds it to its
    /// loss-detection timeout). ACKs go out in the write pass that follows each batch of received packets,
    /// except on a connection that only receives, which acknowledges every second packet or after this long
    /// (`AckDeferral`); zero acknowledges every batch.
    public var maxAckDelay: Duration = .milliseconds(25)

    /// Congestion controller. BBR by default: on a path with 5% random loss it moved 20 MiB 15x faster
    /// than CUBIC here (LossTests), and it is as fast on clean paths.
    public var congestionControl: QUICCongestionControl = .bbr

    public init() {}
}

/// The congestion control algorithms ngtcp2 offers.
public enum QUICCongestionControl: Sendable {
    case reno, cubic, bbr
}

/// How a client decides to trust the server's certificate.
public enum QUICPeerVerification: Sendable, Equatable {
    /// Chain to the operating system's CA store and match the server name.
    case systemRoots
    /// Chain to the CA certificates in this PEM file and match the server name.
    case certificateAuthorities(pemFile: String)
    /// Accept only a leaf certificate whose SHA-256 (of its DER) is one of these, and that is within its validity.
    case pinnedSHA256([[UInt8]])
    /// Accept any certificate. For tests and benchmarks only.
    case insecureNoVerification
}

/// What a client needs to dial a server.
public struct QUICClientConfiguration: Sendable {
    /// ALPN protocols offered, in preference order.
    public var alpn: [String]
    /// Server name for SNI and certificate matching; defaults to the host dialled.
    public var serverName: String?
    public var verification: QUICPeerVerification
    public var transport: QUICTransportConfiguration
    /// Where TLS session tickets are kept for resumption; `nil` disables resumption.
    public var sessionCache: QUICSessionCache?

    public init(
        alpn: [String],
        serverName: String? = nil,
        verification: QUICPeerVerification = .systemRoots,
        transport: QUICTransportConfiguration = .init(),
        sessionCache: QUICSessionCache? = nil
    ) {
        self.alpn = alpn
        self.serverName = serverName
        self.verification = verification
        self.transport = transport
        self.sessionCache = sessionCache
    }
}

/// What an endpoint needs to accept connections.
public struct QUICServerConfiguration: Sendable {
    /// ALPN protocols accepted, in the server's preference order (the first one the client also offers wins).
    public var alpn: [String]
    public var identity: QUICServerIdentity
    public var transport: QUICTransportConfiguration
    /// Incoming connections that completed their handshake but were not yet taken by the application.
    public var acceptQueueLimit: Int = 1024
    /// Issue TLS session tickets so clients can resume (no 0-RTT: early data is never accepted).
    public var issueSessionTickets: Bool = true

    public init(alpn: [String], identity: QUICServerIdentity, transport: QUICTransportConfiguration = .init()) {
        self.alpn = alpn
        self.identity = identity
        self.transport = transport
    }
}

/// Socket-level options of an endpoint.
public struct QUICEndpointOptions: Sendable {
    /// Send bursts of equal-sized packets as one GSO write when the kernel supports it.
    public var segmentationOffload: Bool = true
    /// Let the kernel coalesce received datagrams (GRO) when it supports it.
    public var receiveOffload: Bool = true
    /// Datagrams read per syscall (recvmmsg).
    public var vectorReadCount: Int = 32
    /// Socket buffer sizes requested (the kernel caps them at net.core.{r,w}mem_max).
    public var socketReceiveBufferSize: Int = 8 << 20
    public var socketSendBufferSize: Int = 8 << 20
    /// Connections (accepted and dialled) each socket of the endpoint holds at once; new Initials past it are
    /// dropped.
    public var maxConnections: Int = 10_000
    /// UDP sockets sharing the port, each on an event loop of its own: up to one core each for the QUIC
    /// work of the connections steered to it (1 to 256). A dialling-only endpoint needs one.
    public var sockets: Int = 1
    /// Which socket a new connection goes to when there are several. By default the first one takes every
    /// connection up to 256, so a small relay's fan-out stays on one event loop; past that each goes to the
    /// socket holding the fewest.
    public var placement: QUICSocketPlacement = .packed(upTo: 256)

    public init() {}
}
