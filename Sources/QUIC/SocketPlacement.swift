import Synchronization

/// Which of an endpoint's sockets takes a new connection. A connection lives on one socket's event loop for
/// good; a relay forwarding a frame to connections on two loops wakes both, so a small fan-out is cheaper
/// on one loop, and a large one needs them all.
public enum QUICSocketPlacement: Sendable, Equatable {
    /// The socket the kernel steered the client's first packet to, by its random connection ID: at random.
    case steered
    /// The first socket while the endpoint holds fewer than `upTo` connections; after that the socket holding
    /// the fewest. `.packed(upTo: 0)` always picks the socket holding the fewest.
    case packed(upTo: Int)

    /// The socket for a new connection whose first packet reached socket `receiver`, given the connections
    /// each socket holds. A tie goes to `receiver`, which then needs no hand-off.
    func owner(receivedOn receiver: Int, holding counts: [Int]) -> Int {
        guard case .packed(let upTo) = self, counts.indices.contains(receiver) else { return receiver }
        if counts.reduce(0, +) < upTo { return 0 }
        var fewest = receiver
        for (socket, count) in counts.enumerated() where count < counts[fewest] { fewest = socket }
        return fewest
    }
}

/// The connections each socket of an endpoint holds, written by each socket's loop and read by the others
/// when they place a new connection.
final class SocketLoads: Sendable {
    private let counts: [Counter]

    init(sockets: Int) { counts = (0..<sockets).map { _ in Counter() } }

    func set(_ socket: Int, connections: Int) { counts[socket].value.store(connections, ordering: .relaxed) }

    var snapshot: [Int] { counts.map { $0.value.load(ordering: .relaxed) } }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}
