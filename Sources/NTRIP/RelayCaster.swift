public import Logging
public import MoQ

extension NTRIPServer {
    /// The relay's caster from its command-line settings: `HOST:PORT`, an optional source password for
    /// every mount, users as `user:password[:MOUNT,MOUNT]`; `access` wraps them (a store in front). Throws
    /// on a malformed address or user.
    public static func relayCaster(
        listen: String, sourcePassword: String?, users: [String], origin: Origin, logger: Logger,
        access: (NTRIPUserList) -> any NTRIPAccess = { $0 }
    ) async throws -> NTRIPServer {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw NTRIPSettingError("expected HOST:PORT for the NTRIP listener, got \(listen)") }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let parsed = try users.map { spec in
            guard let user = NTRIPUserList.User(spec: spec) else {
                throw NTRIPSettingError("expected user:password[:MOUNT,MOUNT], got \(spec)")
            }
            return user
        }
        let list = NTRIPUserList(sourcePassword: sourcePassword, users: parsed)
        return try await NTRIPServer(
            configuration: NTRIPConfiguration(host: host, port: port, access: access(list), logger: logger),
            origin: origin)
    }
}

/// A setting the caster cannot use.
public struct NTRIPSettingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
