public import Logging

/// Limits and behaviour of one HTTP/3 connection, either side.
public struct HTTP3Configuration: Sendable {
    /// The largest field section accepted (sent as SETTINGS_MAX_FIELD_SECTION_SIZE); more gets 431.
    public var maxFieldSectionSize = 16 << 10
    /// The largest request or response body read whole.
    public var maxBodySize = 1 << 20
    /// WebTransport streams that may wait for their session's CONNECT to be processed.
    public var maxBufferedStreams = 32
    /// Close the QUIC connection when its (only) WebTransport session ends.
    public var closeConnectionWithSession = true
    public var logger: Logger

    public init(logger: Logger = Logger(label: "http3")) { self.logger = logger }
}

/// What an HTTP/3 server does with requests: plain requests get a response; extended CONNECT for
/// WebTransport is negotiated here and the session handed to `session`.
public struct HTTP3ServerHandler: Sendable {
    /// Answers an ordinary request.
    public var respond: @Sendable (HTTP3Request) async -> HTTP3Response
    /// The WebTransport protocols served; the client's `wt-available-protocols` order picks one (as the
    /// reference does). A CONNECT offering none of them gets 400; one offering no list is accepted
    /// with no protocol only when `acceptsUnnegotiated`.
    public var webTransportProtocols: [String]
    public var acceptsUnnegotiated: Bool
    /// Runs a WebTransport session; the session closes when it returns.
    public var session: @Sendable (WebTransportSession) async -> Void

    public init(
        webTransportProtocols: [String] = [], acceptsUnnegotiated: Bool = true,
        respond: @escaping @Sendable (HTTP3Request) async -> HTTP3Response = { _ in
            HTTP3Response(status: 404, text: "not found\n")
        },
        session: @escaping @Sendable (WebTransportSession) async -> Void = { _ in }
    ) {
        self.respond = respond
        self.webTransportProtocols = webTransportProtocols
        self.acceptsUnnegotiated = acceptsUnnegotiated
        self.session = session
    }
}

/// Why a client request or session failed.
public enum HTTP3ClientError: Error, Sendable, Equatable {
    /// The server answered the CONNECT with this status.
    case rejected(status: Int)
    /// The stream ended before a response.
    case noResponse
}
