// moq-relay: the relay node. moq-lite over QUIC on UDP, its HTTP API on TCP, one origin for all sessions.
// Defaults run with no configuration: UDP 127.0.0.1:4443, HTTP 127.0.0.1:8080, a generated certificate.
import ArgumentParser
import Foundation
import Logging
import MoQRelay
import MoQWire
import QUIC
import RelayHTTP
import ServiceLifecycle

@main
struct MoQRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moq-relay",
        abstract: "A moq-lite relay: publishers and subscribers meet in one origin (moq-lite 04/05/06 over QUIC).",
        discussion: """
            Every option can also come from the environment as MOQ_<OPTION> (e.g. MOQ_LISTEN=0.0.0.0:4443).
            Clients pin the generated certificate with the SHA-256 printed at start (also served on
            GET /certificate.sha256).
            """)

    @Option(help: "UDP address for moq-lite over QUIC (env MOQ_LISTEN).")
    var listen: String = environment("LISTEN") ?? "127.0.0.1:4443"

    @Option(help: "TCP address of the HTTP API (env MOQ_HTTP_LISTEN).")
    var httpListen: String = environment("HTTP_LISTEN") ?? "127.0.0.1:8080"

    @Option(help: "PEM certificate chain (env MOQ_TLS_CERT); default: generate one at start.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert (env MOQ_TLS_KEY).")
    var tlsKey: String?

    var certificateFile: String? { tlsCert ?? environment("TLS_CERT") }
    var keyFile: String? { tlsKey ?? environment("TLS_KEY") }

    @Option(parsing: .upToNextOption, help: "Names for the generated certificate (env MOQ_TLS_GENERATE, comma-separated).")
    var tlsGenerate: [String] = environment("TLS_GENERATE")?.split(separator: ",").map(String.init)
        ?? ["localhost", "127.0.0.1", "::1"]

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env MOQ_LOG_LEVEL).")
    var logLevel: String = environment("LOG_LEVEL") ?? "info"

    func validate() throws {
        if (certificateFile == nil) != (keyFile == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "moq-relay")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        let (host, port) = try AddressText.hostPort(listen)
        let (httpHost, httpPort) = try AddressText.hostPort(httpListen)
        let identity: QUICServerIdentity
        if let certificateFile, let keyFile {
            identity = try QUICServerIdentity.load(certificateFile: certificateFile, keyFile: keyFile)
        } else {
            identity = try QUICServerIdentity.generateSelfSigned(names: tlsGenerate)
        }
        let relay = try await Relay(configuration: RelayConfiguration(host: host, port: port, identity: identity, logger: logger))
        let http = RelayHTTPServer.application(relay: relay, host: httpHost, port: httpPort)
        relay.serveHTTP3(RelayHTTPServer.http3Responder(relay: relay))
        // The first lines name every listener and the certificate (scripts wait for them).
        FileHandle.standardOutput.write(Data("""
            moq-relay listening on moqt://\(relay.listenAddress)/ (UDP, moq-lite \(MoQVersion.serverPreference.map(\.alpn).joined(separator: ", ")))
            moq-relay HTTP API on http://\(httpHost):\(httpPort)/
            moq-relay WebTransport and HTTP/3 on https://\(relay.listenAddress)/ (UDP, ALPN h3)
            certificate sha256 \(identity.fingerprintHex)

            """.utf8))
        let group = ServiceGroup(
            services: [relay, http], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// `MOQ_<NAME>` from the environment.
func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment["MOQ_" + name] }

