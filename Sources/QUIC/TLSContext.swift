import CNGTCP2
import Foundation

/// GnuTLS credentials shared by every connection of one configuration (created once per endpoint role).
///
/// Not Sendable by itself: it is created on, and used only from, its endpoint's event loop.
final class TLSCredentials {
    let credentials: gnutls_certificate_credentials_t
    /// The QUIC priority string compiled once and shared (reference-counted by GnuTLS): compiling it per
    /// session cost each connection about 8 KiB and a parse.
    private let priority: gnutls_priority_t
    /// Server only: the key that encrypts session tickets, rotated with the process.
    private var ticketKey = gnutls_datum_t()
    let alpn: [String]

    private init(credentials: gnutls_certificate_credentials_t, alpn: [String]) throws {
        var priority: gnutls_priority_t?
        let status = gnutls_priority_init(&priority, cngtcp2_priority, nil)
        guard status >= 0, let priority else {
            gnutls_certificate_free_credentials(credentials)
            throw QUICEndpointError("TLS priorities rejected by GnuTLS: \(errorString(status))")
        }
        self.credentials = credentials
        self.priority = priority
        self.alpn = alpn
    }

    deinit {
        gnutls_certificate_free_credentials(credentials)
        gnutls_priority_deinit(priority)
        if ticketKey.data != nil { cngtcp2_gnutls_free(ticketKey.data) }
    }

    static func server(_ configuration: QUICServerConfiguration) throws -> TLSCredentials {
        var raw: gnutls_certificate_credentials_t?
        try check(gnutls_certificate_allocate_credentials(&raw), "allocate credentials")
        let tls = try TLSCredentials(credentials: raw!, alpn: configuration.alpn)
        let identity = configuration.identity
        let status = identity.certificateChainPEM.withCString { certificate in
            identity.privateKeyPEM.withCString { key in
                var certificateDatum = gnutls_datum_t(
                    data: UnsafeMutablePointer(
                        mutating: UnsafeRawPointer(certificate).assumingMemoryBound(to: UInt8.self)),
                    size: UInt32(strlen(certificate)))
                var keyDatum = gnutls_datum_t(
                    data: UnsafeMutablePointer(mutating: UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self)),
                    size: UInt32(strlen(key)))
                return gnutls_certificate_set_x509_key_mem2(
                    tls.credentials, &certificateDatum, &keyDatum, GNUTLS_X509_FMT_PEM, nil, 0)
            }
        }
        guard status >= 0 else {
            throw QUICEndpointError("TLS certificate or key rejected by GnuTLS: \(errorString(status))")
        }
        if configuration.issueSessionTickets {
            try check(gnutls_session_ticket_key_generate(&tls.ticketKey), "generate session ticket key")
        }
        return tls
    }

    static func client(_ configuration: QUICClientConfiguration) throws -> TLSCredentials {
        var raw: gnutls_certificate_credentials_t?
        try check(gnutls_certificate_allocate_credentials(&raw), "allocate credentials")
        let tls = try TLSCredentials(credentials: raw!, alpn: configuration.alpn)
        switch configuration.verification {
        case .systemRoots:
            try check(gnutls_certificate_set_x509_system_trust(tls.credentials), "load system CA certificates")
        case .certificateAuthorities(let file):
            let loaded = gnutls_certificate_set_x509_trust_file(tls.credentials, file, GNUTLS_X509_FMT_PEM)
            guard loaded > 0 else {
                throw QUICEndpointError("no CA certificate could be read from \(file): \(errorString(loaded))")
            }
        case .pinnedSHA256, .insecureNoVerification:
            break
        }
        gnutls_certificate_set_verify_function(tls.credentials, verifyPeerCallback)
        return tls
    }

    /// Server session setup for one connection.
    func makeServerSession() throws -> gnutls_session_t {
        var raw: gnutls_session_t?
        try check(gnutls_init(&raw, cngtcp2_gnutls_server_flags()), "create TLS session")
        let session = raw!
        do {
            try check(ngtcp2_crypto_gnutls_configure_server_session(session), "configure QUIC server session")
            try configureCommon(session)
            if ticketKey.data != nil {
                try check(gnutls_session_ticket_enable_server(session, &ticketKey), "enable session tickets")
            }
            try setALPN(session, flags: GNUTLS_ALPN_MANDATORY.rawValue | GNUTLS_ALPN_SERVER_PRECEDENCE.rawValue)
        } catch {
            gnutls_deinit(session)
            throw error
        }
        return session
    }

    /// Client session setup for one connection; `ticket` resumes an earlier session.
    func makeClientSession(serverName: String, ticket: [UInt8]?) throws -> gnutls_session_t {
        var raw: gnutls_session_t?
        try check(gnutls_init(&raw, cngtcp2_gnutls_client_flags()), "create TLS session")
        let session = raw!
        do {
            try check(ngtcp2_crypto_gnutls_configure_client_session(session), "configure QUIC client session")
            try configureCommon(session)
            try setALPN(session, flags: GNUTLS_ALPN_MANDATORY.rawValue)
            if !serverName.isEmpty, !isIPAddress(serverName) {
                try check(
                    gnutls_server_name_set(session, GNUTLS_NAME_DNS, serverName, serverName.utf8.count), "set SNI")
            }
            if let ticket {
                _ = ticket.withUnsafeBytes { gnutls_session_set_data(session, $0.baseAddress, $0.count) }
            }
        } catch {
            gnutls_deinit(session)
            throw error
        }
        return session
    }

    private func configureCommon(_ session: gnutls_session_t) throws {
        try check(gnutls_priority_set(session, priority), "set TLS priorities")
        try check(
            gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials)),
            "set credentials")
    }

    private func setALPN(_ session: gnutls_session_t, flags: UInt32) throws {
        guard !alpn.isEmpty else { return }
        var storage = alpn.map { Array($0.utf8) }
        var data = [gnutls_datum_t]()
        for index in storage.indices {
            storage[index].withUnsafeMutableBufferPointer {
                data.append(gnutls_datum_t(data: $0.baseAddress, size: UInt32($0.count)))
            }
        }
        // GnuTLS copies the protocol names, so the temporary storage may go after this call.
        let status = withExtendedLifetime(storage) {
            gnutls_alpn_set_protocols(session, data, UInt32(data.count), flags)
        }
        try check(status, "set ALPN")
    }
}

