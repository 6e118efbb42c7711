/// A snapshot of the caster for the status API: per mount its source and clients.
public struct CasterStatus: Sendable, Codable, Equatable {
    public struct Client: Sendable, Codable, Equatable {
        public var user: String?
        public var address: String
        public var version: NTRIPRequest.Version
        public var agent: String?
        public var connectedSeconds: Double
        public var bytesOut: Int
        public var lastGGA: String?
    }

    public struct Mount: Sendable, Codable, Equatable {
        public var mount: String
        /// A broadcast is live (NTRIP source or moq-lite publisher).
        public var live: Bool
        public var sourceConnected: Bool
        public var sourceAddress: String?
        public var sourceVersion: NTRIPRequest.Version?
        public var uptimeSeconds: Double
        public var bytesIn: Int
        public var messagesIn: Int
        public var badCRC: Int
        public var bytesPerSecond: Double
        public var bytesOut: Int
        public var clients: [Client]
    }

    public var mounts: [Mount]
}
