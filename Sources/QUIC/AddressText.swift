/// Parsing of the text forms users type for endpoints and pins (CLI flags, config, URLs).
public enum AddressText {
    /// `HOST:PORT` or `[V6]:PORT` (port 0 = ephemeral).
    public static func hostPort(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw QUICEndpointError("expected HOST:PORT (e.g. 127.0.0.1:4443), got \(text)") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Bytes from hex, colons allowed (as some tools print fingerprints); nil if it is not hex.
    public static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.filter { $0 != ":" })
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(digits[index..<index + 2]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

extension QUICPeerVerification {
    /// A SHA-256 pin from its hex text (64 digits, as servers print it), or nil if it is not one.
    public static func pinnedSHA256(hex: String) -> QUICPeerVerification? {
        guard let pin = AddressText.hexBytes(hex), pin.count == 32 else { return nil }
        return .pinnedSHA256([pin])
    }
}
