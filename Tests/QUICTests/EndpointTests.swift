import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import QUIC
import TestSupport
import Testing

/// Our client against our server: concurrency, certificate checks, limits and flow control.
@Suite(.timeLimit(.minutes(2)))
struct EndpointTests {
    @Test func hundredConcurrentConnectionsEchoByteExact() async throws {
        try await withEchoServer { server in
            let port = server.localAddress.port!
            let client = try await makeClient()
            let echoed = try await echoConcurrently(100, from: client, to: port) { 32 * 1024 + $0 }
            #expect(echoed == 100)
            #expect(await server.statistics().connectionsAccepted == 100)
            await client.close()
        }
    }

    @Test func expiredCertificateIsRejectedWithAClearError() async throws {
        let expired = try QUICServerIdentity.generateSelfSigned(
            names: ["localhost"], notValidBefore: Date().addingTimeInterval(-30 * 86400), validity: 86400)
        try await withEchoServer(identity: expired) { server in
            let client = try await makeClient()
            await #expect {
                _ = try await client.connect(
                    host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned(expired))
            } throws: { error in
                guard let error = error as? QUICConnectionError else { return false }
                return error.kind == .certificateRejected && error.reason.contains("expired")
            }
            await client.close()
        }
    }

    @Test func certificateAuthorityVerificationChecksTheName() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: directory.appendingPathComponent("key.pem").path)
        try await withEchoServer { server in
            let port = server.localAddress.port!
            let client = try await makeClient()
            let good = try await client.connect(
                host: "127.0.0.1", port: port,
                configuration: QUICClientConfiguration(
                    alpn: ["echo"], serverName: "localhost", verification: .certificateAuthorities(pemFile: certificate)
                ))
            #expect(good.negotiatedALPN == "echo")
            good.close()
            await #expect {
                _ = try await client.connect(
                    host: "127.0.0.1", port: port,
                    configuration: QUICClientConfiguration(
                        alpn: ["echo"], serverName: "example.com",
                        verification: .certificateAuthorities(pemFile: certificate)))
            } throws: { error in
                (error as? QUICConnectionError)?.kind == .certificateRejected
            }
            // The system roots do not know a self-signed certificate.
            await #expect {
                _ = try await client.connect(
                    host: "127.0.0.1", port: port,
                    configuration: QUICClientConfiguration(
                        alpn: ["echo"], serverName: "localhost", verification: .systemRoots))
            } throws: { error in
                (error as? QUICConnectionError)?.kind == .certificateRejected
            }
            await client.close()
        }
    }

    @Test func alpnMismatchFailsTheHandshake() async throws {
        try await withEchoServer(alpn: ["echo"]) { server in
            let client = try await makeClient()
            await #expect {
                _ = try await client.connect(
                    host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned(alpn: ["moq-lite-06"]))
            } throws: { error in
                // TLS alert no_application_protocol (120) as QUIC CRYPTO_ERROR 0x100 + 120.
                guard let error = error as? QUICConnectionError else { return false }
                return error.kind == .transport && error.code == 0x178
            }
            await client.close()
        }
    }

    @Test func handshakeToASilentPeerTimesOut() async throws {
        // A bound UDP socket that never answers.
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(
            host: "127.0.0.1", port: 0
        ).get()
        defer { silent.close(promise: nil) }
        let client = try await makeClient()
        var configuration = pinned()
        configuration.transport.handshakeTimeout = .milliseconds(500)
        let started = ContinuousClock.now
        await #expect {
            _ = try await client.connect(
                host: "127.0.0.1", port: silent.localAddress!.port!, configuration: configuration)
        } throws: { error in
            (error as? QUICConnectionError)?.kind == .handshakeTimeout
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        await client.close()
    }

    @Test func aReaderThatStopsHoldsThePeerAtTheWindow() async throws {
        var transport = QUICTransportConfiguration()
        transport.streamReceiveWindow = 256 * 1024
        transport.maxStreamReceiveWindow = 256 * 1024
        let server = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0,
            server: QUICServerConfiguration(alpn: ["echo"], identity: testIdentity, transport: transport))
        let client = try await makeClient()
        var clientConfiguration = pinned()
        clientConfiguration.transport.streamSendBufferLimit = 64 * 1024
        let connection = try await client.connect(
            host: "127.0.0.1", port: server.localAddress.port!, configuration: clientConfiguration)
        let stream = try await connection.openBidirectionalStream()
        // The server accepts the stream but never reads it.
        var accepted = server.incomingConnections.makeAsyncIterator()
        let serverConnection = try #require(await accepted.next())
        let written = ManagedCounter()
        let writer = Task {
            let chunk = ByteBuffer(repeating: 1, count: 16 * 1024)
            while !Task.isCancelled {
                try await stream.write(chunk)
                written.add(chunk.readableBytes)
            }
        }
        var incoming = serverConnection.incomingStreams.makeAsyncIterator()
        let serverStream = try #require(await incoming.next())
        // Wait until the writer stops making progress (bounded: 10 s), however loaded the machine is.
        var stalledAt = -1
        var unchanged = 0
        for _ in 0..<50 where unchanged < 3 {
            try await Task.sleep(for: .milliseconds(200))
            let now = written.value
            unchanged = now == stalledAt ? unchanged + 1 : 0
            stalledAt = now
        }
        // No progress while nobody reads, and no more than window + send buffer + one chunk accepted.
        #expect(unchanged >= 3, "the writer never stalled")
        #expect(stalledAt <= 256 * 1024 + 64 * 1024 + 16 * 1024)
        #expect(stalledAt >= 256 * 1024)
        // Reading releases credit and the writer moves again.
        var drained = 0
        while drained < 512 * 1024, let chunk = try await serverStream.read() { drained += chunk.readableBytes }
        try await Task.sleep(for: .milliseconds(200))
        #expect(written.value > stalledAt)
        writer.cancel()
        connection.close()
        await client.close()
        await server.close()
    }

    @Test func stopReadingEndsTheLocalReaderOnlyAndTellsThePeerNothing() async throws {
        let streams = try await ConnectedStreams.open(1)
        let (stream, serverStream) = streams.pairs[0]

        // A read parked in another task ends with locallyClosed as soon as reading is given up here.
        async let pending: QUICStreamError? = {
            do {
                _ = try await serverStream.read()
                return nil
            } catch {
                return error as? QUICStreamError
            }
        }()
        try await Task.sleep(for: .milliseconds(100))  // parked (a read that starts later fails the same way)
        serverStream.stopReading()
        #expect(await pending == .locallyClosed)
        await #expect(throws: QUICStreamError.locallyClosed) { _ = try await serverStream.read() }

        // The peer was told nothing: its writes and FIN still go through, and the stream still sends.
        try await stream.write(ByteBuffer(string: "more"))
        try await stream.finish()
        try await serverStream.write(ByteBuffer(string: "bye"), finish: true)
        #expect(try await stream.readAll(limit: 100) == ByteBuffer(string: "bye"))
        await streams.close()
    }

    @Test func whenReadableCallsOnceForBytesThenForFinAndAtOnceWhenSomethingIsThere() async throws {
        let streams = try await ConnectedStreams.open(1)
        let (stream, serverStream) = streams.pairs[0]

        // Nothing there: the handler waits for the peer's next bytes, and is called once for them.
        let (calls, call) = AsyncStream.makeStream(of: Void.self)
        serverStream.whenReadable { call.yield() }
        var called = calls.makeAsyncIterator()
        try await stream.write(ByteBuffer(string: "second"))
        await called.next()
        #expect(try await serverStream.read() == ByteBuffer(string: "second"))

        // The FIN calls the next handler; once it is there, a handler is called at once.
        serverStream.whenReadable { call.yield() }
        try await stream.finish()
        await called.next()
        let ranAtOnce = NIOLockedValueBox(false)
        serverStream.whenReadable { ranAtOnce.withLockedValue { $0 = true } }
        #expect(ranAtOnce.withLockedValue { $0 })
        #expect(try await serverStream.read() == nil)
        call.finish()
        await streams.close()
    }

    @Test func whenReadableIsCalledWhenThePeerResetsOrReadingStops() async throws {
        let streams = try await ConnectedStreams.open(2)
        let (first, serverFirst) = streams.pairs[0]
        let serverSecond = streams.pairs[1].server

        let (calls, call) = AsyncStream.makeStream(of: Int64.self)
        var called = calls.makeAsyncIterator()
        serverFirst.whenReadable { call.yield(serverFirst.id) }
        first.reset(code: 7)
        #expect(await called.next() == serverFirst.id)
        await #expect(throws: QUICStreamError.reset(code: 7)) { _ = try await serverFirst.read() }

        serverSecond.whenReadable { call.yield(serverSecond.id) }
        serverSecond.stopReading()
        #expect(await called.next() == serverSecond.id)
        await #expect(throws: QUICStreamError.locallyClosed) { _ = try await serverSecond.read() }
        call.finish()
        await streams.close()
    }

    @Test func openingPastThePeersStreamLimitWaitsForCredit() async throws {
        var transport = QUICTransportConfiguration()
        transport.maxIncomingBidirectionalStreams = 2
        try await withEchoServer(transport: transport) { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            let first = try await connection.openBidirectionalStream()
            _ = try await connection.openBidirectionalStream()
            let thirdOpened = ManagedCounter()
            let third = Task {
                let stream = try await connection.openBidirectionalStream()
                thirdOpened.add(1)
                return stream
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(thirdOpened.value == 0, "a third stream opened past the server's limit of 2")
            // Finishing the first stream (echoed and closed by the server) returns one unit of credit.
            try await first.write(ByteBuffer(string: "done"), finish: true)
            _ = try await first.readAll(limit: 16)
            let opened = try await withTimeout(.seconds(5), "third stream") { try await third.value }
            #expect(opened.id == 8)
            connection.close()
            await client.close()
        }
    }

    /// With a limit of one stream, every round trip needs the credit of the one before: the server returns it
    /// when the client acknowledges its FIN (an ACK-only packet) and must send it then, not wait for a reason.
    @Test func streamCreditReturnsAfterEveryRoundTrip() async throws {
        var transport = QUICTransportConfiguration()
        transport.maxIncomingBidirectionalStreams = 1
        try await withEchoServer(transport: transport) { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            for round in 0..<40 {
                let payload = patternBytes(100, seed: UInt64(round + 1))
                let echoed = try await withTimeout(.seconds(3), "round trip \(round)") {
                    try await echoRoundTrip(connection, payload)
                }
                #expect(echoed == payload)
            }
            connection.close()
            await client.close()
        }
    }
}

