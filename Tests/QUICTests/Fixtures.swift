import Foundation
import NIOCore
import QUIC
import TestSupport

/// One certificate for the whole test process (generation costs a few milliseconds each time).
let testIdentity: QUICServerIdentity = try! QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])

/// Runs `body` with our echo server listening on an ephemeral loopback port; closes it afterwards.
func withEchoServer<T: Sendable>(
    alpn: [String] = ["echo"],
    identity: QUICServerIdentity = testIdentity,
    transport: QUICTransportConfiguration = .init(),
    options: QUICEndpointOptions = .init(),
    _ body: @Sendable (QUICEndpoint) async throws -> T
) async throws -> T {
    let server = try await QUICEndpoint.bind(
        host: "127.0.0.1", port: 0,
        server: QUICServerConfiguration(alpn: alpn, identity: identity, transport: transport), options: options)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await QUICEchoService(endpoint: server).run()
            return nil
        }
        do {
            let result = try await body(server)
            await server.close()
            try await group.waitForAll()
            return result
        } catch {
            await server.close()
            group.cancelAll()
            throw error
        }
    }
}

/// A client endpoint on an ephemeral loopback port.
func makeClient() async throws -> QUICEndpoint {
    try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
}

func pinned(_ identity: QUICServerIdentity = testIdentity, alpn: [String] = ["echo"]) -> QUICClientConfiguration {
    QUICClientConfiguration(
        alpn: alpn, serverName: "localhost", verification: .pinnedSHA256([identity.fingerprintSHA256]))
}

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> ByteBuffer {
    var state = seed
    var buffer = ByteBufferAllocator().buffer(capacity: count)
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
        for index in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            raw[index] = UInt8(truncatingIfNeeded: state)
        }
        return count
    }
    return buffer
}

/// Sends `payload` on a new bidirectional stream with FIN and returns everything read back.
func echoRoundTrip(_ connection: QUICConnection, _ payload: ByteBuffer, chunk: Int = 64 * 1024) async throws
    -> ByteBuffer
{
    let stream = try await connection.openBidirectionalStream()
    async let reply = stream.readAll(limit: payload.readableBytes + 1)
    var rest = payload
    while rest.readableBytes > 0 {
        try await stream.write(rest.readSlice(length: min(chunk, rest.readableBytes))!)
    }
    try await stream.finish()
    return try await reply
}

/// Opens `count` connections from `client` to the echo server on `port` at once, echoes a different
/// pattern of `bytes(index)` bytes on each, and returns how many came back byte-exact.
func echoConcurrently(_ count: Int, from client: QUICEndpoint, to port: Int, bytes: @escaping @Sendable (Int) -> Int)
    async throws -> Int
{
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for index in 0..<count {
            group.addTask {
                let connection = try await client.connect(host: "127.0.0.1", port: port, configuration: pinned())
                let payload = patternBytes(bytes(index), seed: UInt64(index + 1))
                let reply = try await echoRoundTrip(connection, payload)
                connection.close(code: 0)
                return reply == payload
            }
        }
        var matches = 0
        for try await ok in group where ok { matches += 1 }
        return matches
    }
}
