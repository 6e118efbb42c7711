public import Crypto
import Foundation

/// A stateless transmission id (§3.8): `tx-<uuid7>.<base64url(HMAC-SHA256(key, payload))>` where the payload
/// (also carried, base64url, between the two) encodes everything the server needs, so it keeps no state.
/// Layout: `tx-<uuid7>.<payload>.<mac>`; tampering with any part fails verification.
public struct StatelessToken: Sendable, Equatable, Codable {
    public var uuid: String
    public var clientID: String
    public var streams: [String]
    public var features: [Feature]
    public var chunkSize: Int
    public var maxPacketSize: Int?
    public var ttl: Int
    public var createdAt: Double
    /// Per stream: the chunk feed instance and the feed id that packet 0 maps to.
    public var anchors: [Anchor]

    public struct Anchor: Sendable, Equatable, Codable {
        public var feed: UInt64
        public var base: UInt64

        public init(feed: UInt64, base: UInt64) {
            self.feed = feed
            self.base = base
        }
    }

    public init(
        uuid: String, clientID: String, streams: [String], features: [Feature], chunkSize: Int, maxPacketSize: Int?,
        ttl: Int, createdAt: Double, anchors: [Anchor]
    ) {
        self.uuid = uuid
        self.clientID = clientID
        self.streams = streams
        self.features = features
        self.chunkSize = chunkSize
        self.maxPacketSize = maxPacketSize
        self.ttl = ttl
        self.createdAt = createdAt
        self.anchors = anchors
    }

    public var expiresAt: Double { createdAt + Double(ttl) }

    /// The signed id text.
    public func encode(key: SymmetricKey) -> String {
        let payload = Self.base64url((try? JSONEncoder().encode(self)) ?? Data())
        let mac = HMAC<SHA256>.authenticationCode(for: Data((uuid + "." + payload).utf8), using: key)
        return uuid + "." + payload + "." + Self.base64url(Data(mac))
    }

    /// The token in `text`, or nil when it is malformed or its MAC does not verify.
    public static func decode(_ text: String, key: SymmetricKey) -> StatelessToken? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, TransmissionID.isValid(String(parts[0])), let mac = unbase64url(parts[2]),
            HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: Data((parts[0] + "." + parts[1]).utf8), using: key),
            let payload = unbase64url(parts[1]),
            let token = try? JSONDecoder().decode(StatelessToken.self, from: payload), token.uuid == parts[0]
        else { return nil }
        return token
    }

    /// True when `text` has the shape of a stateless id (a MAC part), so lookups skip the registry.
    public static func looksStateless(_ text: String) -> Bool { text.utf8.contains(UInt8(ascii: ".")) }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
