/// What a peer may do in a session: where its paths are rooted in the origin, and under which prefixes
/// (relative to that root) it may publish and subscribe. A relay derives it from the connection path and
/// the peer's token, as moq-relay does: `moqt://relay/room?jwt=...` sees `room/...` as its root.
public struct MoQSessionScope: Sendable, Equatable {
    /// Where the peer's paths live in the origin (normalized; "" is the origin's root).
    public var root: String
    /// Prefixes under `root` the peer may publish (announce) broadcasts; `[""]` is everything.
    public var publish: [String]
    /// Prefixes under `root` the peer may subscribe to and hear announced; `[""]` is everything.
    public var subscribe: [String]

    public init(root: String = "", publish: [String] = [""], subscribe: [String] = [""]) {
        self.root = MoQPath.normalize(root)
        self.publish = publish.map(MoQPath.normalize)
        self.subscribe = subscribe.map(MoQPath.normalize)
    }

    /// Everything, from the origin's root: what an app's own sessions and an open relay use.
    public static let unrestricted = MoQSessionScope()

    /// The origin path of a path the peer wrote.
    public func absolute(_ relative: String) -> String { MoQPath.join(root, MoQPath.normalize(relative)) }

    /// The peer's name for an origin path, or nil when the path lies outside the root.
    public func relative(_ absolute: String) -> String? { MoQPath.suffix(of: absolute, under: root) }

    /// Whether the peer may publish the broadcast it calls `relative`.
    public func mayPublish(_ relative: String) -> Bool { Self.covers(publish, MoQPath.normalize(relative)) }

    /// Whether the peer may read (and hear announced) the broadcast it calls `relative`.
    public func maySubscribe(_ relative: String) -> Bool { Self.covers(subscribe, MoQPath.normalize(relative)) }

    /// The prefixes to ask the peer for announcements under, given the app's interest (nil: none).
    /// A narrower grant narrows the request; a grant outside the interest is not asked for.
    public func announceRequests(interest: String?) -> [String] {
        guard let interest = interest.map(MoQPath.normalize) else { return [] }
        return publish.compactMap { granted in
            if MoQPath.has(granted, prefix: interest) { return granted }
            if MoQPath.has(interest, prefix: granted) { return interest }
            return nil
        }
        .reduce(into: [String]()) { kept, prefix in
            if !kept.contains(where: { MoQPath.has(prefix, prefix: $0) }) {
                kept.removeAll { MoQPath.has($0, prefix: prefix) }
                kept.append(prefix)
            }
        }
    }

    private static func covers(_ prefixes: [String], _ path: String) -> Bool {
        prefixes.contains { MoQPath.has(path, prefix: $0) }
    }
}

/// The answer to a peer's request to start a session (its connection path, with any `?jwt=` token).
public enum MoQAdmission: Sendable, Equatable {
    /// Serve the peer within `scope`; close the session at `expires` (a token's `exp`), if given.
    case granted(MoQSessionScope, expires: ContinuousClock.Instant? = nil)
    /// Close the session with the unauthorized code and this reason.
    case refused(String)
}

/// Decides whether a peer may start a session, from the path it connected with (the SETUP Path
/// parameter on raw QUIC lite-05+, the CONNECT path on WebTransport; nil on lite-04 raw QUIC).
public typealias MoQAdmissionPolicy = @Sendable (_ path: String?) async -> MoQAdmission
