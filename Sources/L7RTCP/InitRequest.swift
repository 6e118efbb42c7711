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

/// Checks shared by every request's headers (§3.2).
enum HeaderCheck {
    /// nil when absent or major version 1; else `unsupported_version`.
    static func version(_ value: String?) -> L7RTCPError? {
        guard let value else { return nil }
        let major = value.split(separator: ".").first.map(String.init) ?? value
        return major == "1" ? nil : .unsupportedVersion
    }

    static func isClientID(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (StreamSpec.isAlnum($0) || "-_.:".unicodeScalars.contains($0))
            }
    }

    static func isFeatureToken(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
            }
    }

    /// `1*N DIGIT` within `range`; nil when absent.
    static func integer(_ value: String?, _ name: String, in range: ClosedRange<Int>, digits: Int = 10) throws -> Int? {
        guard let value else { return nil }
        guard (1...digits).contains(value.utf8.count), value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let number = Int(value)
        else { throw L7RTCPError.invalidHeader(name, reason: "expected 1-\(digits) digits, got '\(value)'") }
        guard range.contains(number) else {
            throw L7RTCPError.invalidHeader(
                name, reason: "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// `X-Packet-ID`: 1*16 DIGIT, 0...2^53-1.
    static func packetID(_ value: String) -> Result<UInt64, L7RTCPError> {
        do {
            let number = try integer(value, "X-Packet-ID", in: 0...(1 << 53) - 1, digits: 16)!
            return .success(UInt64(number))
        } catch let error as L7RTCPError {
            return .failure(error)
        } catch {
            return .failure(.invalidHeader("X-Packet-ID", reason: "\(error)"))
        }
    }
}
