import Foundation
import TestSupport
import NIOCore
import QUIC
import Testing

/// A transfer through a forwarder that drops, delays and reorders datagrams (the kernel here has no netem).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LossTests {
    @Test(arguments: [QUICCongestionControl.bbr, .cubic])
    func twentyMiBSurviveLossDelayAndReordering(congestionControl: QUICCongestionControl) async throws {
        var transport = QUICTransportConfiguration()
        transport.congestionControl = congestionControl
        let server = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0,
            server: QUICServerConfiguration(alpn: ["echo"], identity: testIdentity, transport: transport))
        do {
            let forwarder = try PeerProcess(
                Repository.python,
                [
                    Repository.peer("lossy_forwarder.py"), "--target", "127.0.0.1:\(server.localAddress.port!)",
                    "--drop", "0.05", "--delay-ms", "40", "--reorder", "0.02", "--seed", "7", "--timeout", "170",
                ])
            defer { forwarder.terminate() }
            let port = Int(try await forwarder.waitForLine(prefix: "READY").split(separator: " ")[1])!
            let client = try await makeClient()
            var configuration = pinned()
            configuration.transport = transport
            let connection = try await client.connect(host: "127.0.0.1", port: port, configuration: configuration)
            let payload = patternBytes(20 << 20, seed: 42)
            let started = ContinuousClock.now
            // Client to server, FIN; the server side reads everything and compares.
            async let received: ByteBuffer = {
                var incoming = server.incomingConnections.makeAsyncIterator()
                guard let serverConnection = await incoming.next() else { throw PeerError("no connection accepted") }
                var streams = serverConnection.incomingStreams.makeAsyncIterator()
                guard let stream = await streams.next() else { throw PeerError("no stream") }
                return try await stream.readAll(limit: 21 << 20)
            }()
            let stream = try await connection.openBidirectionalStream()
            var rest = payload
            while rest.readableBytes > 0 {
                try await stream.write(rest.readSlice(length: min(256 * 1024, rest.readableBytes))!)
            }
            try await stream.finish()
            let bytes = try await received
            let elapsed = ContinuousClock.now - started
            #expect(bytes.readableBytes == payload.readableBytes)
            #expect(bytes == payload)
            print(
                "loss test (\(congestionControl)): 20 MiB byte-exact through 5% loss, 40 ms delay and reordering in \(elapsed)"
            )
            connection.close()
            await client.close()
            forwarder.terminate()
            try await Task.sleep(for: .milliseconds(100))
            print("forwarder: \(forwarder.stderr.split(separator: "\n").last { $0.hasPrefix("forwarded=") } ?? "?")")
            await server.close()
        } catch {
            await server.close()
            throw error
        }
    }
}
