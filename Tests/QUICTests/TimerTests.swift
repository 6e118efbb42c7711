import NIOCore
import Testing

@testable import QUIC

/// The endpoint's timer: one deadline heap behind a timerfd that moves both ways.
@Suite(.timeLimit(.minutes(1)))
struct TimerTests {
    final class Holder: DeadlineHolder {
        let name: Int
        var timerSlot = -1
        var timerDeadline: UInt64 = .max
        init(_ name: Int) { self.name = name }
    }

    /// Random sets, moves (both ways) and removals against a plain dictionary; every pop comes out in
    /// deadline order and exactly the due holders come out.
    @Test func deadlineHeapMatchesAModel() {
        var random = Xorshift(seed: 42)
        let holders = (0..<64).map(Holder.init)
        var heap = DeadlineHeap<Holder>()
        var model: [Int: UInt64] = [:]
        var now: UInt64 = 1_000
        for step in 0..<20_000 {
            let holder = holders[Int(random.next() % 64)]
            switch random.next() % 4 {
            case 0:
                heap.remove(holder)
                model[holder.name] = nil
            default:
                let deadline = now + random.next() % 5_000
                heap.set(holder, to: deadline)
                model[holder.name] = deadline
            }
            #expect(heap.count == model.count)
            #expect(heap.earliest == model.values.min() ?? .max)
            if step % 50 == 0 {
                now += 1_000
                var popped: [UInt64] = []
                while let due = heap.popDue(now: now) {
                    popped.append(model.removeValue(forKey: due.name)!)
                    #expect(due.timerSlot == -1)
                }
                #expect(popped == popped.sorted())
                #expect(model.values.allSatisfy { $0 > now })
            }
        }
    }

    /// Request/response with pauses longer than a loss-detection timeout: every reply arms the server's PTO
    /// and every ACK pushes it out again. With NIO's timers each push left a wake-up at the old deadline (at
    /// least one per round trip, plus one per pacing interval started after the reply); here the timerfd
    /// moves, an ACK goes out with the reply, and an idle connection starts no pacing interval for up to two
    /// packets' bytes: a handful of wake-ups for 30 round trips.
    @Test func deadlinesPushedLaterDoNotWakeTheLoop() async throws {
        var transport = QUICTransportConfiguration()
        transport.maxAckDelay = .zero
        try await withEchoServer(transport: transport) { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            let payload = patternBytes(512)
            #expect(try await echoRoundTrip(connection, payload) == payload)
            let before = await server.statistics().timerWakeups
            for _ in 0..<30 {
                try await Task.sleep(for: .milliseconds(40))
                #expect(try await echoRoundTrip(connection, payload) == payload)
            }
            let wakeups = await server.statistics().timerWakeups - before
            #expect(wakeups <= 10, "server timer woke \(wakeups) times for 30 round trips")
            connection.close(code: 0)
            await client.close()
        }
    }

    /// One 1000-byte message every 5 ms on one stream, each echoed in one packet: every third reply used to start a
    /// pacing interval of a few microseconds (ngtcp2 would send its next packet at once anyway) and the timer
    /// woke up at the next millisecond with nothing to send, 20 wake-ups for 60 messages. Now almost none.
    @Test func aPacingTimeNgtcp2WouldNotWaitForDoesNotWakeTheLoop() async throws {
        try await withEchoServer { server in
            let client = try await makeClient()
            let connection = try await client.connect(
                host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
            let stream = try await connection.openBidirectionalStream()
            let message = patternBytes(1000)
            var received = ByteBuffer()
            func exchange() async throws {
                try await stream.write(message)
                while received.readableBytes < message.readableBytes, let chunk = try await stream.read() {
                    received.writeImmutableBuffer(chunk)
                }
                #expect(received.readSlice(length: message.readableBytes) == message)
            }
            try await exchange()
            let before = await server.statistics().timerWakeups
            for _ in 0..<60 {
                try await Task.sleep(for: .milliseconds(5))
                try await exchange()
            }
            let wakeups = await server.statistics().timerWakeups - before
            #expect(wakeups <= 6, "server timer woke \(wakeups) times for 60 echoed messages")
            connection.close(code: 0)
            await client.close()
        }
    }
}

/// A fixed-seed xorshift64, so a failure reproduces.
struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
