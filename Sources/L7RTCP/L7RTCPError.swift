/// Every refusal the gateway answers (§3.9): an HTTP status, a machine `error` code, the PoC's `detail`
/// text, and extra keys; routes turn it into a JSON body (and `Retry-After` where one applies).
public enum L7RTCPError: Error, Sendable, Equatable {
    case missingHeader(String)
    case invalidHeader(String, reason: String)
    case unsupportedVersion
    case invalidSessionType
    case transmissionNotFound
    case transmissionExpired
    case clientMismatch
    case unknownStream(String)
    /// init named a stream the server does not offer (404, where a pull's unknown stream is the PoC's 400).
    case streamNotOffered(String)
    case streamPaused(String)
    case streamCancelled(String)
    case chunkEvicted(oldestAvailable: UInt64)
    case streamComplete(total: UInt64)
    case featureNotEnabled(Feature)
    case multistreamNotEnabled
    case badStreamControl(item: String)
    case missingPullHeaders(missing: String)
    case invalidBody(String)
    case tooManyChunks(limit: Int)
    case overloaded(retryAfter: Int)
    case pushNotAvailable(String)
    case staleRequest
    case replayedRequest

    public var status: Int {
        switch self {
        case .missingHeader, .invalidHeader: 422
        case .unsupportedVersion, .invalidSessionType, .multistreamNotEnabled, .badStreamControl,
            .missingPullHeaders, .tooManyChunks:
            400
        case .unknownStream: 400
        case .transmissionNotFound, .streamNotOffered: 404
        case .clientMismatch: 403
        case .streamPaused, .featureNotEnabled, .pushNotAvailable: 409
        case .transmissionExpired, .streamCancelled, .chunkEvicted, .streamComplete: 410
        case .invalidBody: 422
        case .overloaded: 503
        case .staleRequest: 400
        case .replayedRequest: 409
        }
    }

    public var code: String {
        switch self {
        case .missingHeader: "missing_header"
        case .invalidHeader: "invalid_header"
        case .unsupportedVersion: "unsupported_version"
        case .invalidSessionType: "invalid_session_type"
        case .transmissionNotFound: "transmission_not_found"
        case .transmissionExpired: "transmission_expired"
        case .clientMismatch: "client_mismatch"
        case .unknownStream, .streamNotOffered: "unknown_stream"
        case .streamPaused: "stream_paused"
        case .streamCancelled: "stream_cancelled"
        case .chunkEvicted: "chunk_evicted"
        case .streamComplete: "stream_complete"
        case .featureNotEnabled: "feature_not_enabled"
        case .multistreamNotEnabled: "multistream_not_enabled"
        case .badStreamControl: "bad_stream_control"
        case .missingPullHeaders: "missing_header"
        case .invalidBody: "invalid_body"
        case .tooManyChunks: "too_many_chunks"
        case .overloaded: "overloaded"
        case .pushNotAvailable: "push_not_available"
        case .staleRequest: "stale_request"
        case .replayedRequest: "replayed_request"
        }
    }

    public var detail: String {
        switch self {
        case .missingHeader(let name): "Field required: \(name)"
        case .invalidHeader(let name, let reason): "Invalid \(name): \(reason)"
        case .unsupportedVersion: "Unsupported X-L7RTCP-Version"
        case .invalidSessionType: "X-Session-Type must be 'stateful' or 'stateless'"
        case .transmissionNotFound: "Transmission not found"
        case .transmissionExpired: "Transmission expired (TTL)"
        case .clientMismatch: "X-Client-ID does not own this transmission"
        case .unknownStream(let stream): "Stream '\(stream)' not found in transmission"
        case .streamNotOffered(let stream): "Stream '\(stream)' is not offered by this server"
        case .streamPaused(let stream): "Stream '\(stream)' is paused"
        case .streamCancelled(let stream): "Stream '\(stream)' was cancelled"
        case .chunkEvicted(let oldest): "Chunk no longer retained; oldest available is \(oldest)"
        case .streamComplete(let total): "Stream complete after \(total) chunks"
        case .featureNotEnabled(let feature): "Feature '\(feature.rawValue)' is not enabled"
        case .multistreamNotEnabled: "More than one stream needs the multistream feature"
        case .badStreamControl(let item): "Invalid X-Stream-Control item '\(item)'"
        case .missingPullHeaders(let missing):
            "Invalid header combination. Missing: \(missing). Provide either both X-Stream-ID and X-Packet-ID "
                + "for chunk transmission, or X-Stream-Control for stream management."
        case .invalidBody(let reason): "Invalid body: \(reason)"
        case .tooManyChunks(let limit): "At most \(limit) chunk ids per resend request"
        case .overloaded(let seconds): "Over the limit: stop pulling for \(seconds) s"
        case .pushNotAvailable(let reason): "Push is not available: \(reason)"
        case .staleRequest: "X-Request-Timestamp is more than 300 s away from the server's clock"
        case .replayedRequest: "X-Request-Nonce was already used"
        }
    }

    /// Extra JSON keys (integers or strings).
    public var extra: [(String, ExtraValue)] {
        switch self {
        case .unknownStream(let stream), .streamNotOffered(let stream), .streamPaused(let stream),
            .streamCancelled(let stream):
            [("stream", .string(stream))]
        case .chunkEvicted(let oldest): [("oldest_available", .integer(oldest))]
        case .streamComplete(let total): [("total", .integer(total))]
        case .featureNotEnabled(let feature): [("feature", .string(feature.rawValue))]
        case .badStreamControl(let item): [("item", .string(item))]
        case .tooManyChunks(let limit): [("limit", .integer(UInt64(limit)))]
        case .overloaded(let seconds): [("retry_after", .integer(UInt64(seconds)))]
        default: []
        }
    }

    public enum ExtraValue: Sendable, Equatable {
        case string(String)
        case integer(UInt64)
    }

    /// Seconds for `Retry-After`, when the status carries one.
    public var retryAfter: Int? {
        if case .overloaded(let seconds) = self { return seconds }
        return nil
    }

    /// The JSON body. Missing or ill-typed headers keep the PoC's validation list shape in `detail`.
    public var jsonBody: String {
        var fields: [String] = []
        switch self {
        case .missingHeader(let name):
            fields.append(
                "\"detail\":[{\"type\":\"missing\",\"loc\":[\"header\",\(JSONText.string(name.lowercased()))],"
                    + "\"msg\":\"Field required\"}]")
        case .invalidHeader(let name, let reason):
            fields.append(
                "\"detail\":[{\"type\":\"invalid\",\"loc\":[\"header\",\(JSONText.string(name.lowercased()))],"
                    + "\"msg\":\(JSONText.string(reason))}]")
        default:
            fields.append("\"detail\":" + JSONText.string(detail))
        }
        fields.append("\"error\":" + JSONText.string(code))
        for (key, value) in extra {
            switch value {
            case .string(let text): fields.append(JSONText.string(key) + ":" + JSONText.string(text))
            case .integer(let number): fields.append(JSONText.string(key) + ":" + String(number))
            }
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
