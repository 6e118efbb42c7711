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
