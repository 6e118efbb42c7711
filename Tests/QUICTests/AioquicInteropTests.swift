import Foundation
import NIOCore
import QUIC
import TestSupport
import Testing

/// Our QUIC stack against aioquic 1.7.2 in both roles, speaking the echo protocol (Tests/Peers/README.md).
@Suite(.timeLimit(.minutes(2)))
struct AioquicInteropTests {
    @Test func ourClientAgainstAioquicServer() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: key)
        let server = try PeerProcess(
            Repository.python,
            [Repository.peer("aioquic_echo.py"), "server", "--cert", certificate, "--key", key, "--alpn", "echo,h3"])
        defer { server.terminate() }
        let port = Int(try await server.waitForLine(prefix: "READY").split(separator: " ")[1])!

        let client = try await makeClient()
        let cache = QUICSessionCache()
        // CA verification against the certificate file, by IP address SAN.
        var configuration = QUICClientConfiguration(
            alpn: ["echo"], serverName: "127.0.0.1", verification: .certificateAuthorities(pemFile: certificate),
            sessionCache: cache)
        let connection = try await client.connect(host: "127.0.0.1", port: port, configuration: configuration)
        #expect(connection.negotiatedALPN == "echo")
        #expect(!connection.isResumed)

        // Several MiB echoed byte-exact on a bidirectional stream.
        let payload = patternBytes(6 << 20)
        let echoed = try await echoRoundTrip(connection, payload)
        #expect(echoed == payload)

        // A unidirectional stream comes back on a new server-initiated unidirectional stream.
        var serverStreams = connection.incomingStreams.makeAsyncIterator()
        let uni = try await connection.openUnidirectionalStream()
        let uniPayload = patternBytes(100_000, seed: 7)
        try await uni.write(uniPayload, finish: true)
        let reply = try #require(await serverStreams.next())
        #expect(reply.isUnidirectional && !reply.isClientInitiated)
        #expect(try await reply.readAll(limit: 1 << 20) == uniPayload)

        // Datagrams are echoed.
        var datagrams = connection.incomingDatagrams.makeAsyncIterator()
        connection.sendDatagram(ByteBuffer(string: "datagram-1"))
        #expect(await datagrams.next() == ByteBuffer(string: "datagram-1"))

        // RESET_STREAM code echoed back.
        let resetStream = try await connection.openBidirectionalStream()
        try await resetStream.write(ByteBuffer(string: "about to reset"))
        try await Task.sleep(for: .milliseconds(50))
        resetStream.reset(code: 0x1234)
        await #expect(throws: QUICStreamError.reset(code: 0x1234)) { while try await resetStream.read() != nil {} }

        // STOP_SENDING answered with RESET_STREAM carrying the same code.
        let stopped = try await connection.openBidirectionalStream()
        try await stopped.write(ByteBuffer(string: "please stop"))
        try await Task.sleep(for: .milliseconds(50))
        stopped.stopSending(code: 0x77)
        await #expect(throws: QUICStreamError.reset(code: 0x77)) { while try await stopped.read() != nil {} }

        // The server closes with an application code and reason on request.
        let command = try await connection.openBidirectionalStream()
        try await command.write(ByteBuffer(string: "!close 42 bye"), finish: true)
        let closed = await connection.closed()
        #expect(closed.kind == .application && closed.code == 42 && closed.reason == "bye" && closed.byPeer)

        // A second connection resumes the TLS session from the ticket the first one received.
        configuration.sessionCache = cache
        #expect(cache.count == 1)
        let resumed = try await client.connect(host: "127.0.0.1", port: port, configuration: configuration)
        #expect(resumed.isResumed)
        #expect(try await echoRoundTrip(resumed, ByteBuffer(string: "resumed")) == ByteBuffer(string: "resumed"))
        resumed.close(code: 0)
        await client.close()
    }

    @Test func aioquicClientAgainstOurServer() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: directory.appendingPathComponent("key.pem").path)
        try await withEchoServer(alpn: ["h3", "echo"]) { server in
            let port = server.localAddress.port!
            let client = try PeerProcess(
                Repository.python,
                [
                    Repository.peer("aioquic_echo.py"), "client", "--port", "\(port)", "--alpn", "echo", "--ca",
                    certificate, "--server-name", "localhost", "--bidi-bytes", "\(5 << 20)", "--resume",
                ])
            let status = try await client.waitForExit(timeout: .seconds(90))
            let steps = try client.lines.compactMap { line -> [String: Any]? in
                guard line.hasPrefix("{") else { return nil }
                return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }
            func step(_ name: String) -> [String: Any]? { steps.first { $0["step"] as? String == name } }
            #expect(status == 0, "aioquic client failed: \(client.lines) \(client.stderr.suffix(2000))")
            #expect(step("handshake")?["alpn"] as? String == "echo")
            #expect(step("bidi")?["ok"] as? Bool == true)
            #expect(step("bidi")?["bytes"] as? Int == 5 << 20)
            // New 1-RTT keys after the server released its TLS session (it keeps only the packet keys).
            #expect(step("key_update")?["ok"] as? Bool == true)
            #expect(step("key_update")?["key_phase"] as? Int == 1)
            #expect(step("uni")?["ok"] as? Bool == true)
            #expect(step("datagram")?["count"] as? Int == 3)
            #expect(step("reset")?["code"] as? Int == 0x1234)
            #expect(step("stop_sending")?["code"] as? Int == 0x77)
            #expect(step("resume")?["resumed"] as? Bool == true)
            #expect(step("close")?["error_code"] as? Int == 42)
            #expect(step("close")?["reason"] as? String == "bye")
            #expect(step("done")?["ok"] as? Bool == true)
        }
    }

    /// A client whose address keeps changing (NAT rebinding, new connection IDs) stays connected to a server
    /// with two sockets on its port: the kernel steers its packets by connection ID, not by address (by
    /// address, each move would have an even chance of reaching the socket that does not know it).
    @Test func aioquicClientMovingToNewPortsStaysOnItsSocketOfASharedPort() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: directory.appendingPathComponent("key.pem").path)
        var options = QUICEndpointOptions()
        options.sockets = 2
        try await withEchoServer(options: options) { server in
            let client = try PeerProcess(
                Repository.python,
                [
                    Repository.peer("aioquic_echo.py"), "client", "--port", "\(server.localAddress.port!)", "--alpn",
                    "echo", "--ca", certificate, "--server-name", "localhost", "--bidi-bytes", "100000",
                    "--rebind", "8",
                ])
            let status = try await client.waitForExit(timeout: .seconds(90))
            let rebind = try client.lines.compactMap { line -> [String: Any]? in
                guard line.hasPrefix("{") else { return nil }
                return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }.first { $0["step"] as? String == "rebind" }
            #expect(status == 0, "aioquic client failed: \(client.lines) \(client.stderr.suffix(2000))")
            #expect(rebind?["rebinds"] as? Int == 8)
            #expect(rebind?["ports"] as? Int == 8)
            let sockets = await server.socketStatistics()
            #expect(sockets.allSatisfy { $0.statelessResetsSent == 0 }, "\(sockets)")
            #expect(sockets.map(\.connectionsAccepted).reduce(0, +) == 1)
        }
    }
}
