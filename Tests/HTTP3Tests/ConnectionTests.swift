import HTTP3
import NIOCore
import QUIC
import TestSupport
import Testing

/// Our HTTP/3 client against our HTTP/3 server: requests, WebTransport sessions, streams, datagrams,
/// close and GOAWAY.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ConnectionTests {
    /// Echoes every bidi stream, answers each uni stream with a uni stream carrying its bytes reversed,
    /// echoes datagrams; records how the session ended.
    static func echoHandler(ended: AsyncStream<(UInt32, String)>.Continuation? = nil) -> HTTP3ServerHandler {
        HTTP3ServerHandler(
            webTransportProtocols: ["moq-lite-04", "moq-lite-06"],
            respond: { request in
                HTTP3Response(
                    status: 200, text: "\(request.method) \(request.path ?? "") \(request.body.readableBytes)\n")
            },
            session: { session in
                await withDiscardingTaskGroup { group in
                    group.addTask {
                        for await datagram in session.incomingDatagrams { session.sendDatagram(datagram) }
                    }
                    for await stream in session.incomingStreams {
                        group.addTask {
                            guard let data = try? await readAll(stream) else { return }
                            if stream.isUnidirectional {
                                let reply = try? await session.openUnidirectionalStream()
                                try? await reply?.write(ByteBuffer(bytes: data.readableBytesView.reversed()))
                                try? await reply?.finish()
                            } else {
                                try? await stream.write(data)
                                try? await stream.finish()
                            }
                        }
                    }
                    ended?.yield(await session.closed())
                }
            })
    }

    @Test func getAndPost() async throws {
        try await withHTTP3Server(Self.echoHandler()) { server in
            try await withHTTP3Client(server) { client in
                let get = try await client.request(HTTP3Request(method: "GET", authority: "localhost", path: "/health"))
                #expect(get.status == 200)
                #expect(String(buffer: get.body) == "GET /health 0\n")
                #expect(get.fields["content-type"] == "text/plain; charset=utf-8")
                let post = try await client.request(
                    HTTP3Request(
                        method: "POST", authority: "localhost", path: "/x", body: ByteBuffer(repeating: 7, count: 5000))
                )
                #expect(String(buffer: post.body) == "POST /x 5000\n")
                #expect(client.peerSettings?.supportsWebTransport == true)
            }
        }
    }

    @Test func webTransportSessionStreamsDatagramsAndClose() async throws {
        let (ended, endedSink) = AsyncStream.makeStream(of: (UInt32, String).self)
        try await withHTTP3Server(Self.echoHandler(ended: endedSink)) { server in
            try await withHTTP3Client(server) { client in
                // Client preference decides: it prefers 06 over 04, the server lists 04 first.
                let session = try await client.webTransport(
                    authority: "127.0.0.1", path: "/room?jwt=x", protocols: ["moq-lite-06", "moq-lite-04"])
                #expect(session.negotiatedProtocol == "moq-lite-06")
                #expect(session.id == 0)

                let payload = ByteBuffer(bytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
                let bidi = try await session.openBidirectionalStream()
                try await bidi.write(payload)
                try await bidi.finish()
                #expect(try await readAll(bidi) == payload)

                // A stream finished before any write still carries its header: the server sees it, empty.
                let empty = try await session.openBidirectionalStream()
                try await empty.finish()
                #expect(try await readAll(empty).readableBytes == 0)

                let uni = try await session.openUnidirectionalStream()
                try await uni.write(ByteBuffer(string: "abcdef"))
                try await uni.finish()
                var incoming = session.incomingStreams.makeAsyncIterator()
                let reply = try #require(await incoming.next())
                #expect(reply.isUnidirectional)
                #expect(String(buffer: try await readAll(reply)) == "fedcba")

                let echoed = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                    group.addTask {
                        for attempt in 0..<50 {
                            session.sendDatagram(ByteBuffer(string: "ping \(attempt)"))
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        return nil
                    }
                    group.addTask {
                        for await datagram in session.incomingDatagrams { return datagram }
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next()!
                }
                #expect(echoed.map { String(buffer: $0).hasPrefix("ping ") } == true)

                session.close(code: 7, reason: "bye")
                var endings = ended.makeAsyncIterator()
                let end = await endings.next()
                #expect(end?.0 == 7 && end?.1 == "bye")
            }
        }
    }

    @Test func serverGoawayStopsNewRequests() async throws {
        let handler = HTTP3ServerHandler(
            webTransportProtocols: ["p"],
            session: { session in
                try? await session.connection.goaway()
                _ = await session.closed()
            })
        try await withHTTP3Server(handler) { server in
            try await withHTTP3Client(server) { client in
                let session = try await client.webTransport(authority: "127.0.0.1", path: "/", protocols: ["p"])
                var waited = 0
                while client.goawayReceived == nil, waited < 100 {
                    try await Task.sleep(for: .milliseconds(20))
                    waited += 1
                }
                // The server names the first request it will not serve: CONNECT was stream 0, so 4.
                #expect(client.goawayReceived == 4)
                await #expect(throws: (any Error).self) {
                    _ = try await client.request(HTTP3Request(method: "GET", authority: "localhost", path: "/late"))
                }
                session.close()
            }
        }
    }
}
