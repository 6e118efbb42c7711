/// The gateway's limits and defaults (§3.3, §3.8): chunk size and TTL caps, retention per stream, the
/// backpressure budget, idle and grace times.
public struct L7RTCPConfiguration: Sendable {
    /// Chunk size when the client names none.
    public var defaultChunkSize = 4096
    /// The server's cap on the chunk size.
    public var maxChunkSize = 1 << 20
    public var defaultTTL = 3600
    public var maxTTL = 604_800
    /// Chunks each stream feed keeps for pulls and resends (older ones are evicted).
    public var retentionChunks = 4096
    /// Bytes each stream feed keeps at most.
    public var retentionBytes = 16 << 20
    /// Feeds (distinct track and chunk size) read at once; an init needing another answers 503.
    public var maxFeeds = 128
    /// Chunks one transmission may hold pinned by resend (the rest are reported unavailable).
    public var maxPinnedChunks = 4096
    /// HTTP requests in flight (all transmissions) at which the advice reaches `stop`.
    public var maxInFlight = 4096
    /// Long-polls one transmission may have waiting at once before its advice reaches `stop`.
    public var maxWaitersPerTransmission = 64
    /// Seconds a client told `stop` must wait (`Retry-After`).
    public var stopRetryAfter = 1
    /// Seconds an expired transmission still answers `status` (alive:false) before it is purged.
    public var expiredGrace = 300.0
    /// Seconds without any request after which a stateful transmission is dropped.
    public var idleTimeout = 600.0
    /// Longest `X-Wait-Ms` honoured.
    public var maxWaitMs = 30_000
    /// Most chunk ids one resend request may list.
    public var maxResendChunks = 1024
    /// Most streams one transmission may carry.
    public var maxStreams = 16
    /// Seconds a stream waits for its broadcast to come back before it counts as complete.
    public var sourceGrace = 10.0

    public init() {}
}
