import HTTP3
import NIOCore
import QUIC
import TestSupport

/// One certificate for the whole test process.
let testIdentity: QUICServerIdentity = try! QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])

/// Our HTTP/3 server on an ephemeral loopback port, serving `handler` on every `h3` connection.
func withHTTP3Server<T: Sendable>(
    _ handler: HTTP3ServerHandler, _ body: @escaping @Sendable (QUICEndpoint) async throws -> T
) async throws -> T {
    let server = try await QUICEndpoint.bind(
        host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: ["h3"], identity: testIdentity))
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await withDiscardingTaskGroup { connections in
                for await quic in server.incomingConnections {
                    connections.addTask {
                        guard let connection = try? await HTTP3Connection.start(quic, role: .server) else { return }
                        await connection.run(handler: handler)
                    }
                }
            }
            return nil
        }
        defer { group.cancelAll() }
        do {
            let result = try await withTimeout(.seconds(30), "HTTP/3 test body") { try await body(server) }
            await server.close(grace: .milliseconds(50))
            return result
        } catch {
            await server.close(grace: .milliseconds(50))
            throw error
        }
    }
}

/// A raw QUIC connection to `server` with ALPN h3 (for hand-written bad input).
func dialH3(_ server: QUICEndpoint) async throws -> (QUICEndpoint, QUICConnection) {
    let client = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
    let connection = try await client.connect(
        host: "127.0.0.1", port: server.localAddress.port!,
        configuration: QUICClientConfiguration(
            alpn: ["h3"], serverName: "localhost", verification: .pinnedSHA256([testIdentity.fingerprintSHA256])))
    return (client, connection)
}

/// Our HTTP/3 client connection, running while `body` runs.
func withHTTP3Client<T: Sendable>(
    _ server: QUICEndpoint, _ body: @Sendable (HTTP3Connection) async throws -> T
) async throws -> T {
    let (endpoint, quic) = try await dialH3(server)
    let connection = try await HTTP3Connection.start(quic, role: .client)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await connection.run()
            return nil
        }
        defer { group.cancelAll() }
        let result = try await body(connection)
        quic.close()
        await endpoint.close(grace: .milliseconds(50))
        return result
    }
}

/// Reads a stream to its end.
func readAll(_ stream: WebTransportStream) async throws -> ByteBuffer {
    var all = ByteBuffer()
    while let chunk = try await stream.read() { all.writeImmutableBuffer(chunk) }
    return all
}
