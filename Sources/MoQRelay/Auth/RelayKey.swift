import Crypto
public import Foundation

/// Why a token was not accepted; the text is what the refused peer reads in the close reason.
public struct RelayTokenError: Error, Equatable, CustomStringConvertible {
    public init(_ description: String) { self.description = description }
    public let description: String
}

/// A key that signs or verifies relay tokens (JWS compact form), stored as a JWK file as moq-token
/// writes them: HS256 (`kty: oct`) or ES256 (`kty: EC`, P-256; a public JWK can only verify).
public struct RelayKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case hs256 = "HS256"
        case es256 = "ES256"
    }

    enum Material: Sendable {
        case hmac(SymmetricKey)
        case ecdsaPrivate(P256.Signing.PrivateKey)
        case ecdsaPublic(P256.Signing.PublicKey)
    }

    let material: Material
    /// Key id (`kid`), written into token headers when set.
    public var id: String?

    public var algorithm: Algorithm {
        if case .hmac = material { return .hs256 }
        return .es256
    }

    /// Whether this key can sign (an HMAC secret or an EC private key).
    public var canSign: Bool {
        if case .ecdsaPublic = material { return false }
        return true
    }

    /// A fresh random key (32-byte HMAC secret, or a P-256 private key).
    public static func generate(_ algorithm: Algorithm = .hs256) -> RelayKey {
        switch algorithm {
        case .hs256: RelayKey(material: .hmac(SymmetricKey(size: .bits256)))
        case .es256: RelayKey(material: .ecdsaPrivate(P256.Signing.PrivateKey()))
        }
    }

    /// The verifying half: the key itself for HMAC, the public key for ES256.
    public var publicKey: RelayKey {
        if case .ecdsaPrivate(let key) = material { return RelayKey(material: .ecdsaPublic(key.publicKey), id: id) }
        return self
    }

    // MARK: JWK

    /// Reads a JWK (JSON) key.
    public init(jwk: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: jwk) as? [String: Any] else {
            throw RelayTokenError("key is not a JWK (JSON object)")
        }
        func field(_ name: String) throws -> Data {
            guard let text = object[name] as? String, let bytes = Base64URL.decode(text) else {
                throw RelayTokenError("JWK field \(name) is missing or not base64url")
            }
            return bytes
        }
        id = object["kid"] as? String
        switch object["kty"] as? String {
        case "oct":
            if let alg = object["alg"] as? String, alg != Algorithm.hs256.rawValue {
                throw RelayTokenError("unsupported JWK algorithm \(alg): use HS256 or ES256")
            }
            let secret = try field("k")
            guard secret.count >= 16 else { throw RelayTokenError("HMAC key shorter than 16 bytes") }
            material = .hmac(SymmetricKey(data: secret))
        case "EC":
            guard object["crv"] as? String == "P-256" else { throw RelayTokenError("EC JWK must use crv P-256 (ES256)") }
            if object["d"] != nil {
                material = .ecdsaPrivate(try P256.Signing.PrivateKey(rawRepresentation: field("d")))
            } else {
                material = .ecdsaPublic(try P256.Signing.PublicKey(rawRepresentation: field("x") + field("y")))
            }
        default:
            throw RelayTokenError("unsupported JWK kty: use oct (HS256) or EC (ES256)")
        }
    }

    /// Reads a JWK file.
    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RelayTokenError("cannot read key file \(file)")
        }
        try self.init(jwk: data)
    }

    init(material: Material, id: String? = nil) {
        self.material = material
        self.id = id
    }

    /// The key as a JWK document (private parts included when it has them).
    public var jwk: String {
        var object: [String: String] = ["alg": algorithm.rawValue]
        if let id { object["kid"] = id }
        switch material {
        case .hmac(let key):
            object["kty"] = "oct"
            object["k"] = key.withUnsafeBytes { Base64URL.encode($0) }
        case .ecdsaPrivate(let key):
            object.merge(Self.ecFields(key.publicKey)) { $1 }
            object["d"] = Base64URL.encode(key.rawRepresentation)
        case .ecdsaPublic(let key):
            object.merge(Self.ecFields(key)) { $1 }
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private static func ecFields(_ key: P256.Signing.PublicKey) -> [String: String] {
        let raw = key.rawRepresentation  // x || y, 32 bytes each
        return [
            "kty": "EC", "crv": "P-256", "x": Base64URL.encode(raw.prefix(32)), "y": Base64URL.encode(raw.suffix(32)),
        ]
    }

    // MARK: tokens

    /// Signs `claims` into a compact JWS token.
    public func sign(_ claims: RelayClaims) throws -> String {
        var header = ["alg": algorithm.rawValue, "typ": "JWT"]
        if let id { header["kid"] = id }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let signingInput =
            Base64URL.encode(try encoder.encode(header)) + "." + Base64URL.encode(try encoder.encode(claims))
        let signature: Data
        switch material {
        case .hmac(let key):
            signature = Data(HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key))
        case .ecdsaPrivate(let key):
            signature = try key.signature(for: Data(signingInput.utf8)).rawRepresentation
        case .ecdsaPublic:
            throw RelayTokenError("a public key cannot sign: use the private JWK")
        }
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The claims of `token` if this key signed it and it has not expired at `now` (Unix seconds).
    public func verify(_ token: String, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> RelayClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(parts[0]),
            let claimsData = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2])
        else { throw RelayTokenError("malformed token") }
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            let alg = header["alg"] as? String
        else { throw RelayTokenError("malformed token header") }
        // The key decides the algorithm; a token naming another one (e.g. "none") is refused.
        guard alg == algorithm.rawValue else { throw RelayTokenError("token algorithm \(alg) does not match the key") }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let valid: Bool
        switch material {
        case .hmac(let key):
            valid = HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        case .ecdsaPrivate(let key):
            valid = Self.verifyECDSA(signature, signingInput, key.publicKey)
        case .ecdsaPublic(let key):
            valid = Self.verifyECDSA(signature, signingInput, key)
        }
        guard valid else { throw RelayTokenError("bad token signature") }
        guard let claims = try? JSONDecoder().decode(RelayClaims.self, from: claimsData) else {
            throw RelayTokenError("malformed token claims")
        }
        if let exp = claims.exp, exp <= now { throw RelayTokenError("token expired") }
        return claims
    }

    private static func verifyECDSA(_ signature: Data, _ input: Data, _ key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(signature, for: input)
    }
}
