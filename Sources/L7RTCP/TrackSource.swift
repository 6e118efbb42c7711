/// Where a stream's bytes come from: a track of a broadcast in the relay's origin (§3.12, issue #7):
/// `ntrip;mount=M` is broadcast `ntrip/M` track `rtcm`; `<track>;broadcast=<path>` names both; a bare
/// `<path>/<track>` splits on its last `/`; a bare `<track>` lives in broadcast `l7rtcp`.
public struct TrackSource: Sendable, Hashable, CustomStringConvertible {
    public var broadcast: String
    public var track: String

    public static let defaultBroadcast = "l7rtcp"

    public init(broadcast: String, track: String) {
        self.broadcast = broadcast
        self.track = track
    }

    public init?(_ spec: StreamSpec) {
        if spec.name == "ntrip" {
            guard let mount = spec.parameter("mount"), !mount.contains("/") else { return nil }
            self.init(broadcast: "ntrip/" + mount, track: "rtcm")
        } else if let broadcast = spec.parameter("broadcast") {
            self.init(broadcast: broadcast, track: spec.name)
        } else if let slash = spec.name.lastIndex(of: "/") {
            let broadcast = String(spec.name[..<slash])
            let track = String(spec.name[spec.name.index(after: slash)...])
            guard !broadcast.isEmpty, !track.isEmpty else { return nil }
            self.init(broadcast: broadcast, track: track)
        } else {
            self.init(broadcast: Self.defaultBroadcast, track: spec.name)
        }
    }

    public var description: String { "\(broadcast)/\(track)" }
}
