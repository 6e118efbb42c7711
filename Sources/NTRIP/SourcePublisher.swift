public import MoQ
public import NIOCore

/// Writes a source's frames into its broadcast's track, a group per epoch: a new group starts after
/// `gap` of silence or when the current one is `length` old, so a late joiner starts at an epoch.
public struct SourcePublisher: Sendable {
    public let broadcast: BroadcastProducer
    public let track: TrackProducer
    let gap: TimeAmount
    let length: TimeAmount
    private var group: GroupProducer?
    private var groupStart = NIODeadline.distantPast
    private var lastWrite = NIODeadline.distantPast

    public init(broadcast: BroadcastProducer, trackName: String, gap: Duration, length: Duration) {
        self.broadcast = broadcast
        self.track = broadcast.createTrack(trackName, maxRetainedGroups: 8)
        self.gap = .nanoseconds(gap.nanoseconds)
        self.length = .nanoseconds(length.nanoseconds)
    }

    /// Appends one frame (a whole RTCM3 message or a raw read).
    public mutating func write(_ payload: ByteBuffer, now: NIODeadline = .now()) {
        if group == nil || now - lastWrite >= gap || now - groupStart >= length {
            group?.finish()
            group = track.appendGroup()
            groupStart = now
        }
        lastWrite = now
        group!.write(payload)
    }

    /// The source is gone: the last group and the broadcast end (the origin unannounces it).
    public mutating func finish() {
        group?.finish()
        group = nil
        broadcast.finish()
    }
}
