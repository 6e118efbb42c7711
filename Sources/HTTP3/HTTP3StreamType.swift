/// The varints that open HTTP/3 streams (RFC 9114 section 6.2, RFC 9204 section 4.2, WebTransport over
/// HTTP/3 section 4): a uni stream's type, or the signal that turns a bidi stream into WebTransport's.
public enum HTTP3StreamType {
    public static let control: UInt64 = 0x00
    public static let push: UInt64 = 0x01
    public static let qpackEncoder: UInt64 = 0x02
    public static let qpackDecoder: UInt64 = 0x03
    /// A WebTransport uni stream: 0x54, then the session id.
    public static let webTransportUni: UInt64 = 0x54
    /// A WebTransport bidi stream: 0x41 (a frame type on a request stream), then the session id.
    public static let webTransportBidi: UInt64 = 0x41
}
