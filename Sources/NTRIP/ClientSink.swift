import NIOConcurrencyHelpers
import NIOCore

/// One NTRIP client as its mount's fan-out sees it: frames are written to its channel without waiting;
/// a client whose backlog passes the bound is closed (dropped), so it never delays the others.
public final class ClientSink: Sendable {
    public struct Info: Sendable {
        public var user: String?
        public var address: String
        public var version: NTRIPRequest.Version
        public var agent: String?
        public var since: ContinuousClock.Instant
        public var lastGGA: String?
        public var bytesOut = 0
        public var dropped = false
    }

    public let id: UInt64
    public let mount: String
    let channel: any Channel
    private let chunked: Bool
    private let info: NIOLockedValueBox<Info>

    init(id: UInt64, mount: String, channel: any Channel, chunked: Bool, info: Info) {
        self.id = id
        self.mount = mount
        self.channel = channel
        self.chunked = chunked
        self.info = NIOLockedValueBox(info)
    }

    public var snapshot: Info { info.withLockedValue { $0 } }

    func setGGA(_ gga: String?) {
        guard let gga else { return }
        info.withLockedValue { $0.lastGGA = gga }
    }

    /// Queues `payload` (the shared frame buffer, never copied) and, for a v2 client, the chunk framing
    /// the hub made once for all clients (`chunkHead`, then CRLF); false if the client was dropped as too
    /// slow. Called on the channel's event loop (the hub submits one task per loop), so the chunk's three
    /// writes stay together.
    @discardableResult
    func deliver(_ payload: ByteBuffer, chunkHead: ByteBuffer) -> Bool {
        guard channel.isActive else { return false }
        guard channel.isWritable else {
            let first = info.withLockedValue { info -> Bool in
                defer { info.dropped = true }
                return !info.dropped
            }
            if first { channel.close(promise: nil) }
            return false
        }
        info.withLockedValue { $0.bytesOut += payload.readableBytes }
        if chunked {
            channel.write(chunkHead, promise: nil)
            channel.write(payload, promise: nil)
            channel.writeAndFlush(Self.chunkTail, promise: nil)
        } else {
            channel.writeAndFlush(payload, promise: nil)
        }
        return true
    }

    func close() { channel.close(promise: nil) }

    /// A v2 chunk's size line (hex size, CRLF), made once per frame for every chunked client.
    static func chunkHead(for payload: ByteBuffer) -> ByteBuffer {
        ByteBuffer(string: String(payload.readableBytes, radix: 16) + "\r\n")
    }

    private static let chunkTail = ByteBuffer(string: "\r\n")
}
