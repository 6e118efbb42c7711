public import HTTP3
public import Logging
public import MoQWire
public import QUIC

/// Accepts moq-lite sessions on a QUIC endpoint and runs `handler` for each, next to the session itself:
/// raw QUIC (the moq-lite ALPNs) and WebTransport (ALPN `h3`) on the same port, told apart by ALPN.
///
/// On raw QUIC the version is the first of `versions` (server preference: 06, 05, 04) the client offers
/// in ALPN; on WebTransport it is the client's first `wt-available-protocols` entry we speak.
public struct MoQServer: Sendable {
    public let endpoint: QUICEndpoint
    public let versions: [MoQVersion]
    let makeConfiguration: @Sendable () -> MoQSessionConfiguration
    let logger: Logger
    /// Answers HTTP/3 requests that are not WebTransport sessions (404 when nil).
    let respond: (@Sendable (HTTP3Request) async -> HTTP3Response)?

    /// ALPN list for a `QUICServerConfiguration` serving these versions, and WebTransport (`h3`) unless
    /// `webTransport` is false.
    public static func alpn(for versions: [MoQVersion] = MoQVersion.serverPreference, webTransport: Bool = true)
        -> [String]
    {
        versions.map(\.alpn) + (webTransport ? ["h3"] : [])
    }

    /// - Parameter configuration: the session configuration for each accepted connection (a relay
    ///   returns the same origins every time; an app may scope them per session).
    public init(
        endpoint: QUICEndpoint, versions: [MoQVersion] = MoQVersion.serverPreference,
        logger: Logger = Logger(label: "moq.server"),
        configuration: @escaping @Sendable () -> MoQSessionConfiguration = { MoQSessionConfiguration() },
        respond: (@Sendable (HTTP3Request) async -> HTTP3Response)? = nil
    ) {
        self.endpoint = endpoint
        self.versions = versions
        self.makeConfiguration = configuration
        self.logger = logger
        self.respond = respond
    }

    /// Serves until the endpoint closes; `handler` runs beside each session (in a task of its own).
    public func run(_ handler: @escaping @Sendable (MoQSession) async -> Void = { _ in }) async {
        await accept { session in
            await withDiscardingTaskGroup { pair in
                pair.addTask { await handler(session) }
                await session.run()
            }
        }
    }

    /// Serves until the endpoint closes, calling `started` before each session runs and `ended` after it
    /// closed: no task per session beyond the session's own (what a relay with many idle sessions wants).
    public func run(
        started: @escaping @Sendable (MoQSession) -> Void, ended: @escaping @Sendable (MoQSession) -> Void
    ) async {
        await accept { session in
            started(session)
            await session.run()
            ended(session)
        }
    }

    /// Accepts connections until the endpoint closes and runs `serve` for each moq-lite session in it.
    private func accept(_ serve: @escaping @Sendable (MoQSession) async -> Void) async {
        await withDiscardingTaskGroup { group in
            for await connection in endpoint.incomingConnections {
                if connection.negotiatedALPN == "h3" {
                    group.addTask { await serveHTTP3(connection, serve) }
                    continue
                }
                guard let alpn = connection.negotiatedALPN, let version = MoQVersion(alpn: alpn),
                    versions.contains(version)
                else {
                    connection.close(
                        code: SessionErrorCode.versionNegotiationFailed.rawValue, reason: "no moq-lite version")
                    continue
                }
                let session = MoQSession(
                    version: version, transport: QUICTransport(connection), configuration: makeConfiguration())
                logger.info("session", metadata: ["peer": "\(connection.remoteAddress)", "version": "\(alpn)"])
                group.addTask { await serve(session) }
            }
        }
    }

    /// One HTTP/3 connection: WebTransport sessions become moq-lite sessions; other requests go to `respond`.
    private func serveHTTP3(_ connection: QUICConnection, _ serve: @escaping @Sendable (MoQSession) async -> Void)
        async
    {
        let http3: HTTP3Connection
        do {
            http3 = try await HTTP3Connection.start(
                connection, role: .server, configuration: HTTP3Configuration(logger: logger))
        } catch {
            connection.close(code: HTTP3ErrorCode.internalError.rawValue, reason: "cannot open the control stream")
            return
        }
        let respond = self.respond ?? { _ in HTTP3Response(status: 404, text: "not found\n") }
        let webTransport = HTTP3ServerHandler(
            webTransportProtocols: versions.map(\.alpn), acceptsUnnegotiated: false, respond: respond,
            session: { [makeConfiguration, logger] webTransportSession in
                guard let chosen = webTransportSession.negotiatedProtocol, let version = MoQVersion(alpn: chosen) else {
                    return
                }
                let session = MoQSession(
                    version: version, transport: WebTransportTransport(webTransportSession, drivesConnection: false),
                    configuration: makeConfiguration())
                logger.info(
                    "session",
                    metadata: [
                        "peer": "\(connection.remoteAddress)", "version": "\(chosen)", "transport": "webtransport",
                    ])
                await serve(session)
            })
        await http3.run(handler: webTransport)
    }
}
