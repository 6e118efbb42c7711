import Crypto
import Foundation
import NIOConcurrencyHelpers

/// Salted, iterated SHA-256 password hashes (`sha256$<iterations>$<salt hex>$<hash hex>`): passwords are
/// never stored, and a stolen database costs an attacker `iterations` hashes per guess.
public enum PasswordHash {
    public static let iterations = 4096

    public static func make(_ password: String) -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255, using: &generator) }
        return "sha256$\(iterations)$\(hex(salt))$\(hex(derive(password, salt: salt, iterations: iterations)))"
    }

    /// Successful verifications, by a one-pass digest of (stored hash, password): a client that reconnects
    /// (10,000 of them after a caster restart) costs one hash, not `iterations`. Bounded; cleared when full.
    private static let verified = NIOLockedValueBox(Set<SHA256Digest>())
    static let verifiedLimit = 100_000

    /// Whether `password` matches `stored` (compared in constant time).
    public static func verify(_ password: String, against stored: String) -> Bool {
        let key = SHA256.hash(data: Array(stored.utf8) + [0] + Array(password.utf8))
        if verified.withLockedValue({ $0.contains(key) }) { return true }
        guard verifySlowly(password, against: stored) else { return false }
        verified.withLockedValue { set in
            if set.count >= verifiedLimit { set.removeAll(keepingCapacity: true) }
            set.insert(key)
        }
        return true
    }

    /// The full check: `iterations` hashes.
    static func verifySlowly(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "sha256", let iterations = Int(parts[1]),
            (1...1_000_000).contains(iterations),
            let salt = bytes(String(parts[2])), let expected = bytes(String(parts[3]))
        else { return false }
        let actual = derive(password, salt: salt, iterations: iterations)
        guard actual.count == expected.count else { return false }
        return zip(actual, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        var digest = SHA256.hash(data: salt + Array(password.utf8))
        for _ in 1..<iterations {
            var hasher = SHA256()
            digest.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            hasher.update(data: salt)
            digest = hasher.finalize()
        }
        return Array(digest)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(_ text: String) -> [UInt8]? {
        guard text.count.isMultiple(of: 2) else { return nil }
        var result: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}
