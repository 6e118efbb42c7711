import Crypto
public import Foundation
import SwiftASN1
import X509

/// A server's TLS certificate chain and private key, as PEM, and the SHA-256 of its leaf certificate.
///
/// The fingerprint is what WebTransport's `serverCertificateHashes` and moq clients' `--tls-pin` match.
public struct QUICServerIdentity: Sendable {
    public let certificateChainPEM: String
    public let privateKeyPEM: String
    /// SHA-256 of the leaf certificate's DER encoding.
    public let fingerprintSHA256: [UInt8]
    public let notValidAfter: Date

    public var fingerprintHex: String { fingerprintSHA256.map { String(format: "%02x", $0) }.joined() }

    public init(certificateChainPEM: String, privateKeyPEM: String) throws {
        let leaf: Certificate
        do {
            let documents = try PEMDocument.parseMultiple(pemString: certificateChainPEM)
            guard let first = documents.first(where: { $0.discriminator == "CERTIFICATE" }) else {
                throw QUICEndpointError("no CERTIFICATE block in the certificate PEM")
            }
            leaf = try Certificate(derEncoded: first.derBytes)
        } catch let error as QUICEndpointError {
            throw error
        } catch {
            throw QUICEndpointError("cannot parse certificate PEM: \(error)")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(leaf)
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.fingerprintSHA256 = Array(SHA256.hash(data: serializer.serializedBytes))
        self.notValidAfter = leaf.notValidAfter
    }

    /// Loads a certificate chain and key from PEM files (e.g. `--tls-cert` / `--tls-key`).
    public static func load(certificateFile: String, keyFile: String) throws -> QUICServerIdentity {
        func read(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else { throw QUICEndpointError("cannot read \(path): check the path and its permissions") }
            return text
        }
        return try QUICServerIdentity(certificateChainPEM: read(certificateFile), privateKeyPEM: read(keyFile))
    }

    /// Generates a self-signed ECDSA P-256 certificate for `names` (DNS names or IP addresses).
    ///
    /// The default validity is 14 days minus a minute, backdated one hour for clock skew, because browsers
    /// accept `serverCertificateHashes` only for certificates valid for at most 14 days.
    public static func generateSelfSigned(
        names: [String],
        notValidBefore: Date = Date().addingTimeInterval(-3600),
        validity: TimeInterval = 14 * 86400 - 60
    ) throws -> QUICServerIdentity {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(names.first ?? "localhost") }
        let alternativeNames: [GeneralName] = names.map { name in
            if let v4 = IPv4Address(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(v4.bytes))) }
            if let v6 = IPv6Address(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(v6.bytes))) }
            return .dnsName(name)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notValidBefore,
            notValidAfter: notValidBefore.addingTimeInterval(validity),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return try QUICServerIdentity(
            certificateChainPEM: certificate.serializeAsPEM().pemString,
            privateKeyPEM: key.pemRepresentation
        )
    }

    /// Writes the chain and key as PEM files (key readable by the owner only).
    public func write(certificateFile: String, keyFile: String) throws {
        try Data(certificateChainPEM.utf8).write(to: URL(fileURLWithPath: certificateFile))
        guard
            FileManager.default.createFile(
                atPath: keyFile, contents: Data(privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600])
        else { throw QUICEndpointError("cannot write \(keyFile)") }
    }
}

/// Parses dotted-quad / colon-hex literals without touching the resolver.
private struct IPv4Address {
    let bytes: [UInt8]
    init?(_ text: String) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &address) { Array($0) }
    }
}

private struct IPv6Address {
    let bytes: [UInt8]
    init?(_ text: String) {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &address) { Array($0) }
    }
}
