public import Foundation
public import QUIC

/// The relay's state directory (`./data` by default): the generated certificate lives here, so clients
/// that pinned its fingerprint keep working across restarts until it is renewed.
public struct RelayDataDirectory: Sendable {
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RelayDataDirectoryError(
                description: "cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// The generated certificate for `names`: reused while it has more than `renewBefore` left, else
    /// generated anew (self-signed, at most 14 days: what browsers accept for certificate hashes).
    public func generatedIdentity(names: [String], renewBefore: TimeInterval = 24 * 3600) throws -> QUICServerIdentity {
        let certificateFile = (path as NSString).appendingPathComponent("generated-cert.pem")
        let keyFile = (path as NSString).appendingPathComponent("generated-key.pem")
        let namesFile = (path as NSString).appendingPathComponent("generated-names.txt")
        let wanted = names.joined(separator: "\n")
        if let stored = try? QUICServerIdentity.load(certificateFile: certificateFile, keyFile: keyFile),
            stored.notValidAfter.timeIntervalSinceNow > renewBefore,
            (try? String(contentsOfFile: namesFile, encoding: .utf8)) == wanted
        {
            return stored
        }
        let identity = try QUICServerIdentity.generateSelfSigned(names: names)
        try identity.write(certificateFile: certificateFile, keyFile: keyFile)
        try wanted.write(toFile: namesFile, atomically: true, encoding: .utf8)
        return identity
    }

    /// The node's hop id (its id in announcement chains and in a cluster): random 52-bit on first start,
    /// then kept in `node-id`, so the cluster sees the same node after a restart.
    public func nodeID() throws -> UInt64 {
        let file = (path as NSString).appendingPathComponent("node-id")
        if let text = try? String(contentsOfFile: file, encoding: .utf8),
            let id = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), id != 0
        {
            return id
        }
        let id = UInt64.random(in: 1..<(1 << 52))
        do {
            try "\(id)\n".write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw RelayDataDirectoryError(
                description: "cannot write the node id to \(file): \(error.localizedDescription)")
        }
        return id
    }
}

/// The data directory could not be used (the text says which and why).
public struct RelayDataDirectoryError: Error, CustomStringConvertible {
    public let description: String
}