/// A counter shared between a test and the tasks it starts.
final class ManagedCounter: Sendable {
    private let box = NIOLockedValueBox(0)
    func add(_ amount: Int) { box.withLockedValue { $0 += amount } }
    var value: Int { box.withLockedValue { $0 } }
}

/// Idle timeout closes a quiet connection; keep-alive PINGs hold it open.
@Suite(.timeLimit(.minutes(1)))
struct IdleAndKeepAliveTests {
    @Test func idleTimeoutClosesAndKeepAliveHoldsOpen() async throws {
        var transport = QUICTransportConfiguration()
        transport.idleTimeout = .milliseconds(800)
        try await withEchoServer(transport: transport) { server in
            let client = try await makeClient()
            var quiet = pinned()
            quiet.transport.idleTimeout = .milliseconds(800)
            let idle = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: quiet)
            var alive = quiet
            alive.transport.keepAliveInterval = .milliseconds(200)
            let kept = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: alive)
            let reason = try await withTimeout(.seconds(10), "idle close") { await idle.closed() }
            #expect(reason.kind == .idleTimeout)
            // Well past the idle timeout, the kept-alive connection still echoes.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await echoRoundTrip(kept, ByteBuffer(string: "alive")) == ByteBuffer(string: "alive"))
            kept.close()
            await client.close()
        }
    }

    @Test func serverIdentityLoadsFromPEMFiles() async throws {
        let directory = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try testIdentity.write(certificateFile: certificate, keyFile: key)
        let loaded = try QUICServerIdentity.load(certificateFile: certificate, keyFile: key)
        #expect(loaded.fingerprintSHA256 == testIdentity.fingerprintSHA256)
        #expect(loaded.fingerprintHex.count == 64)
        try await withEchoServer(identity: loaded) { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned(loaded))
            #expect(connection.negotiatedALPN == "echo")
            connection.close()
            await client.close()
        }
        #expect(throws: QUICEndpointError.self) { try QUICServerIdentity.load(certificateFile: key, keyFile: key) }
    }
}

