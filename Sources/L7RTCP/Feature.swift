/// An L7RTCP feature token (§3.2): negotiated at init, enabled = `core` ∪ (requested ∩ implemented), in
/// canonical order. Unknown tokens are ignored for forward compatibility (a deliberate PoC deviation).
public enum Feature: String, Sendable, Codable, CaseIterable, Comparable {
    case core, resend, ttl, backpressure, multistream, pull, pause, stateless, fec, metrics

    /// What this gateway implements (fec is accepted but never enabled).
    public static let implemented: Set<Feature> = [
        .core, .resend, .ttl, .backpressure, .multistream, .pull, .pause, .stateless, .metrics,
    ]

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: Feature, rhs: Feature) -> Bool { lhs.rank < rhs.rank }

    /// The enabled set for a requested list: core first, canonical order, unknown and unimplemented dropped.
    public static func negotiate(_ requested: [String]) -> [Feature] {
        var enabled: Set<Feature> = [.core]
        for token in requested {
            if let feature = Feature(rawValue: token), implemented.contains(feature) { enabled.insert(feature) }
        }
        return enabled.sorted()
    }

    /// `X-Features-Enabled`: comma-separated, no spaces.
    public static func headerValue(_ features: [Feature]) -> String {
        features.map(\.rawValue).joined(separator: ",")
    }
}
