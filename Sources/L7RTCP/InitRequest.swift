/// `POST /l7rtcp/init` headers parsed and validated (§3.2, §3.3), before any state is touched.
public struct InitRequest: Sendable, Equatable {
    public enum SessionType: String, Sendable, Codable {
        case stateful, stateless
    }

    public var clientID: String
    public var requestedFeatures: [String]
    public var sessionType: SessionType
    public var transmissionID: String?
    public var streams: [StreamSpec]
    public var ttl: Int?
    public var maxPacketSize: Int?
    public var chunkSize: Int?

    public static let sizeRange = 64...16_777_216
    public static let ttlRange = 1...604_800

    /// Parses the headers `header(name)` returns (case-insensitive lookup is the caller's).
    public static func parse(_ header: (String) -> String?) -> Result<InitRequest, L7RTCPError> {
        if let error = HeaderCheck.version(header("X-L7RTCP-Version")) { return .failure(error) }
        guard let clientID = header("X-Client-ID") else { return .failure(.missingHeader("X-Client-ID")) }
        guard HeaderCheck.isClientID(clientID) else {
            return .failure(.invalidHeader("X-Client-ID", reason: "1-128 of ALPHA DIGIT - _ . :"))
        }
        guard let featureText = header("X-Features-Supported") else {
            return .failure(.missingHeader("X-Features-Supported"))
        }
        let features = StreamSpec.list(featureText)
        guard features.allSatisfy(HeaderCheck.isFeatureToken) else {
            return .failure(.invalidHeader("X-Features-Supported", reason: "a comma list of feature tokens"))
        }
        guard let sessionText = header("X-Session-Type") else { return .failure(.missingHeader("X-Session-Type")) }
        guard let sessionType = SessionType(rawValue: sessionText) else { return .failure(.invalidSessionType) }
        var streams: [StreamSpec] = []
        if let text = header("X-Streams") {
            for item in StreamSpec.list(text) {
                guard let spec = StreamSpec(item) else {
                    return .failure(.invalidHeader("X-Streams", reason: "bad stream-spec '\(item)'"))
                }
                if !streams.contains(spec) { streams.append(spec) }
            }
        }
        var request = InitRequest(
            clientID: clientID, requestedFeatures: features, sessionType: sessionType,
            transmissionID: header("X-Transmission-ID"), streams: streams)
        do {
            request.ttl = try HeaderCheck.integer(header("X-TTL"), "X-TTL", in: ttlRange)
            request.maxPacketSize = try HeaderCheck.integer(
                header("X-Max-Packet-Size"), "X-Max-Packet-Size", in: sizeRange)
            request.chunkSize = try HeaderCheck.integer(header("X-Chunk-Size"), "X-Chunk-Size", in: sizeRange)
        } catch let error as L7RTCPError {
            return .failure(error)
        } catch {
            return .failure(.invalidHeader("header", reason: "\(error)"))
        }
        return .success(request)
    }
}
