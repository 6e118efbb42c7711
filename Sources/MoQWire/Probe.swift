public import NIOCore

/// PROBE, on a Probe stream: the publisher's bandwidth estimate (or, from gomoqt, a subscriber's target).
public struct Probe: MoQMessage, Hashable {
    /// Bits per second, 0 = unknown.
    public var bitrate: UInt64
    /// Round-trip time in milliseconds, 0 = unknown.
    public var rttMs: UInt64

    public init(bitrate: UInt64, rttMs: UInt64 = 0) {
        self.bitrate = bitrate
        self.rttMs = rttMs
    }

    public func encode(into buffer: inout ByteBuffer, version: MoQVersion) {
        buffer.writeMessage { body in
            body.writeQUICVarint(bitrate)
            body.writeQUICVarint(rttMs)
        }
    }

    public static func decode(
        from buffer: inout ByteBuffer,
        version: MoQVersion,
        limits: WireLimits = .standard
    ) throws(WireError) -> Probe? {
        try buffer.readMessage(limits: limits) { body throws(WireError) in
            Probe(bitrate: try body.varint(), rttMs: try body.varint())
        }
    }
}
