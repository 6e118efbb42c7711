/// One stateful transmission's protocol state (§3.3-§3.8) as a value type: every request is a method that
/// checks it in the specified order and returns what to do; it never does I/O, so it is tested without
/// sockets. Chunk bytes come from feeds the caller looks up (`fetch`), then `record` notes what was served.
public struct Transmission: Sendable {
    public enum StreamStatus: String, Sendable, Codable {
        case active, paused, cancelled, complete
    }

    /// Per stream: lifecycle, what was served, resend pins, and the mapping of packet ids onto a feed.
    public struct Stream: Sendable {
        public var id: String
        public var status: StreamStatus = .active
        public var served = ServedSet()
        /// Chunks pinned by `resend` until TTL (bytes kept, so eviction cannot lose them).
        public var pinned: [UInt64: Chunk] = [:]
        /// Packet ids below this were produced by an earlier relay run: their bytes are gone.
        public var epochStart: UInt64 = 0
        /// Packet ids at or past this need a persisted reservation first (so a restart never reuses an id).
        public var reserve: UInt64 = 0
        /// The feed id packet `epochStart` maps to, and the feed's instance (nil: not attached yet).
        public var feedBase: UInt64 = 0
        public var feedInstance: UInt64?
        /// Packet count once the stream completed.
        public var total: UInt64?

        public init(id: String) { self.id = id }

        func packet(forFeedID feedID: UInt64) -> UInt64 { epochStart + (feedID - feedBase) }
    }

    public var id: String
    public var clientID: String
    public var features: [Feature]
    public var chunkSize: Int
    public var maxPacketSize: Int?
    public var ttl: Int
    public var createdAt: Double
    public var lastReceived: Double
    public var streams: [Stream]
    /// Until when a client told `stop` must not pull (then 503).
    public var stopUntil: Double?
    /// Long-polls waiting now (the transmission's queue depth).
    public var waiting = 0
    /// Set when something persistent changed since the last save.
    public var dirty = true

    public static let reserveStep: UInt64 = 1 << 20

    public init(
        id: String, clientID: String, features: [Feature], streams: [String], chunkSize: Int, maxPacketSize: Int?,
        ttl: Int, now: Double
    ) {
        self.id = id
        self.clientID = clientID
        self.features = features
        self.streams = streams.map { Stream(id: $0) }
        self.chunkSize = chunkSize
        self.maxPacketSize = maxPacketSize
        self.ttl = ttl
        self.createdAt = now
        self.lastReceived = now
    }

    public var expiresAt: Double { createdAt + Double(ttl) }
    public func isExpired(now: Double) -> Bool { now > expiresAt }
    /// `alive` of §3.6: not expired and not every stream terminal.
    public func isAlive(now: Double) -> Bool {
        !isExpired(now: now) && !streams.allSatisfy { $0.status == .cancelled || $0.status == .complete }
    }
    public func has(_ feature: Feature) -> Bool { features.contains(feature) }
    public func streamIndex(_ id: String) -> Int? { streams.firstIndex { $0.id == id } }

    // MARK: resume (init with X-Transmission-ID)

    public mutating func resume(clientID: String, now: Double) -> Result<Void, L7RTCPError> {
        guard clientID == self.clientID else { return .failure(.clientMismatch) }
        guard !isExpired(now: now) else { return .failure(.transmissionExpired) }
        lastReceived = now
        return .success(())
    }

    // MARK: pull

    /// What a pull needs next.
    public enum PullStep: Sendable, Equatable {
        /// Look the chunk up in stream `index`'s feed at `feedID`.
        case fetch(index: Int, feedID: UInt64)
        /// A pinned chunk, answered from the pin.
        case pinned(Chunk, index: Int)
        /// Persist a higher reservation for stream `index`, then ask again.
        case reserve(index: Int, upTo: UInt64)
        case refuse(L7RTCPError)
    }

    /// Checks in §3.4's order: stream, TTL, cancelled, paused (then backpressure's 503), then maps the id.
    public mutating func pull(stream: String, packet: UInt64, now: Double) -> PullStep {
        guard let index = streamIndex(stream) else { return .refuse(.unknownStream(stream)) }
        lastReceived = now
        guard !isExpired(now: now) else { return .refuse(.transmissionExpired) }
        let state = streams[index]
        if state.status == .cancelled { return .refuse(.streamCancelled(stream)) }
        if state.status == .paused { return .refuse(.streamPaused(stream)) }
        if has(.backpressure), let stopUntil, now < stopUntil {
            return .refuse(.overloaded(retryAfter: max(1, Int((stopUntil - now).rounded(.up)))))
        }
        if let pin = state.pinned[packet] { return .pinned(pin, index: index) }
        if let total = state.total, packet >= total { return .refuse(.streamComplete(total: total)) }
        guard state.feedInstance != nil else { return .refuse(.chunkEvicted(oldestAvailable: state.epochStart)) }
        if packet < state.epochStart { return .refuse(.chunkEvicted(oldestAvailable: state.epochStart)) }
        if packet >= state.reserve { return .reserve(index: index, upTo: packet + Self.reserveStep) }
        return .fetch(index: index, feedID: state.feedBase + (packet - state.epochStart))
    }

