import Foundation

extension RelayStore {
    /// The management API's admin token: `<data dir>/admin.token`, generated (random, mode 0600) on first use.
    public func adminToken() throws -> String {
        let file = directory.appendingPathComponent("admin.token")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        _ = FileManager.default.createFile(
            atPath: file.path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return token
    }
}
