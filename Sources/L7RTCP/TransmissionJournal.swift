/// Where stateful transmissions persist (§3.8): one record per transmission with its parameters, each
/// stream's state and served set as ranges, and its expiry. Chunk payloads are never persisted.
public protocol TransmissionJournal: Sendable {
    func save(_ records: [PersistedTransmission]) throws
    func delete(_ ids: [String]) throws
    func loadAll() throws -> [PersistedTransmission]
    /// Transmission `id` if it is persisted and not expired at `now`.
    func load(id: String, now: Double) throws -> PersistedTransmission?
    /// True when other nodes share this journal (a cluster's store): this node then restores nothing at start
    /// and adopts a transmission it does not hold when a request names it (after the node that served it
    /// failed, or after this node restarted).
    var isShared: Bool { get }
}

extension TransmissionJournal {
    public func load(id: String, now: Double) throws -> PersistedTransmission? {
        try loadAll().first { $0.id == id && $0.expiresAt > now }
    }

    public var isShared: Bool { false }
}

/// The persisted form of a `Transmission`.
public struct PersistedTransmission: Sendable, Codable, Equatable {
    public struct Stream: Sendable, Codable, Equatable {
        public var id: String
        public var status: Transmission.StreamStatus
        public var served: ServedSet
        /// Packet ids below this may have been served by this or an earlier run.
        public var reserve: UInt64
        public var total: UInt64?
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
    /// When the record may be deleted: TTL plus the status grace.
    public var expiresAt: Double

    public init(
        id: String, clientID: String, features: [Feature], chunkSize: Int, maxPacketSize: Int?, ttl: Int,
        createdAt: Double, lastReceived: Double, streams: [Stream], expiresAt: Double
    ) {
        self.id = id
        self.clientID = clientID
        self.features = features
        self.chunkSize = chunkSize
        self.maxPacketSize = maxPacketSize
        self.ttl = ttl
        self.createdAt = createdAt
        self.lastReceived = lastReceived
        self.streams = streams
        self.expiresAt = expiresAt
    }
}

extension Transmission {
    func persisted(grace: Double) -> PersistedTransmission {
        PersistedTransmission(
            id: id, clientID: clientID, features: features, chunkSize: chunkSize, maxPacketSize: maxPacketSize,
            ttl: ttl, createdAt: createdAt, lastReceived: lastReceived,
            streams: streams.map {
                .init(id: $0.id, status: $0.status, served: $0.served, reserve: $0.reserve, total: $0.total)
            },
            expiresAt: expiresAt + grace)
    }

    /// A transmission restored after a restart: ids it may have served before are never reused (a new
    /// epoch starts at each stream's reservation), so old ids answer `chunk_evicted`, never other bytes.
    init(restoring record: PersistedTransmission) {
        self.init(
            id: record.id, clientID: record.clientID, features: record.features, streams: record.streams.map(\.id),
            chunkSize: record.chunkSize, maxPacketSize: record.maxPacketSize, ttl: record.ttl, now: record.createdAt)
        lastReceived = record.lastReceived
        for (index, stream) in record.streams.enumerated() {
            streams[index].status = stream.status
            streams[index].served = stream.served
            streams[index].total = stream.total
            streams[index].epochStart = stream.reserve
            streams[index].reserve = stream.reserve
        }
    }
}
