public import NIOCore

/// One STR record: a mount and its metadata, as listed in the sourcetable.
public struct StreamRecord: Sendable, Equatable, Codable {
    public var mount: String
    /// Fields 3 and on (`identifier;format;...;misc`), as a source announced them or an operator set them.
    public var fields: String

    public init(mount: String, fields: String? = nil) {
        self.mount = mount
        self.fields = fields ?? "\(mount);RTCM 3;;0;;;;0.00;0.00;0;0;swift-moq;none;B;N;0;"
    }

    /// `STR;mount;fields` (a whole record `STR;mount;...` given as fields is not repeated).
    public var line: String {
        if fields.hasPrefix("STR;\(mount);") { return fields }
        return "STR;\(mount);\(fields)"
    }
}

/// The sourcetable reply: STR records and `ENDSOURCETABLE`, framed for NTRIP v1 or HTTP agents.
public enum Sourcetable {
    public static func reply(_ records: [StreamRecord], style: NTRIPRequest.SourcetableStyle) -> ByteBuffer {
        let body = records.map { $0.line + "\r\n" }.joined() + "ENDSOURCETABLE\r\n"
        let status: String
        let contentType: String
        switch style {
        case .ntripV1:
            status = "SOURCETABLE 200 OK"
            contentType = "text/plain"
        case .http:
            status = "HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0"
            contentType = "gnss/sourcetable"
        }
        return ByteBuffer(
            string: "\(status)\r\nServer: \(NTRIPReply.server)\r\nConnection: close\r\nContent-Type: \(contentType)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    }
}
