import NIOConcurrencyHelpers
import Testing

@testable import QUIC

/// `Arrivals` hands what a peer opens to one consumer, in order, whether it came before or after the
/// consumer chose between the stream and a handler.
@Suite struct ArrivalsTests {
    @Test func aHandlerGetsWhatCameBeforeThenWhatComesAfterThenTheEnd() {
        let arrivals = Arrivals<Int>()
        #expect(arrivals.add(1))
        #expect(arrivals.add(2))
        let seen = NIOLockedValueBox<[Int?]>([])
        arrivals.deliver { value in seen.withLockedValue { $0.append(value) } }
        #expect(arrivals.add(3))
        arrivals.finish()
        #expect(!arrivals.add(4))
        arrivals.finish()  // once only
        #expect(seen.withLockedValue { $0 } == [1, 2, 3, nil])
    }

    @Test func aHandlerThatComesAfterTheEndGetsWhatCameThenTheEnd() {
        let arrivals = Arrivals<Int>()
        arrivals.add(1)
        arrivals.finish()
        let seen = NIOLockedValueBox<[Int?]>([])
        arrivals.deliver { value in seen.withLockedValue { $0.append(value) } }
        #expect(seen.withLockedValue { $0 } == [1, nil])
    }

    @Test func theStreamGetsWhatCameBeforeAndFinishes() async {
        let arrivals = Arrivals<Int>()
        arrivals.add(1)
        let stream = arrivals.stream
        arrivals.add(2)
        arrivals.finish()
        var seen: [Int] = []
        for await value in stream { seen.append(value) }
        #expect(seen == [1, 2])
        // The consumer was chosen: a later handler gets nothing.
        let late = NIOLockedValueBox(0)
        arrivals.deliver { _ in late.withLockedValue { $0 += 1 } }
        #expect(late.withLockedValue { $0 } == 0)
    }

    @Test func afterAHandlerTheStreamIsEmptyAndFinished() async {
        let arrivals = Arrivals<Int>()
        arrivals.deliver { _ in }
        arrivals.add(1)
        var count = 0
        for await _ in arrivals.stream { count += 1 }
        #expect(count == 0)
    }
}
