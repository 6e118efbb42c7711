import NIOConcurrencyHelpers

/// TLS session tickets a client keeps per server, so a later connection resumes (a shorter handshake).
///
/// One cache may be shared by many endpoints and tasks; it holds the newest ticket per server key.
public final class QUICSessionCache: Sendable {
    private let tickets = NIOLockedValueBox<[String: [UInt8]]>([:])

    public init() {}

    func store(_ ticket: [UInt8], for key: String) { tickets.withLockedValue { $0[key] = ticket } }
    func ticket(for key: String) -> [UInt8]? { tickets.withLockedValue { $0[key] } }
    /// Number of servers with a stored ticket.
    public var count: Int { tickets.withLockedValue { $0.count } }
}
