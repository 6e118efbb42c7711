/// Upper bounds on what a decoder accepts from a peer; a declared length above a bound is rejected
/// before anything is allocated, so a hostile length cannot exhaust memory.
public struct WireLimits: Sendable, Hashable {
    /// Largest body of a length-prefixed control message.
    public var maxMessageBodyLength: Int
    /// Largest string or path, in UTF-8 bytes.
    public var maxStringLength: Int
    /// Largest hop chain in an announcement.
    public var maxHops: Int
    /// Most parameters in one SETUP.
    public var maxSetupParameters: Int
    /// Largest frame payload on a group stream or FETCH response.
    public var maxFrameSize: UInt64

    public init(
        maxMessageBodyLength: Int = 1 << 20,
        maxStringLength: Int = 4096,
        maxHops: Int = 32,
        maxSetupParameters: Int = 64,
        maxFrameSize: UInt64 = 16 << 20
    ) {
        self.maxMessageBodyLength = maxMessageBodyLength
        self.maxStringLength = maxStringLength
        self.maxHops = maxHops
        self.maxSetupParameters = maxSetupParameters
        self.maxFrameSize = maxFrameSize
    }

    /// The defaults: 1 MiB messages, 4 KiB strings, 32 hops, 64 SETUP parameters, 16 MiB frames.
    public static let standard = WireLimits()
}
