import Foundation

/// Where a `RelayStore` keeps its state: SQLite in the data directory (one node) or PostgreSQL (a cluster).
/// Every method is synchronous and is one transaction; callers never run it on a SwiftNIO event loop (the
/// management API's handlers, the L7RTCP registry actor and the store's own refresh queue call it).
protocol StoreBackend: Sendable {
    /// Streampoints and users as they are now.
    func loadSnapshot() throws -> RelayStore.Snapshot

    /// Throws `conflict` when the mount exists.
    func insertStreampoint(_ streampoint: Streampoint) throws
    /// Changes what is non-nil; throws `notFound`.
    func updateStreampoint(mount: String, sourcePasswordHash: String?, str: String??) throws
    func deleteStreampoint(mount: String) throws

    /// Throws `conflict` when the name exists.
    func insertUser(_ user: StoredUser) throws
    func updateUser(name: String, passwordHash: String?, mountsJSON: String??) throws
    func deleteUser(name: String) throws

    /// Inserts or replaces `records` in one transaction.
    func saveTransmissions(_ records: [TransmissionRecord]) throws
    func deleteTransmissions(_ ids: [String]) throws
    /// Every transmission not expired at `now` (expired ones are deleted).
    func transmissions(now: Double) throws -> [TransmissionRecord]
    /// Transmission `id` if it exists and has not expired at `now`.
    func transmission(id: String, now: Double) throws -> TransmissionRecord?
    /// The key that signs stateless L7RTCP ids (32 bytes), generated once and kept.
    func l7rtcpSecret() throws -> [UInt8]

    /// True when other nodes share this state (their changes arrive through `observeChanges`).
    var isShared: Bool { get }
    /// Calls `changed` (on a queue of the backend's, never an event loop) when another writer may have changed
    /// streampoints or users. A backend only this process writes never calls it.
    func observeChanges(_ changed: @escaping @Sendable () -> Void)
    /// Stops background work and closes connections.
    func close()
}

extension StoreBackend {
    /// 32 random bytes.
    static func randomKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The bytes of `text` (hex), or nil unless it is exactly `count` bytes.
    static func bytes(hex text: String, count: Int) -> [UInt8]? {
        let hex = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard hex.count == count * 2 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: hex.count, by: 2) {
            guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}
