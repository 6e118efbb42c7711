import Foundation
import GRDB

extension RelayStore {
    /// Inserts or replaces `records` in one transaction.
    public func saveTransmissions(_ records: [TransmissionRecord]) throws {
        try database.write { db in
            for record in records { try record.save(db) }
        }
    }

    public func deleteTransmissions(_ ids: [String]) throws {
        _ = try database.write { db in try TransmissionRecord.deleteAll(db, keys: ids) }
    }

    /// Every transmission not expired at `now` (expired ones are deleted).
    public func transmissions(now: Double) throws -> [TransmissionRecord] {
        try database.write { db in
            try TransmissionRecord.filter(Column("expiresAt") <= now).deleteAll(db)
            return try TransmissionRecord.fetchAll(db)
        }
    }

    /// The key that signs stateless L7RTCP ids: `<data dir>/l7rtcp.key` (32 random bytes, hex, mode 0600),
    /// generated on first use and kept so stateless ids survive a restart.
    public func l7rtcpSecret() throws -> [UInt8] {
        let file = directory.appendingPathComponent("l7rtcp.key")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index < hex.endIndex {
                guard let byte = UInt8(hex[index..<next], radix: 16) else { break }
                bytes.append(byte)
                index = next
            }
            if bytes.count == 32 { return bytes }
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = bytes.map { String(format: "%02x", $0) }.joined()
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw Failure.invalid("cannot write \(file.path)") }
        return bytes
    }
}
