public import Logging
public import MoQWire
public import QUIC

/// Accepts moq-lite sessions on a QUIC endpoint and runs `handler` for each, next to the session itself.
///
/// The version is the first of `versions` (server preference: 06, 05, 04) the client offers in ALPN.
public struct MoQServer: Sendable {
    public let endpoint: QUICEndpoint
    public let versions: [MoQVersion]
    let makeConfiguration: @Sendable () -> MoQSessionConfiguration
    let logger: Logger

    /// ALPN list for a `QUICServerConfiguration` serving these versions.
    public static func alpn(for versions: [MoQVersion] = MoQVersion.serverPreference) -> [String] {
        versions.map(\.alpn)
    }

    /// - Parameter configuration: the session configuration for each accepted connection (a relay
    ///   returns the same origins every time; an app may scope them per session).
    public init(
        endpoint: QUICEndpoint, versions: [MoQVersion] = MoQVersion.serverPreference,
        logger: Logger = Logger(label: "moq.server"),
        configuration: @escaping @Sendable () -> MoQSessionConfiguration = { MoQSessionConfiguration() }
    ) {
        self.endpoint = endpoint
        self.versions = versions
        self.makeConfiguration = configuration
        self.logger = logger
    }

    /// Serves until the endpoint closes.
    public func run(_ handler: @escaping @Sendable (MoQSession) async -> Void = { _ in }) async {
        await withDiscardingTaskGroup { group in
            for await connection in endpoint.incomingConnections {
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
                group.addTask {
                    await withDiscardingTaskGroup { pair in
                        pair.addTask { await session.run() }
                        pair.addTask { await handler(session) }
                    }
                }
            }
        }
    }
}
