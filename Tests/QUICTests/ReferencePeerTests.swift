import Foundation
import TestSupport
import NIOCore
import QUIC
import Testing

/// Handshakes with the moq-lite reference (moq-rs) and with Debian's ngtcp2 example client and server.
@Suite(.timeLimit(.minutes(2)))
struct ReferencePeerTests {
    @Test func ourClientHandshakesWithTheMoqReferenceServer() async throws {
        let server = try PeerProcess(Repository.python, [Repository.peer("moq_server.py")])
        defer { server.terminate() }
        let ready = try await server.waitForLine(prefix: "READY").split(separator: " ")
        let port = Int(ready[1])!
        let fingerprint = try #require(hexBytes(String(ready[2])))
        let client = try await makeClient()
        let connection = try await client.connect(
            host: "127.0.0.1", port: port,
            configuration: QUICClientConfiguration(
                alpn: ["moq-lite-06"], serverName: "localhost", verification: .pinnedSHA256([fingerprint])))
        #expect(connection.negotiatedALPN == "moq-lite-06")
        connection.close(code: 0)

        // A pin that does not match is refused before any application data flows.
        var wrong = fingerprint
        wrong[0] ^= 0xff
        await #expect {
            _ = try await client.connect(
                host: "127.0.0.1", port: port,
                configuration: QUICClientConfiguration(
                    alpn: ["moq-lite-06"], serverName: "localhost", verification: .pinnedSHA256([wrong])))
        } throws: { error in
            guard let error = error as? QUICConnectionError else { return false }
            return error.kind == .certificateRejected && error.reason.contains("matches no pinned fingerprint")
        }
        await client.close()
    }

    @Test func ourClientHandshakesWithNgtcp2ExampleServer() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: key)
        let port = try freeUDPPort()
        let server = try PeerProcess(
            "/usr/sbin/gtlsserver", ["-q", "-d", directory.path, "127.0.0.1", "\(port)", key, certificate],
            name: "gtlsserver")
        defer { server.terminate() }
        let client = try await makeClient()
        // gtlsserver may need a moment to bind: retry the dial briefly.
        var connection: QUICConnection?
        for _ in 0..<50 where connection == nil {
            connection = try? await client.connect(
                host: "127.0.0.1", port: port,
                configuration: QUICClientConfiguration(
                    alpn: ["h3"], serverName: "localhost", verification: .certificateAuthorities(pemFile: certificate),
                    transport: {
                        var t = QUICTransportConfiguration(); t.handshakeTimeout = .milliseconds(300); return t
                    }()))
            if connection == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let established = try #require(connection)
        #expect(established.negotiatedALPN == "h3")
        // Bytes that are not HTTP/3 frames on a request stream: the server closes with H3_FRAME_UNEXPECTED
        // or H3_FRAME_ERROR, proving our stream data reached its HTTP/3 layer.
        let stream = try await established.openBidirectionalStream()
        try await stream.write(ByteBuffer(string: "definitely not http/3"), finish: true)
        let closed = await established.closed()
        #expect(closed.byPeer && closed.kind == .application)
        #expect([0x105, 0x106].contains(closed.code), "closed with \(closed)")
        await client.close()
    }

    @Test func ngtcp2ExampleClientHandshakesWithOurServer() async throws {
        try await withEchoServer(alpn: ["h3"]) { server in
            let client = try PeerProcess(
                "/usr/bin/gtlsclient",
                [
                    "--exit-on-first-stream-close", "--timeout=5s", "127.0.0.1", "\(server.localAddress.port!)",
                    "https://localhost/",
                ],
                name: "gtlsclient")
            _ = try await client.waitForStderr(containing: "QUIC handshake has completed", timeout: .seconds(20))
            #expect(try await client.waitForStderr(containing: "Negotiated ALPN") == "Negotiated ALPN is h3")
            client.terminate()
        }
    }
}

/// An ephemeral UDP port that was free a moment ago (for peers that cannot bind port 0 and report it).
func freeUDPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw PeerError("cannot find a free UDP port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
