/// The moq-lite drafts this codec speaks; each is negotiated by its ALPN / WebTransport protocol string.
public enum MoQVersion: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case lite04 = 4
    case lite05 = 5
    case lite06 = 6

    /// What a server picks from on raw QUIC, best first (the reference prefers the newest).
    public static let serverPreference: [MoQVersion] = [.lite06, .lite05, .lite04]

    /// The ALPN and `wt-protocol` identifier, e.g. "moq-lite-06".
    public var alpn: String {
        switch self {
        case .lite04: "moq-lite-04"
        case .lite05: "moq-lite-05"
        case .lite06: "moq-lite-06"
        }
    }

    /// The version named by an ALPN / `wt-protocol` identifier, or nil when we do not speak it.
    public init?(alpn: String) {
        guard let version = Self.allCases.first(where: { $0.alpn == alpn }) else { return nil }
        self = version
    }

    public var description: String { alpn }

    public static func < (lhs: MoQVersion, rhs: MoQVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}
