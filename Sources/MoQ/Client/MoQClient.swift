import HTTP3
import Logging
public import MoQWire
import NIOCore
public import QUIC

/// Opens moq-lite sessions to servers and relays.
///
///     let session = try await MoQClient.connect(url: "moqt://localhost:4443/", configuration: .init(verification: .pinnedSHA256([pin])))
///     try await withThrowingDiscardingTaskGroup { group in
///         group.addTask { await session.run() }
///         ...
///     }
public enum MoQClient {
    public struct Configuration: Sendable {
        /// How to trust the server: system CAs, a CA file, or a pinned SHA-256 fingerprint.
        public var verification: QUICPeerVerification
        /// Versions offered, in preference order (force one with a one-element list).
        public var versions: [MoQVersion]
        /// The session's publish/consume origins, hop id and limits. Give each concurrent session its
        /// own (a copy shares the origins and the hop id, and the peer would see one node twice).
        public var session: MoQSessionConfiguration
        public var transport: QUICTransportConfiguration
        /// The endpoint to dial from (a fresh one on an ephemeral port when nil).
        public var endpoint: QUICEndpoint?

        public init(
            verification: QUICPeerVerification = .systemRoots, versions: [MoQVersion] = MoQVersion.serverPreference,
            session: MoQSessionConfiguration = .init(), transport: QUICTransportConfiguration = .init(),
            endpoint: QUICEndpoint? = nil
        ) {
            self.verification = verification
            self.versions = versions
            self.session = session
            self.transport = transport
            self.endpoint = endpoint
        }
    }

    /// Dials `url` (`moqt://`/`moql://`: raw QUIC; `https://`: WebTransport over HTTP/3) and returns the
    /// session (not yet running: call `run()` promptly, because the SETUP goes out from `run()` and a server
    /// closes a session that sends none within its setup timeout, 10 s for moq-relay).
    public static func connect(url text: String, configuration: Configuration = .init()) async throws -> MoQSession {
        let url = try MoQURL(text)
        let endpoint: QUICEndpoint
        let ownsEndpoint = configuration.endpoint == nil
        if let given = configuration.endpoint {
            endpoint = given
        } else {
            // Bind the family the host resolves to (a name may resolve to ::1 first).
            let remote = try SocketAddress.makeAddressResolvingHost(url.host, port: url.port)
            endpoint = try await QUICEndpoint.bind(host: remote.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
        }
        let connection: QUICConnection
        do {
            connection = try await endpoint.connect(
                host: url.host, port: url.port,
                configuration: QUICClientConfiguration(
                    alpn: url.scheme == .https ? ["h3"] : configuration.versions.map(\.alpn), serverName: url.host,
                    verification: configuration.verification,
                    transport: configuration.transport))
        } catch {
            if ownsEndpoint { await endpoint.close() }
            throw error
        }
        if url.scheme == .https {
            return try await webTransportSession(
                url: url, connection: connection, configuration: configuration,
                closeEndpoint: ownsEndpoint ? { @Sendable in await endpoint.close() } : nil)
        }
        guard let alpn = connection.negotiatedALPN, let version = MoQVersion(alpn: alpn) else {
            connection.close(code: SessionErrorCode.versionNegotiationFailed.rawValue, reason: "no moq-lite version")
            if ownsEndpoint { await endpoint.close() }
            throw MoQURLError("the server agreed on no moq-lite version (ALPN \(connection.negotiatedALPN ?? "none"))")
        }
        var session = configuration.session
        if version >= .lite05 { session.setupPath = url.pathAndQuery.isEmpty ? "/" : url.pathAndQuery }
        var closeEndpoint: (@Sendable () async -> Void)?
        if ownsEndpoint {
            closeEndpoint = { @Sendable in await endpoint.close() }
        }
        return MoQSession(
            version: version, transport: QUICTransport(connection), configuration: session, onEnd: closeEndpoint)
    }

    /// moq-lite over WebTransport: extended CONNECT to the URL's path (the version is the `wt-protocol` the
    /// server picked from ours; no SETUP Path parameter on WebTransport).
    static func webTransportSession(
        url: MoQURL, connection: QUICConnection, configuration: Configuration,
        closeEndpoint: (@Sendable () async -> Void)?
    ) async throws -> MoQSession {
        let session: WebTransportSession
        do {
            let http3 = try await HTTP3Connection.start(
                connection, role: .client, configuration: HTTP3Configuration(logger: configuration.session.logger))
            let authority = url.host.contains(":") ? "[\(url.host)]:\(url.port)" : "\(url.host):\(url.port)"
            session = try await http3.webTransport(
                authority: authority, path: url.pathAndQuery.isEmpty ? "/" : url.pathAndQuery,
                protocols: configuration.versions.map(\.alpn))
        } catch {
            connection.close(code: HTTP3ErrorCode.noError.rawValue, reason: "")
            await closeEndpoint?()
            throw error
        }
        guard let chosen = session.negotiatedProtocol, let version = MoQVersion(alpn: chosen),
            configuration.versions.contains(version)
        else {
            session.close(
                code: UInt32(SessionErrorCode.versionNegotiationFailed.rawValue), reason: "no moq-lite version")
            await closeEndpoint?()
            throw MoQURLError(
                "the server agreed on no moq-lite version (wt-protocol \(session.negotiatedProtocol ?? "none"))")
        }
        return MoQSession(
            version: version, transport: WebTransportTransport(session, drivesConnection: true),
            configuration: configuration.session, onEnd: closeEndpoint)
    }

    /// Connects, runs the session while `body` runs, then closes it.
    public static func withSession<T: Sendable>(
        url: String, configuration: Configuration = .init(), _ body: @Sendable (MoQSession) async throws -> T
    ) async throws -> T {
        let session = try await connect(url: url, configuration: configuration)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await session.run()
                return nil
            }
            // Closing the session ends `run()`, so the group finishes either way.
            defer {
                session.close()
                group.cancelAll()
            }
            return try await body(session)
        }
    }
}
