/// Why a connection ended, or why it could not be established.
public struct QUICConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The application (ours or the peer's) closed with an application error code.
        case application
        /// A QUIC transport error (RFC 9000 section 20.1), including TLS alerts as 0x100 + alert.
        case transport
        /// No packet from the peer within the idle timeout.
        case idleTimeout
        /// The handshake did not complete within the handshake timeout.
        case handshakeTimeout
        /// The server's certificate was rejected by our verification (pin, CA, name, validity).
        case certificateRejected
        /// The peer answered with a stateless reset, or the endpoint was closed.
        case reset
        /// Local failure (socket, resource limits, internal error).
        case local
    }

    public var kind: Kind
    /// Application or transport error code, as carried in CONNECTION_CLOSE.
    public var code: UInt64
    public var reason: String
    /// True when the peer sent the close; false when this side decided.
    public var byPeer: Bool

    public init(kind: Kind, code: UInt64 = 0, reason: String = "", byPeer: Bool = false) {
        self.kind = kind
        self.code = code
        self.reason = reason
        self.byPeer = byPeer
    }

    public var description: String {
        let who = byPeer ? "peer" : "local"
        switch kind {
        case .application:
            return "connection closed by \(who) application, code \(code)\(reason.isEmpty ? "" : ": \(reason)")"
        case .transport:
            return
                "connection closed by \(who) with transport error 0x\(String(code, radix: 16))\(reason.isEmpty ? "" : ": \(reason)")"
        case .idleTimeout: return "connection idle timeout"
        case .handshakeTimeout: return "QUIC handshake timed out"
        case .certificateRejected: return "server certificate rejected: \(reason)"
        case .reset: return "connection reset: \(reason)"
        case .local: return "connection failed: \(reason)"
        }
    }
}

/// Why a stream operation failed.
public enum QUICStreamError: Error, Sendable, Hashable {
    /// The peer reset its sending side (RESET_STREAM) with this application code.
    case reset(code: UInt64)
    /// The peer asked us to stop sending (STOP_SENDING) with this application code.
    case stopSending(code: UInt64)
    /// This side reset or stopped the stream.
    case locallyClosed
    /// The connection is gone.
    case connectionClosed(QUICConnectionError)
    /// A write after `finish()`.
    case alreadyFinished
    /// The stream is receive-only (a peer's unidirectional stream) or send-only.
    case wrongDirection
}

/// Endpoint setup failures.
public struct QUICEndpointError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
