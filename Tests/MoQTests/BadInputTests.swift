import MoQ
import MoQWire
import NIOCore
import QUIC
import TestSupport
import Testing

/// A peer that speaks broken moq-lite: each mistake ends its stream with the right code and the session
/// carries on (the same connection still subscribes afterwards).
@Suite(.timeLimit(.minutes(1)))
struct MoQBadInputTests {
    /// Our server publishing `demo/data` (one group, one frame), and a raw QUIC connection to it on lite-06.
    func withRawConnection(_ body: @Sendable (QUICConnection) async throws -> Void) async throws {
        let origin = Origin()
        let broadcast = BroadcastProducer(path: "demo")
        let group = broadcast.createTrack("data").appendGroup()
        group.write(ByteBuffer(string: "hello"))
        group.finish()
        origin.publish(broadcast)
        try await withOurServer(versions: [.lite06], origin: origin) { url, pin, _ in
            let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
            let port = try MoQURL(url).port
            let connection = try await endpoint.connect(
                host: "127.0.0.1", port: port,
                configuration: QUICClientConfiguration(
                    alpn: ["moq-lite-06"], verification: .pinnedSHA256([hexBytes(pin)!])))
            // lite-05+ peers send SETUP first: the server serves nothing before it.
            let setup = try await connection.openUnidirectionalStream()
            var buffer = ByteBuffer()
            buffer.writeQUICVarint(UniStreamType.setup.rawValue)
            Setup(parameters: []).encode(into: &buffer, version: .lite06)
            try await setup.write(buffer, finish: true)
            try await body(connection)
            connection.close()
            await endpoint.close()
        }
    }

    @Test func aPeerThatNeverSendsSetupIsClosedWithTimeout() async throws {
        try await withOurServer(versions: [.lite06], setupTimeout: .milliseconds(500)) { url, pin, _ in
            let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
            let connection = try await endpoint.connect(
                host: "127.0.0.1", port: try MoQURL(url).port,
                configuration: QUICClientConfiguration(
                    alpn: ["moq-lite-06"], verification: .pinnedSHA256([hexBytes(pin)!])))
            let closed = try await withTimeout(.seconds(10), "close") { await connection.closed() }
            #expect(closed.kind == .application && closed.byPeer)
            #expect(closed.code == SessionErrorCode.timeout.rawValue)
            await endpoint.close()
        }
    }

    /// Sends raw bytes on a new bidirectional stream and returns how the server ended its side.
    func exchange(_ connection: QUICConnection, _ bytes: [UInt8], finish: Bool = true) async throws -> Result<
        ByteBuffer, QUICStreamError
    > {
        let stream = try await connection.openBidirectionalStream()
        try await stream.write(ByteBuffer(bytes: bytes), finish: finish)
        do {
            return .success(
                try await withTimeout(.seconds(10), "server answer") { try await stream.readAll(limit: 1 << 20) })
        } catch let error as QUICStreamError {
            return .failure(error)
        }
    }

    /// A valid SUBSCRIBE to demo/data: the session still works.
    func subscribeWorks(_ connection: QUICConnection) async throws -> Bool {
        let stream = try await connection.openBidirectionalStream()
        var request = ByteBuffer()
        request.writeQUICVarint(BidiStreamType.subscribe.rawValue)
        Subscribe(
            id: 9, broadcast: "demo", track: "data", priority: 0, ordered: false, maxLatencyMs: 0, startGroup: nil,
            endGroup: nil, startFrame: 0, endFrame: nil
        ).encode(into: &request, version: .lite06)
        try await stream.write(request)
        guard var reply = try await withTimeout(.seconds(10), "SUBSCRIBE_START", { try await stream.read() }) else {
            return false
        }
        let response = try SubscribeResponse.decode(from: &reply, version: .lite06, limits: .standard)
        stream.reset(code: 0)
        return response == .start(group: 0)
    }

    static func mapped(_ code: StreamErrorCode) -> QUICStreamError {
        .reset(code: StreamErrorCode.toWire(code.rawValue))
    }

    @Test func unknownStreamTypeIsResetAndTheSessionGoesOn() async throws {
        try await withRawConnection { (connection: QUICConnection) async throws in
            #expect(try await exchange(connection, [0x3f, 1, 2, 3]) == .failure(Self.mapped(.cancel)))
            #expect(try await subscribeWorks(connection))
        }
    }

