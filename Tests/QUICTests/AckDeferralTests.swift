import NIOCore
import Testing

@testable import QUIC

/// ACKs of a connection that only receives: every second packet or after max_ack_delay, not every read.
@Suite(.timeLimit(.minutes(1)))
struct AckDeferralTests {
    static let millisecond: UInt64 = 1_000_000

    @Test func everySecondPacketOfASteadyStreamWaits() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var deferred: [Bool] = []
        for index in 1...6 {
            let now = UInt64(index) * 10 * Self.millisecond
            let waits = policy.deferAcknowledgement(at: now) { true }
            deferred.append(waits)
            if waits {
                #expect(policy.deadline == now + 24 * Self.millisecond)
            } else {
                policy.wrote()  // the packet is acknowledged in the write pass it asked for
                #expect(policy.deadline == nil)
            }
        }
        // The first packet has no predecessor to judge the rate by; from then on they alternate.
        #expect(deferred == [false, true, false, true, false, true])
    }

    @Test func packetsFartherApartThanHalfTheDelayAreAcknowledgedAtOnce() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        for index in 1...5 {
            #expect(!policy.deferAcknowledgement(at: UInt64(index) * 13 * Self.millisecond) { true })
        }
    }

    /// 30 bursts of 40 packets 50 us apart, 33 ms between bursts: nothing waits, so the last packet of a
    /// burst does not leave an ACK for the timer.
    @Test func packetsOfABurstAreAcknowledgedWithTheirRead() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        for burst in 0..<30 {
            for packet in 0..<40 {
                let now = 1 + UInt64(burst) * 33 * Self.millisecond + UInt64(packet) * 50_000
                #expect(!policy.deferAcknowledgement(at: now) { true })
            }
        }
    }

    @Test func aConnectionWithDataInFlightOrNoDelayNeverWaits() {
        var sending = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var zero = AckDeferral(maxAckDelay: 0)
        for index in 1...5 {
            let now = UInt64(index) * 2 * Self.millisecond
            #expect(!sending.deferAcknowledgement(at: now) { false })
            #expect(!zero.deferAcknowledgement(at: now) { true })
        }
    }

    @Test func theCostlyQuestionIsAskedOnlyWhenTheCheapOnesPass() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var asked = 0
        func ask() -> Bool {
            asked += 1
            return true
        }
        let first = policy.deferAcknowledgement(at: 1 * Self.millisecond, receiveOnly: ask)
        #expect(!first && asked == 0)  // no previous packet yet
        let inBurst = policy.deferAcknowledgement(at: 1 * Self.millisecond + 10_000, receiveOnly: ask)
        #expect(!inBurst && asked == 0)
        let steady = policy.deferAcknowledgement(at: 5 * Self.millisecond, receiveOnly: ask)
        #expect(steady && asked == 1)
        let whileWaiting = policy.deferAcknowledgement(at: 9 * Self.millisecond, receiveOnly: ask)
        #expect(!whileWaiting && asked == 1)  // an ACK already waits
    }

    /// A client writes small chunks on a unidirectional stream every 2 ms; the echo server only reads until
    /// the FIN. Acknowledging every packet, the server would send one ACK per chunk (and ngtcp2 a PING with
    /// every second one, which the client answers); with deferral about one per two. All bytes arrive.
    @Test func aServerThatOnlyReadsAcknowledgesAboutEverySecondPacket() async throws {
        try await withEchoServer { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            let chunks = 100
            let payload = patternBytes(chunks * 200)
            let stream = try await connection.openUnidirectionalStream()
            try await stream.write(payload.getSlice(at: 0, length: 200)!)
            try await Task.sleep(for: .milliseconds(50))
            let before = await server.statistics()
            for index in 1..<chunks {
                try await Task.sleep(for: .milliseconds(2))
                try await stream.write(payload.getSlice(at: index * 200, length: 200)!)
            }
            try await Task.sleep(for: .milliseconds(50))
            let after = await server.statistics()
            let received = after.datagramsReceived - before.datagramsReceived
            let sent = after.datagramsSent - before.datagramsSent
            #expect(received >= chunks - 1)
            #expect(sent * 4 <= received * 3, "server sent \(sent) datagrams for \(received) received")
            #expect(sent * 4 >= received, "server sent \(sent) datagrams for \(received) received")
            try await stream.finish()
            let reply = try #require(await connection.incomingStreams.first { _ in true })
            #expect(try await reply.readAll(limit: payload.readableBytes + 1) == payload)
            connection.close(code: 0)
            await client.close()
        }
    }
}
