/// `X-Backpressure-Advice` (§3.4) from real load: the gateway's requests in flight against its budget,
/// the bytes its feeds retain against theirs, and the transmission's own waiting long-polls.
public enum BackpressureAdvice: String, Sendable, Comparable {
    case none, low, medium, high, stop

    private var rank: Int { [.none, .low, .medium, .high, .stop].firstIndex(of: self)! }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

    /// The advice for the highest of the load ratios (each 0 = idle, 1 = at the limit).
    public static func compute(ratios: [Double]) -> BackpressureAdvice {
        let load = ratios.max() ?? 0
        switch load {
        case ..<0.1: return .none
        case ..<0.5: return .low
        case ..<0.75: return .medium
        case ..<1.0: return .high
        default: return .stop
        }
    }
}