    @Test func messageLongerThanItsStreamIsMalformed() async throws {
        try await withRawConnection { (connection: QUICConnection) async throws in
            // SUBSCRIBE declaring 0x30 bytes of body, then FIN after 3.
            #expect(
                try await exchange(connection, [0x02, 0x30, 0x00, 0x01, 0x61]) == .failure(Self.mapped(.malformedTrack))
            )
            #expect(try await subscribeWorks(connection))
        }
    }

    @Test func lengthPastTheLimitIsRejectedBeforeReading() async throws {
        try await withRawConnection { (connection: QUICConnection) async throws in
            // A body length of 2^40 (8-byte varint): rejected at once, without waiting for the body.
            let huge: [UInt8] = [0xc0, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]
            #expect(
                try await exchange(connection, [0x02] + huge, finish: false) == .failure(Self.mapped(.malformedTrack)))
            #expect(try await subscribeWorks(connection))
        }
    }

    @Test func subscribeToAnUnknownTrackOrBroadcastIsRefused() async throws {
        try await withRawConnection { (connection: QUICConnection) async throws in
            func subscribe(_ broadcast: String, _ track: String) async throws -> Result<ByteBuffer, QUICStreamError> {
                var request = ByteBuffer()
                request.writeQUICVarint(BidiStreamType.subscribe.rawValue)
                Subscribe(
                    id: 1, broadcast: broadcast, track: track, priority: 0, ordered: false, maxLatencyMs: 0,
                    startGroup: nil,
                    endGroup: nil, startFrame: 0, endFrame: nil
                ).encode(into: &request, version: .lite06)
                return try await exchange(connection, Array(request.readableBytesView), finish: false)
            }
            #expect(try await subscribe("demo", "nope") == .failure(Self.mapped(.notFound)))
            #expect(try await subscribe("nowhere", "data") == .failure(Self.mapped(.unroutable)))
            #expect(try await subscribeWorks(connection))
        }
    }

    @Test func groupStreamClosedMidFrameAbortsOnlyThatGroup() async throws {
        // Our client subscribes to a raw publisher that ends a group stream in the middle of a frame.
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost"])
        let server = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: ["moq-lite-06"], identity: identity))
        let configuration = MoQClient.Configuration(
            verification: .pinnedSHA256([identity.fingerprintSHA256]), versions: [.lite06],
            session: MoQSessionConfiguration(announceInterest: nil))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The raw publisher: accept the SUBSCRIBE, answer START, send a group whose frame is cut off.
                var connections = server.incomingConnections.makeAsyncIterator()
                guard let connection = await connections.next() else { return }
                for await stream in connection.incomingStreams where !stream.isUnidirectional {
                    _ = try await stream.read()
                    var start = ByteBuffer()
                    SubscribeResponse.start(group: 0).encode(into: &start, version: .lite06)
                    try await stream.write(start)
                    let uni = try await connection.openUnidirectionalStream()
                    var bytes = ByteBuffer()
                    bytes.writeQUICVarint(UniStreamType.group.rawValue)
                    GroupHeader(subscribeID: 0, sequence: 0, frameStart: 0).encode(into: &bytes, version: .lite06)
                    FrameHeader(timestampDelta: 0, size: 100).encode(into: &bytes, version: .lite06)
                    bytes.writeString("only ten b")
                    try await uni.write(bytes, finish: true)
                    break
                }
            }
            try await MoQClient.withSession(
                url: "moqt://127.0.0.1:\(server.localAddress.port!)/", configuration: configuration
            ) { session in
                let subscription = session.subscribe(broadcast: "raw", track: "t")
                let outcome = try await withTimeout(.seconds(10), "the cut group") { () -> String in
                    for try await group in subscription.track {
                        do {
                            _ = try await group.collect()
                            return "complete"
                        } catch let error as MoQStreamError {
                            return "aborted \(error.code)"
                        }
                    }
                    return "no group"
                }
                #expect(outcome == "aborted \(StreamErrorCode.malformedTrack.rawValue)")
                #expect(session.transport is QUICTransport)
            }
            await server.close()
            try await group.waitForAll()
        }
    }
}