func check(_ status: Int32, _ what: String) throws {
    if status < 0 { throw QUICEndpointError("\(what) failed: \(errorString(status))") }
}

func errorString(_ status: Int32) -> String { String(cString: gnutls_strerror(status)) }

func isIPAddress(_ text: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
}

/// The verify callback GnuTLS calls during a client handshake: finds the connection and asks it.
private let verifyPeerCallback: @convention(c) (gnutls_session_t?) -> Int32 = { session in
    guard let session, let connection = ConnectionCore.from(session: session) else { return -1 }
    return connection.verifyPeerCertificate(session) ? 0 : GNUTLS_E_CERTIFICATE_ERROR
}

/// Checks a server certificate against the client's verification policy; returns a reason when rejected.
struct PeerCertificateVerifier {
    let policy: QUICPeerVerification
    let serverName: String

    func verify(_ session: gnutls_session_t) -> String? {
        var count: UInt32 = 0
        guard let certificates = gnutls_certificate_get_peers(session, &count), count > 0 else {
            return "the server sent no certificate"
        }
        switch policy {
        case .insecureNoVerification:
            return nil
        case .pinnedSHA256(let pins):
            let leaf = certificates[0]
            var digest = [UInt8](repeating: 0, count: 32)
            var size = 32
            guard gnutls_fingerprint(GNUTLS_DIG_SHA256, [leaf], &digest, &size) >= 0 else {
                return "cannot hash the server certificate"
            }
            guard pins.contains(digest) else {
                let got = digest.map { String(format: "%02x", $0) }.joined()
                return "SHA-256 fingerprint \(got) matches no pinned fingerprint"
            }
            return validityProblem(leaf)
        case .systemRoots, .certificateAuthorities:
            // verify_peers3 matches DNS names and, given an address literal, IP SANs.
            var status: UInt32 = 0
            let rc = serverName.withCString { gnutls_certificate_verify_peers3(session, $0, &status) }
            if rc < 0 { return "verification failed: \(errorString(rc))" }
            if status != 0 {
                var printed = gnutls_datum_t()
                gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &printed, 0)
                defer { cngtcp2_gnutls_free(printed.data) }
                return printed.data.map { String(cString: $0) } ?? "status \(status)"
            }
            return nil
        }
    }

    private func validityProblem(_ der: gnutls_datum_t) -> String? {
        var certificate: gnutls_x509_crt_t?
        guard gnutls_x509_crt_init(&certificate) >= 0, let certificate else { return "cannot parse certificate" }
        defer { gnutls_x509_crt_deinit(certificate) }
        var copy = der
        guard gnutls_x509_crt_import(certificate, &copy, GNUTLS_X509_FMT_DER) >= 0 else {
            return "cannot parse the server certificate"
        }
        let now = time(nil)
        let notAfter = gnutls_x509_crt_get_expiration_time(certificate)
        let notBefore = gnutls_x509_crt_get_activation_time(certificate)
        if notAfter < now {
            return "the certificate expired at \(Date(timeIntervalSince1970: TimeInterval(notAfter)))"
        }
        if notBefore > now {
            return "the certificate is not valid before \(Date(timeIntervalSince1970: TimeInterval(notBefore)))"
        }
        return nil
    }
}
