import NIOCore
import Testing

@testable import QUIC

/// ACKs of a connection that only receives (every second packet or after max_ack_delay, not every read) and
/// of one that sends stream data steadily (with its next data).
@Suite(.timeLimit(.minutes(1)))
struct AckDeferralTests {
    static let millisecond: UInt64 = 1_000_000

    @Test func everySecondPacketOfASteadyStreamWaits() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var deferred: [Bool] = []
        for index in 1...6 {
            let now = UInt64(index) * 10 * Self.millisecond
            let waits = policy.deferAcknowledgement(at: now, canWait: true) { true }
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
            #expect(!policy.deferAcknowledgement(at: UInt64(index) * 13 * Self.millisecond, canWait: true) { true })
        }
    }

    /// 30 bursts of 40 packets 50 us apart, 33 ms between bursts: nothing waits, so the last packet of a
    /// burst does not leave an ACK for the timer.
    @Test func packetsOfABurstAreAcknowledgedWithTheirRead() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        for burst in 0..<30 {
            for packet in 0..<40 {
                let now = 1 + UInt64(burst) * 33 * Self.millisecond + UInt64(packet) * 50_000
                #expect(!policy.deferAcknowledgement(at: now, canWait: true) { true })
            }
        }
    }

    @Test func aConnectionWithDataInFlightOrNoDelayNeverWaits() {
        var sending = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var zero = AckDeferral(maxAckDelay: 0)
        for index in 1...5 {
            let now = UInt64(index) * 2 * Self.millisecond
            #expect(!sending.deferAcknowledgement(at: now, canWait: true) { false })
            #expect(!zero.deferAcknowledgement(at: now, canWait: true) { true })
        }
    }

    @Test func theCostlyQuestionIsAskedOnlyWhenTheCheapOnesPass() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var asked = 0
        func ask() -> Bool {
            asked += 1
            return true
        }
        let first = policy.deferAcknowledgement(at: 1 * Self.millisecond, canWait: true, receiveOnly: ask)
        #expect(!first && asked == 0)  // no previous packet yet
        let inBurst = policy.deferAcknowledgement(at: 1 * Self.millisecond + 10_000, canWait: true, receiveOnly: ask)
        #expect(!inBurst && asked == 0)
        let steady = policy.deferAcknowledgement(at: 5 * Self.millisecond, canWait: true, receiveOnly: ask)
        #expect(steady && asked == 1)
        let whileWaiting = policy.deferAcknowledgement(at: 9 * Self.millisecond, canWait: true, receiveOnly: ask)
        #expect(!whileWaiting && asked == 1)  // an ACK already waits
    }

    /// A relay forwards a frame every 10 ms; the subscriber's packet (its ACK, every other one with a PING)
    /// arrives half a millisecond after each. From the second frame on, the ACK waits for the next frame.
    @Test func aSteadySendersAcknowledgementsWaitForItsNextData() {
        var policy = AckDeferral(maxAckDelay: 25 * Self.millisecond)
        var deferred: [Bool] = []
        for index in 1...5 {
            let sentAt = UInt64(index) * 10 * Self.millisecond
            policy.wrote()
            policy.sentStreamData(at: sentAt)
            let arrival = sentAt + Self.millisecond / 2
            let waits = policy.deferAcknowledgement(at: arrival, canWait: true) { false }
            deferred.append(waits)
            if waits { #expect(policy.deadline == arrival + 24 * Self.millisecond) }
        }
        #expect(deferred == [false, true, true, true, true])
    }

    @Test func aSenderThatPausesBurstsOrHasDataQueuedAcknowledgesAtOnce() {
        let ms = Self.millisecond
        // Frames 40 ms apart: the next one would come after the deadline.
        var slow = AckDeferral(maxAckDelay: 25 * ms)
        for index in 1...4 { slow.sentStreamData(at: UInt64(index) * 40 * ms) }
        #expect(!slow.deferAcknowledgement(at: 160 * ms + ms / 2, canWait: true) { false })
        // Write passes in one burst count as one: no rate is known.
        var burst = AckDeferral(maxAckDelay: 25 * ms)
        for index in 1...20 { burst.sentStreamData(at: 5 * ms + UInt64(index) * 100_000) }
        #expect(!burst.deferAcknowledgement(at: 8 * ms, canWait: true) { false })
        // Steady until 10 ms ago, then silent for longer than half the delay.
        var paused = AckDeferral(maxAckDelay: 25 * ms)
        for index in 1...4 { paused.sentStreamData(at: UInt64(index) * 10 * ms) }
        #expect(!paused.deferAcknowledgement(at: 53 * ms, canWait: true) { false })
        // Steady, but data waits to be sent (or the packet was not read cleanly): the pass goes now.
        var queued = AckDeferral(maxAckDelay: 25 * ms)
        for index in 1...4 { queued.sentStreamData(at: UInt64(index) * 10 * ms) }
        #expect(!queued.deferAcknowledgement(at: 41 * ms, canWait: false) { true })
        #expect(queued.deferAcknowledgement(at: 42 * ms, canWait: true) { false })
    }

    /// A client writes a small chunk every 10 ms (a 100 frames/s publisher) to a server that only reads. The
    /// server's ACK-only packets carry a PING every other time (ngtcp2); the client acknowledges those with
    /// its next chunk instead of an ACK-only packet of its own: one datagram per chunk, not a quarter more
    /// (124 for 99 chunks without this rule, 100 with it).
    @Test func aSteadySenderAcknowledgesWithItsData() async throws {
        let counts = try await Self.upload(chunkEvery: .milliseconds(10))
        let pings = counts.serverSent / 2
        #expect(counts.clientSent >= Self.chunks - 1)
        // Before: one ACK-only reply per PING on top of the chunks.
        #expect(
            counts.clientSent < Self.chunks - 1 + pings / 2,
            "client sent \(counts.clientSent) datagrams for \(Self.chunks - 1) chunks")
    }

    /// A client writes small chunks on a unidirectional stream every 2 ms; the echo server only reads until
    /// the FIN. Acknowledging every packet, the server would send one ACK per chunk (and ngtcp2 a PING with
    /// every second one, which the client answers); with deferral about one per two. All bytes arrive.
    @Test func aServerThatOnlyReadsAcknowledgesAboutEverySecondPacket() async throws {
        let counts = try await Self.upload(chunkEvery: .milliseconds(2))
        let (sent, received) = (counts.serverSent, counts.serverReceived)
        #expect(received >= Self.chunks - 1)
        #expect(sent * 4 <= received * 3, "server sent \(sent) datagrams for \(received) received")
        #expect(sent * 4 >= received, "server sent \(sent) datagrams for \(received) received")
    }

    static let chunks = 100

    /// Writes `chunks` chunks of 200 bytes on a unidirectional stream to the echo server, `chunkEvery`
    /// apart, checks the echo, and returns the datagrams counted while chunks 2 to `chunks` went out.
    static func upload(chunkEvery interval: Duration) async throws -> (
        clientSent: Int, serverSent: Int, serverReceived: Int
    ) {
        try await withEchoServer { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            let payload = patternBytes(chunks * 200)
            let stream = try await connection.openUnidirectionalStream()
            try await stream.write(payload.getSlice(at: 0, length: 200)!)
            try await Task.sleep(for: .milliseconds(50))
            let clientBefore = await client.statistics()
            let serverBefore = await server.statistics()
            for index in 1..<chunks {
                try await Task.sleep(for: interval)
                try await stream.write(payload.getSlice(at: index * 200, length: 200)!)
            }
            try await Task.sleep(for: .milliseconds(50))
            let clientAfter = await client.statistics()
            let serverAfter = await server.statistics()
            try await stream.finish()
            let reply = try #require(await connection.incomingStreams.first { _ in true })
            #expect(try await reply.readAll(limit: payload.readableBytes + 1) == payload)
            connection.close(code: 0)
            await client.close()
            return (
                Int(clientAfter.datagramsSent - clientBefore.datagramsSent),
                Int(serverAfter.datagramsSent - serverBefore.datagramsSent),
                Int(serverAfter.datagramsReceived - serverBefore.datagramsReceived)
            )
        }
    }
}
