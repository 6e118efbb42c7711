import Foundation

/// A relay token's claims, as moq-relay defines them: `root` scopes the token, `put` and `get` list the
/// prefixes (under `root`) it may publish and subscribe, `exp`/`iat` are Unix seconds. `put` and `get`
/// may be written as one string or a list.
public struct RelayClaims: Codable, Sendable, Equatable {
    public var root: String
    public var put: [String]
    public var get: [String]
    public var exp: Int64?
    public var iat: Int64?

    public init(root: String = "", put: [String] = [], get: [String] = [], exp: Int64? = nil, iat: Int64? = nil) {
        self.root = root
        self.put = put
        self.get = get
        self.exp = exp
        self.iat = iat
    }

    enum CodingKeys: String, CodingKey { case root, put, get, exp, iat }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        root = try container.decodeIfPresent(String.self, forKey: .root) ?? ""
        put = try Self.stringOrList(container, .put)
        get = try Self.stringOrList(container, .get)
        exp = try container.decodeIfPresent(Int64.self, forKey: .exp)
        iat = try container.decodeIfPresent(Int64.self, forKey: .iat)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !root.isEmpty { try container.encode(root, forKey: .root) }
        if !put.isEmpty { try container.encode(put, forKey: .put) }
        if !get.isEmpty { try container.encode(get, forKey: .get) }
        try container.encodeIfPresent(exp, forKey: .exp)
        try container.encodeIfPresent(iat, forKey: .iat)
    }

    private static func stringOrList(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws
        -> [String]
    {
        if let one = try? container.decodeIfPresent(String.self, forKey: key) { return [one] }
        return try container.decodeIfPresent([String].self, forKey: key) ?? []
    }
}