    /// Maps a feed answer for a pull of `packet` on stream `index` onto the reply, recording what was served.
    public mutating func complete(
        index: Int, packet: UInt64, lookup: ChunkRing.Lookup
    ) -> PullReply {
        var stream = streams[index]
        defer { streams[index] = stream }
        switch lookup {
        case .chunk(let chunk, let isLast):
            stream.served.insert(packet)
            if isLast {
                stream.total = packet + 1
                stream.status = .complete
            }
            dirty = true
            return .chunk(chunk, isLast: isLast, next: packet + 1, total: stream.total)
        case .notYet:
            return .notYet(next: packet)
        case .evicted(let oldestFeedID):
            let oldest =
                oldestFeedID >= stream.feedBase ? stream.packet(forFeedID: oldestFeedID) : stream.epochStart
            return .refused(.chunkEvicted(oldestAvailable: Swift.max(oldest, stream.epochStart)))
        case .pastEnd(let totalFeedID):
            let total = totalFeedID >= stream.feedBase ? stream.packet(forFeedID: totalFeedID) : stream.epochStart
            stream.total = total
            if stream.status == .active { stream.status = .complete }
            dirty = true
            return .refused(.streamComplete(total: total))
        }
    }

    /// A pinned chunk was served.
    public mutating func servedPinned(index: Int, packet: UInt64) -> PullReply {
        streams[index].served.insert(packet)
        dirty = true
        let total = streams[index].total
        let chunk = streams[index].pinned[packet]!
        let isLast = total.map { packet + 1 == $0 } ?? false
        return .chunk(chunk, isLast: isLast, next: packet + 1, total: total)
    }

    public enum PullReply: Sendable, Equatable {
        case chunk(Chunk, isLast: Bool, next: UInt64, total: UInt64?)
        case notYet(next: UInt64)
        case refused(L7RTCPError)
    }

    // MARK: stream control

    /// Applies `control` all or nothing (§3.5); returns each stream's new state.
    public mutating func control(_ control: StreamControl, now: Double) -> Result<
        [(stream: String, command: StreamControl.Command, status: StreamStatus)], L7RTCPError
    > {
        lastReceived = now
        guard !isExpired(now: now) else { return .failure(.transmissionExpired) }
        for item in control.items {
            guard streamIndex(item.stream) != nil else { return .failure(.badStreamControl(item: item.stream)) }
            if item.command != .cancel, !has(.pause) { return .failure(.featureNotEnabled(.pause)) }
        }
        var next = streams
        var applied: [(String, StreamControl.Command, StreamStatus)] = []
        for item in control.items {
            let index = streamIndex(item.stream)!
            switch (item.command, next[index].status) {
            case (.pause, .active): next[index].status = .paused
            case (.resume, .paused): next[index].status = .active
            case (.cancel, .active), (.cancel, .paused):
                next[index].status = .cancelled
                next[index].pinned = [:]
            default: break
            }
            applied.append((item.stream, item.command, next[index].status))
        }
        streams = next
        dirty = true
        return .success(applied)
    }

    // MARK: resend

    /// Pins the listed chunks that are still available (§3.7); `lookup` reads stream `index`'s feed.
    public mutating func resend(
        stream: String, chunks: [UInt64], now: Double, maxChunks: Int, maxPinned: Int = 4096,
        lookup: (_ feedID: UInt64) -> ChunkRing.Lookup
    ) -> Result<(queued: [UInt64], unavailable: [UInt64]), L7RTCPError> {
        guard has(.resend) else { return .failure(.featureNotEnabled(.resend)) }
        guard let index = streamIndex(stream) else { return .failure(.unknownStream(stream)) }
        guard chunks.count <= maxChunks else { return .failure(.tooManyChunks(limit: maxChunks)) }
        lastReceived = now
        guard !isExpired(now: now) else { return .failure(.transmissionExpired) }
        var queued: [UInt64] = []
        var unavailable: [UInt64] = []
        for packet in chunks {
            let state = streams[index]
            if state.pinned[packet] != nil {
                queued.append(packet)
                continue
            }
            guard state.pinned.count < maxPinned, state.feedInstance != nil, packet >= state.epochStart,
                packet < state.reserve,
                case .chunk(let chunk, _) = lookup(state.feedBase + (packet - state.epochStart))
            else {
                unavailable.append(packet)
                continue
            }
            streams[index].pinned[packet] = chunk
            queued.append(packet)
        }
        return .success((queued, unavailable))
    }
}
