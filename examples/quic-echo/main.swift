// quic-echo: a QUIC echo server (the echo protocol of Tests/Peers/README.md) with a generated
// self-signed certificate. The first lines it prints name the listener and the certificate fingerprint.
import ArgumentParser
import Foundation
import Logging
import QUIC

@main
struct QUICEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quic-echo",
        abstract: "QUIC echo server: echoes streams and datagrams back to the client.")

    @Option(name: .long, help: "UDP address to listen on.")
    var listen = "127.0.0.1:4443"

    @Option(name: .long, parsing: .upToNextOption, help: "ALPN protocols accepted, in preference order.")
    var alpn = ["echo", "h3", "moq-lite-06", "moq-lite-05", "moq-lite-04"]

    @Option(name: .long, help: "PEM certificate chain (default: generate a self-signed one).")
    var tlsCert: String?

    @Option(name: .long, help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Names for the generated certificate.")
    var tlsGenerate = ["localhost", "127.0.0.1", "::1"]

    @Option(name: .long, help: "Write the generated certificate here (PEM), e.g. for a client's CA file.")
    var writeCert: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "quic-echo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let (host, port) = try AddressText.hostPort(listen)
        let identity: QUICServerIdentity
        if let tlsCert, let tlsKey {
            identity = try QUICServerIdentity.load(certificateFile: tlsCert, keyFile: tlsKey)
        } else {
            identity = try QUICServerIdentity.generateSelfSigned(names: tlsGenerate)
        }
        if let writeCert { try Data(identity.certificateChainPEM.utf8).write(to: URL(fileURLWithPath: writeCert)) }
        let endpoint = try await QUICEndpoint.bind(
            host: host, port: port, server: QUICServerConfiguration(alpn: alpn, identity: identity), logger: logger)
        // Unbuffered, so a script waiting for these lines sees them at once.
        FileHandle.standardOutput.write(
            Data(
                """
                quic-echo listening on udp://\(endpoint.localAddress) alpn=\(alpn.joined(separator: ","))
                certificate sha256 \(identity.fingerprintHex)

                """.utf8))
        await QUICEchoService(endpoint: endpoint, logger: logger).run()
    }
}

