import Testing

@testable import QUIC

/// The choice of socket for a new connection, without sockets.
@Suite struct SocketPlacementTests {
    @Test func steeredKeepsTheSocketTheKernelChose() {
        #expect(QUICSocketPlacement.steered.owner(receivedOn: 1, holding: [0, 500]) == 1)
    }

    @Test func packedFillsTheFirstSocketUpToItsLimit() {
        let placement = QUICSocketPlacement.packed(upTo: 256)
        #expect(placement.owner(receivedOn: 1, holding: [0, 0]) == 0)
        #expect(placement.owner(receivedOn: 2, holding: [255, 0, 0]) == 0)
        // The limit counts the endpoint's connections, wherever they are.
        #expect(placement.owner(receivedOn: 0, holding: [200, 56, 0]) == 2)
    }

    @Test func pastTheLimitTheSocketHoldingFewestTakesIt() {
        let placement = QUICSocketPlacement.packed(upTo: 256)
        #expect(placement.owner(receivedOn: 0, holding: [256, 3, 1]) == 2)
        // A tie stays on the socket that received the packet: no hand-off.
        #expect(placement.owner(receivedOn: 1, holding: [300, 4, 4]) == 1)
        #expect(QUICSocketPlacement.packed(upTo: 0).owner(receivedOn: 0, holding: [0, 0]) == 0)
        #expect(QUICSocketPlacement.packed(upTo: 0).owner(receivedOn: 0, holding: [1, 0]) == 1)
    }
}