/// Our client connected to our server with `count` bidirectional streams, each with the server's side of
/// it, accepted after "hello" crossed it; `close()` ends the connection and both endpoints.
struct ConnectedStreams {
    let server: QUICEndpoint
    let client: QUICEndpoint
    let connection: QUICConnection
    let pairs: [(client: QUICStream, server: QUICStream)]

    static func open(_ count: Int) async throws -> ConnectedStreams {
        let server = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: ["echo"], identity: testIdentity))
        let client = try await makeClient()
        let connection = try await client.connect(
            host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
        var clientStreams: [QUICStream] = []
        for _ in 0..<count {
            let stream = try await connection.openBidirectionalStream()
            try await stream.write(ByteBuffer(string: "hello"))
            clientStreams.append(stream)
        }
        var accepted = server.incomingConnections.makeAsyncIterator()
        let serverConnection = try #require(await accepted.next())
        var incoming = serverConnection.incomingStreams.makeAsyncIterator()
        var pairs: [(client: QUICStream, server: QUICStream)] = []
        for stream in clientStreams {
            let serverStream = try #require(await incoming.next())
            #expect(try await serverStream.read() == ByteBuffer(string: "hello"))
            pairs.append((stream, serverStream))
        }
        return ConnectedStreams(server: server, client: client, connection: connection, pairs: pairs)
    }

    func close() async {
        connection.close()
        await client.close()
        await server.close()
    }
}
