public import Logging

/// The caster's listener, limits and timeouts.
public struct NTRIPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var access: any NTRIPAccess
    /// Broadcast path prefix: mount `M` is broadcast `<prefix>/M`, track `trackName`.
    public var pathPrefix = "ntrip"
    public var trackName = "rtcm"
    /// Send `ICY 200 OK\r\n\r\n` (BKG) instead of `ICY 200 OK\r\n` (RTKLIB passes the blank line on as data).
    public var v1BlankLine = false
    public var maxHeadBytes = 8192
    /// A request head must be complete within this time.
    public var headTimeout: Duration = .seconds(10)
    /// A source silent this long is closed.
    public var sourceIdleTimeout: Duration = .seconds(60)
    /// Clients of a source that vanished wait this long for it to come back, then are closed.
    public var graceTime: Duration = .seconds(10)
    /// A new group (epoch) starts after this much silence from the source, or when the group is `epochLength` old.
    public var epochGap: Duration = .milliseconds(200)
    public var epochLength: Duration = .seconds(1)
    /// A client whose unsent backlog exceeds this is too slow and is dropped (others never wait for it).
    /// The bound counts the bytes queued in the kernel too (half of it is the socket's send buffer).
    public var maxClientBacklog = 256 * 1024
    public var maxClients = 20_000
    public var maxClientsPerUser = 20_000
    public var maxSources = 1_000
    public var logger: Logger

    public init(
        host: String = "127.0.0.1", port: Int = 2101, access: any NTRIPAccess,
        logger: Logger = Logger(label: "ntrip")
    ) {
        self.host = host
        self.port = port
        self.access = access
        self.logger = logger
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
