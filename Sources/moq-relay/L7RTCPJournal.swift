import Foundation
import L7RTCP
import Store

/// Persists the L7RTCP gateway's stateful transmissions in the relay's store (SQLite, or PostgreSQL shared by
/// a cluster): parameters and streams as JSON columns of `TransmissionRecord`.
struct L7RTCPJournal: TransmissionJournal {
    let store: RelayStore

    /// The JSON of the parameters column (everything but the streams).
    private struct Parameters: Codable {
        var features: [Feature]
        var chunkSize: Int
        var maxPacketSize: Int?
        var ttl: Int
        var lastReceived: Double
    }

    func save(_ records: [PersistedTransmission]) throws {
        let encoder = JSONEncoder()
        try store.saveTransmissions(
            records.map { record in
                let parameters = Parameters(
                    features: record.features, chunkSize: record.chunkSize, maxPacketSize: record.maxPacketSize,
                    ttl: record.ttl, lastReceived: record.lastReceived)
                return TransmissionRecord(
                    id: record.id, clientID: record.clientID,
                    parametersJSON: String(decoding: try encoder.encode(parameters), as: UTF8.self),
                    streamsJSON: String(decoding: try encoder.encode(record.streams), as: UTF8.self),
                    createdAt: record.createdAt, expiresAt: record.expiresAt)
            })
    }

    func delete(_ ids: [String]) throws { try store.deleteTransmissions(ids) }

    func loadAll() throws -> [PersistedTransmission] {
        try store.transmissions(now: Date().timeIntervalSince1970).map(Self.persisted)
    }

    func load(id: String, now: Double) throws -> PersistedTransmission? {
        try store.transmission(id: id, now: now).map(Self.persisted)
    }

    var isShared: Bool { store.isShared }

    private static func persisted(_ record: TransmissionRecord) throws -> PersistedTransmission {
        let decoder = JSONDecoder()
        let parameters = try decoder.decode(Parameters.self, from: Data(record.parametersJSON.utf8))
        return PersistedTransmission(
            id: record.id, clientID: record.clientID, features: parameters.features,
            chunkSize: parameters.chunkSize, maxPacketSize: parameters.maxPacketSize, ttl: parameters.ttl,
            createdAt: record.createdAt, lastReceived: parameters.lastReceived,
            streams: try decoder.decode([PersistedTransmission.Stream].self, from: Data(record.streamsJSON.utf8)),
            expiresAt: record.expiresAt)
    }
}
