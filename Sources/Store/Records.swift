import Foundation
public import GRDB

/// A managed mount: its source password (hashed) and the STR fields the sourcetable lists for it.
public struct Streampoint: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "streampoint"
    public var mount: String
    public var sourcePasswordHash: String
    /// STR fields 3 and on (`identifier;format;...`); nil: a generic record.
    public var str: String?

    public init(mount: String, sourcePasswordHash: String, str: String?) {
        self.mount = mount
        self.sourcePasswordHash = sourcePasswordHash
        self.str = str
    }
}

/// An NTRIP client account: a hashed password and the mounts it may read (nil: all).
public struct StoredUser: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "user"
    public var name: String
    public var passwordHash: String
    /// JSON array of mounts, or nil for all.
    public var mountsJSON: String?

    public init(name: String, passwordHash: String, mounts: [String]?) {
        self.name = name
        self.passwordHash = passwordHash
        self.mountsJSON = mounts.map { Self.encode($0) }
    }

    public var mounts: [String]? {
        guard let mountsJSON, let data = mountsJSON.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode([String].self, from: data)
    }

    static func encode(_ mounts: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(mounts)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
