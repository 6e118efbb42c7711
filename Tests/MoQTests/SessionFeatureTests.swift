import MoQ
import MoQWire
import NIOConcurrencyHelpers
import NIOCore
import QUIC
import TestSupport
import Testing

/// GOAWAY, PROBE and DATAGRAM, between our own client and server and against the reference.
@Suite(.timeLimit(.minutes(1)))
struct SessionFeatureTests {
    @Test func goawayReachesThePeer() async throws {
        let received = ManagedValue<String?>(nil)
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost"])
        let endpoint = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: MoQServer.alpn(), identity: identity))
        let server = MoQServer(endpoint: endpoint)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await server.run { session in
                    for _ in 0..<200 where session.receivedGoaway == nil {
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    received.set(session.receivedGoaway)
                }
            }
            let configuration = MoQClient.Configuration(verification: .pinnedSHA256([identity.fingerprintSHA256]))
            try await MoQClient.withSession(
                url: "moqt://127.0.0.1:\(endpoint.localAddress.port!)/", configuration: configuration
            ) { session in
                try await session.goaway(newSessionURI: "moqt://elsewhere:4443/")
                for _ in 0..<200 where received.value == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            await endpoint.close()
            group.cancelAll()
        }
        #expect(received.value == "moqt://elsewhere:4443/")
    }

    @Test func probeIsAnsweredWithAReport() async throws {
        try await withOurServer(versions: [.lite06]) { url, pin, _ in
            let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
            let connection = try await endpoint.connect(
                host: "127.0.0.1", port: try MoQURL(url).port,
                configuration: QUICClientConfiguration(
                    alpn: ["moq-lite-06"], verification: .pinnedSHA256([hexBytes(pin)!])))
            // As the reference does: open PROBE and send only the stream type.
            let stream = try await connection.openBidirectionalStream()
            var type = ByteBuffer()
            type.writeQUICVarint(BidiStreamType.probe.rawValue)
            try await stream.write(type)
            var reply = try #require(try await withTimeout(.seconds(10), "probe report") { try await stream.read() })
            let probe = try #require(try Probe.decode(from: &reply, version: .lite06, limits: .standard))
            #expect(probe.bitrate > 0)
            connection.close()
            await endpoint.close()
        }
    }

    @Test(arguments: [MoQVersion.lite06, .lite05])
    func datagramsFromTheReferenceArrive(version: MoQVersion) async throws {
        let peer = try await ReferencePeer.server([
            "--publish", "demo", "--track", "data", "--groups", "2", "--frames-per-group", "1", "--interval-ms", "40",
            "--datagrams", "6", "--datagram-size", "500", "--wait-subscriber",
        ])
        defer { peer.process.terminate() }
        let datagrams = try await withTimeout(.seconds(40), "datagrams") {
            try await MoQClient.withSession(url: peer.url, configuration: peer.clientConfiguration(versions: [version]))
            { session in
                var announcements = session.announcements().makeAsyncIterator()
                _ = await announcements.next()
                let subscription = session.subscribe(broadcast: "demo", track: "data")
                var indexes: [Int] = []
                for try await group in subscription.track {
                    for try await frame in group {
                        let bytes = Array(frame.payload.readableBytesView)
                        // Datagram payloads start with "d<index>" (moq_ref_payload.py).
                        if bytes.first == UInt8(ascii: "d"),
                            let index = Int(String(decoding: bytes[1..<9], as: UTF8.self))
                        {
                            #expect(
                                bytes
                                    == ReferencePayload.make(
                                        group: UInt64(index), frame: 0, size: bytes.count, kind: "d"))
                            indexes.append(index)
                        }
                    }
                    if indexes.count >= 6 { break }
                }
                return indexes
            }
        }
        #expect(datagrams.count >= 6)
    }
}

final class ManagedValue<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>
    init(_ value: Value) { box = NIOLockedValueBox(value) }
    func set(_ value: Value) { box.withLockedValue { $0 = value } }
    var value: Value { box.withLockedValue { $0 } }
}
