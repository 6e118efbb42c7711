import Foundation
public import GRDB

/// A persisted L7RTCP transmission (the gateway's state, opaque to the store): parameters and per-stream
/// state (served sets as ranges) as JSON, and the expiry after which it may be deleted.
public struct TransmissionRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "l7rtcpTransmission"
    public var id: String
    public var clientID: String
    public var parametersJSON: String
    public var streamsJSON: String
    public var createdAt: Double
    public var expiresAt: Double

    public init(
        id: String, clientID: String, parametersJSON: String, streamsJSON: String, createdAt: Double,
        expiresAt: Double
    ) {
        self.id = id
        self.clientID = clientID
        self.parametersJSON = parametersJSON
        self.streamsJSON = streamsJSON
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
