public import NIOCore

/// TRACK (lite-05+), the request on a Track stream: asks the publisher for a track's TRACK_INFO.
public struct TrackRequest: MoQMessage, Hashable {
    public var broadcast: String
    public var track: String

    public init(broadcast: String, track: String) {
        self.broadcast = broadcast
        self.track = track
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        version.preconditionAtLeast(.lite05, "TRACK")
        buffer.writeMessage { body in
            body.writeMoQString(broadcast)
            body.writeMoQString(track)
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> TrackRequest? {
        try version.require(.lite05)
        return try buffer.readMessage(limits: limits) { body throws(WireError) in
            TrackRequest(broadcast: try body.string(), track: try body.string())
        }
    }
}
