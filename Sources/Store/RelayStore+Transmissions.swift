import Foundation

extension RelayStore {
    /// Inserts or replaces `records` in one transaction.
    public func saveTransmissions(_ records: [TransmissionRecord]) throws {
        try backend.saveTransmissions(records)
    }

    public func deleteTransmissions(_ ids: [String]) throws {
        try backend.deleteTransmissions(ids)
    }

    /// Every transmission not expired at `now` (expired ones are deleted).
    public func transmissions(now: Double) throws -> [TransmissionRecord] {
        try backend.transmissions(now: now)
    }

    /// Transmission `id` if it exists and has not expired at `now` (another node's, with a shared store).
    public func transmission(id: String, now: Double) throws -> TransmissionRecord? {
        try backend.transmission(id: id, now: now)
    }

    /// The key that signs stateless L7RTCP ids: with SQLite `<data dir>/l7rtcp.key` (32 random bytes, hex,
    /// mode 0600); with PostgreSQL a row of `settings` shared by every node. Generated on first use and kept so
    /// stateless ids survive a restart (and, shared, verify on every node).
    public func l7rtcpSecret() throws -> [UInt8] {
        try backend.l7rtcpSecret()
    }
}
