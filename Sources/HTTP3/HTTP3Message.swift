public import NIOCore

/// A request as the server sees it (or the client sends it): pseudo-header fields pulled out, the rest in
/// `fields`, the body whole (this layer serves small API requests, not uploads).
public struct HTTP3Request: Sendable {
    public var method: String
    public var scheme: String?
    public var authority: String?
    public var path: String?
    /// `:protocol` of an extended CONNECT (RFC 9220), e.g. `webtransport`.
    public var connectProtocol: String?
    public var fields: HTTP3Fields
    public var body: ByteBuffer

    public init(
        method: String, scheme: String? = "https", authority: String?, path: String?, connectProtocol: String? = nil,
        fields: HTTP3Fields = [], body: ByteBuffer = ByteBuffer()
    ) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.connectProtocol = connectProtocol
        self.fields = fields
        self.body = body
    }

    /// The field section on the wire: pseudo-headers first.
    public var encodedFields: HTTP3Fields {
        var all = HTTP3Fields([(":method", method)])
        if let scheme { all.append(":scheme", scheme) }
        if let authority { all.append(":authority", authority) }
        if let path { all.append(":path", path) }
        if let connectProtocol { all.append(":protocol", connectProtocol) }
        all.fields += fields.fields
        return all
    }

    /// Parses a received section; nil when it is malformed (RFC 9114 section 4.3.1): unknown or repeated
    /// pseudo-headers, pseudo-headers after regular fields, uppercase names, missing required ones.
    public init?(fields section: HTTP3Fields) {
        var pseudo: [String: String] = [:]
        var regular = HTTP3Fields()
        for (name, value) in section {
            guard !name.isEmpty, !name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
            if name.hasPrefix(":") {
                guard regular.fields.isEmpty,
                    [":method", ":scheme", ":authority", ":path", ":protocol"].contains(name),
                    pseudo.updateValue(value, forKey: name) == nil
                else { return nil }
            } else {
                regular.append(name, value)
            }
        }
        guard let method = pseudo[":method"] else { return nil }
        self.init(
            method: method, scheme: pseudo[":scheme"], authority: pseudo[":authority"], path: pseudo[":path"],
            connectProtocol: pseudo[":protocol"], fields: regular)
        if connectProtocol != nil {
            // Extended CONNECT: all of :scheme, :authority, :path.
            guard method == "CONNECT", scheme != nil, authority != nil, path?.isEmpty == false else { return nil }
        } else if method == "CONNECT" {
            // Classic CONNECT (a tunnel): :authority only.
            guard authority != nil, scheme == nil, path == nil else { return nil }
        } else {
            guard scheme != nil, path?.isEmpty == false else { return nil }
        }
    }
}

/// A response: status, fields, whole body.
public struct HTTP3Response: Sendable {
    public var status: Int
    public var fields: HTTP3Fields
    public var body: ByteBuffer

    public init(status: Int, fields: HTTP3Fields = [], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.fields = fields
        self.body = body
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", text: String) {
        self.init(status: status, fields: [("content-type", contentType)], body: ByteBuffer(string: text))
    }

    public var encodedFields: HTTP3Fields {
        var all = HTTP3Fields([(":status", String(status))])
        all.fields += fields.fields
        return all
    }
}
