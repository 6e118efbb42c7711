/// The status byte of a lite-04/05 ANNOUNCE.
public enum AnnounceStatus: UInt8, Sendable, Hashable, CaseIterable {
    case ended = 0
    case active = 1
    /// The broadcast was replaced; treat it as a new route.
    case restart = 2
}
