public import NIOCore

/// The SETTINGS frame's parameters (RFC 9114 section 7.2.4), in order, with the identifiers WebTransport
/// peers of every live draft look for.
public struct HTTP3Settings: Sendable, Equatable {
    public var parameters: [(id: UInt64, value: UInt64)]

    public init(_ parameters: [(id: UInt64, value: UInt64)] = []) { self.parameters = parameters }

    public enum ID {
        public static let qpackMaxTableCapacity: UInt64 = 0x01
        public static let maxFieldSectionSize: UInt64 = 0x06
        public static let qpackBlockedStreams: UInt64 = 0x07
        public static let enableConnectProtocol: UInt64 = 0x08
        public static let h3Datagram: UInt64 = 0x33
        /// draft-ietf-masque-h3-datagram before RFC 9297 (older Chrome).
        public static let h3DatagramDeprecated: UInt64 = 0xffd277
        /// WebTransport draft-02: ENABLE_WEBTRANSPORT and its max sessions.
        public static let enableWebTransportDraft02: UInt64 = 0x2b603742
        public static let webTransportMaxSessionsDraft02: UInt64 = 0x2b603743
        /// WebTransport drafts 07-12: WEBTRANSPORT_MAX_SESSIONS.
        public static let webTransportMaxSessionsDraft07: UInt64 = 0xc671706a
        /// WebTransport draft-13 and later: WT_MAX_SESSIONS.
        public static let webTransportMaxSessions: UInt64 = 0x14e9cd29
        /// HTTP/2 settings with no HTTP/3 meaning: receiving one is H3_SETTINGS_ERROR.
        public static let reservedHTTP2: Set<UInt64> = [0x00, 0x02, 0x03, 0x04, 0x05]
    }

    /// What this layer sends: extended CONNECT, datagrams (both codepoints), WebTransport under all three
    /// drafts' identifiers, a zero QPACK dynamic table and the field section limit.
    public static func webTransport(maxFieldSectionSize: Int, maxSessions: UInt64 = 1) -> HTTP3Settings {
        HTTP3Settings([
            (ID.qpackMaxTableCapacity, 0), (ID.qpackBlockedStreams, 0),
            (ID.maxFieldSectionSize, UInt64(maxFieldSectionSize)),
            (ID.enableConnectProtocol, 1), (ID.h3Datagram, 1), (ID.h3DatagramDeprecated, 1),
            (ID.enableWebTransportDraft02, 1), (ID.webTransportMaxSessionsDraft02, maxSessions),
            (ID.webTransportMaxSessionsDraft07, maxSessions), (ID.webTransportMaxSessions, maxSessions),
        ])
    }

    public subscript(id: UInt64) -> UInt64? { parameters.first { $0.id == id }?.value }

    /// Whether the peer said it speaks WebTransport under any draft's identifiers.
    public var supportsWebTransport: Bool {
        self[ID.enableWebTransportDraft02] == 1 || (self[ID.webTransportMaxSessionsDraft07] ?? 0) > 0
            || (self[ID.webTransportMaxSessions] ?? 0) > 0
    }

    public func encode() -> ByteBuffer {
        var buffer = ByteBuffer()
        for (id, value) in parameters {
            buffer.writeHTTP3Varint(id)
            buffer.writeHTTP3Varint(value)
        }
        return buffer
    }

    /// Parses a SETTINGS payload: a truncated pair is H3_FRAME_ERROR; a repeated or HTTP/2 identifier is
    /// H3_SETTINGS_ERROR. Unknown (and GREASE) identifiers are kept and ignored.
    public static func decode(_ payload: ByteBuffer) throws(HTTP3Error) -> HTTP3Settings {
        var buffer = payload
        var settings = HTTP3Settings()
        var seen = Set<UInt64>()
        while buffer.readableBytes > 0 {
            guard let id = buffer.readHTTP3Varint(), let value = buffer.readHTTP3Varint() else {
                throw HTTP3Error(.frameError, "truncated SETTINGS")
            }
            guard !ID.reservedHTTP2.contains(id) else {
                throw HTTP3Error(.settingsError, "HTTP/2 setting 0x\(String(id, radix: 16))")
            }
            guard seen.insert(id).inserted else {
                throw HTTP3Error(.settingsError, "setting 0x\(String(id, radix: 16)) repeated")
            }
            settings.parameters.append((id, value))
        }
        return settings
    }

    public static func == (lhs: HTTP3Settings, rhs: HTTP3Settings) -> Bool {
        lhs.parameters.count == rhs.parameters.count
            && zip(lhs.parameters, rhs.parameters).allSatisfy { $0.id == $1.id && $0.value == $1.value }
    }
}
