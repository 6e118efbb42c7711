import NIOCore
import NTRIP
import Testing

/// Request sniffing: every role from its request head, without sockets.
struct RequestTests {
    func classify(_ text: String) -> (NTRIPRequest?, RequestHeadParser.Action) {
        var parser = RequestHeadParser()
        let action = parser.feed(ByteBuffer(string: text))
        if case .head(let head, _) = action { return (NTRIPRequest(head: head), action) }
        return (nil, action)
    }

    @Test func v1SourceWithAndWithoutSlashAndHTTPToken() throws {
        for line in ["SOURCE pw M1", "SOURCE pw /M1", "SOURCE pw /M1 HTTP/1.1"] {
            let (request, _) = classify(line + "\r\nSource-Agent: NTRIP RTKLIB/2.4.3\r\nSTR: \r\n\r\n")
            guard case .source(let source) = request else {
                Issue.record("\(line): \(String(describing: request))")
                continue
            }
            #expect(source.mount == "M1")
            #expect(source.password == "pw")
            #expect(source.version == .v1)
            #expect(source.str == nil)
        }
    }

    @Test func v2SourceChunkedOrRawWithBasicAuth() {
        let auth = "Authorization: Basic dTpwOnc=\r\n"  // u:p:w (a colon inside the password)
        let (raw, _) = classify("POST /M2 HTTP/1.1\r\nNtrip-Version: Ntrip/2.0\r\n\(auth)\r\n")
        guard case .source(let rawSource) = raw else {
            Issue.record("not a source")
            return
        }
        #expect(
            rawSource.mount == "M2" && rawSource.version == .v2 && rawSource.user == "u" && rawSource.password == "p:w")
        #expect(!rawSource.chunked)
        let (chunked, _) = classify("POST /M2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\(auth)Ntrip-STR: M2;x\r\n\r\n")
        guard case .source(let source) = chunked else {
            Issue.record("not a source")
            return
        }
        #expect(source.chunked)
        #expect(source.str == "M2;x")
    }

    @Test func clientsV1AndV2WithGGAHeader() {
        let (v1, _) = classify(
            "GET /M1 HTTP/1.0\r\nUser-Agent: NTRIP RTKLIB/2.4.3\r\nAuthorization: Basic Y3U6Y3A=\r\n\r\n")
        guard case .client(let client) = v1 else {
            Issue.record("not a client: \(String(describing: v1))")
            return
        }
        #expect(client.version == .v1 && client.user == "cu" && client.password == "cp" && client.ntripAgent)
        let (v2, _) = classify("GET /M1 HTTP/1.1\r\nNtrip-Version: Ntrip/2.0\r\nNtrip-GGA: $GPGGA,1\r\n\r\n")
        guard case .client(let client2) = v2 else {
            Issue.record("not a client")
            return
        }
        #expect(client2.version == .v2 && client2.gga == "$GPGGA,1" && client2.user == nil)
    }

    @Test func sourcetableStyles() {
        #expect(classify("GET / HTTP/1.0\r\nUser-Agent: NTRIP x\r\n\r\n").0 == .sourcetable(.ntripV1))
        #expect(
            classify("GET / HTTP/1.1\r\nUser-Agent: NTRIP x\r\nNtrip-Version: Ntrip/2.0\r\n\r\n").0
                == .sourcetable(.http))
        #expect(classify("GET / HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n").0 == .sourcetable(.http))
        let table = Sourcetable.reply([StreamRecord(mount: "M1")], style: .ntripV1)
        let text = String(buffer: table)
        #expect(text.hasPrefix("SOURCETABLE 200 OK\r\n"))
        #expect(
            text.hasSuffix("\r\n\r\nSTR;M1;M1;RTCM 3;;0;;;;0.00;0.00;0;0;swift-moq;none;B;N;0;\r\nENDSOURCETABLE\r\n"))
    }

    @Test func badInputGetsAClearAnswer() {
        #expect(classify("\u{01}\u{02}garbage").1 == .malformed("binary data in the request line"))
        #expect(classify("GET /M1").1 == .needMore)
        #expect(classify("DELETE /x HTTP/1.1\r\n\r\n").0 == .rejected(.notImplemented))
        #expect(classify("SOURCE onlypassword\r\n\r\n").0 == .rejected(.v1MountInvalid))
        #expect(classify("GET /a%20b HTTP/1.0\r\n\r\n").0 == .rejected(.badRequest(v2: true)))
        var parser = RequestHeadParser(maxHeadBytes: 1024)
        #expect(
            parser.feed(ByteBuffer(string: "GET /M HTTP/1.0\r\nX: " + String(repeating: "a", count: 2000))) == .tooLarge
        )
    }

    @Test func bytesAfterTheHeadAreKept() {
        var parser = RequestHeadParser()
        #expect(parser.feed(ByteBuffer(string: "SOURCE pw M\r\n")) == .needMore)
        guard case .head(_, let rest) = parser.feed(ByteBuffer(bytes: Array("\r\n".utf8) + [0xD3, 0x00])) else {
            Issue.record("no head")
            return
        }
        #expect(Array(rest.readableBytesView) == [0xD3, 0x00])
    }

    @Test func chunkedBodyAnySplitAndGarbage() throws {
        let body = "5;ext=1\r\nhello\r\n6\n world\r\n0\r\n\r\n"
        for split in 0...body.utf8.count {
            var decoder = ChunkedDecoder()
            let bytes = Array(body.utf8)
            let parts =
                try decoder.feed(ByteBuffer(bytes: bytes[..<split])) + decoder.feed(ByteBuffer(bytes: bytes[split...]))
            #expect(parts.map { String(buffer: $0) }.joined() == "hello world")
            #expect(decoder.isFinished)
        }
        var decoder = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.malformedSize) { try decoder.feed(ByteBuffer(string: "zz\r\n")) }
        var long = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.malformedSize) {
            try long.feed(ByteBuffer(string: String(repeating: "1", count: 100)))
        }
    }

    @Test func ggaLinesKeptBoundedLinesIgnored() {
        var reader = GGAReader(header: "$GPGGA,header")
        #expect(reader.lastGGA == "$GPGGA,header")
        reader.feed(
            ByteBuffer(
                string: "$GNGGA,193630.63,5006.0000000,N\r\n$GPRMC,x\r\n" + String(repeating: "x", count: 5000) + "\n"))
        #expect(reader.lastGGA == "$GNGGA,193630.63,5006.0000000,N")
        #expect(reader.lines == 2)
    }

    @Test func randomHeadsNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let pieces = [
            "GET ", "SOURCE ", "POST ", "/", "M", " ", "HTTP/1.1", "\r\n", "\n", ":", "Authorization: Basic ", "=",
            "\u{7f}",
        ]
        for _ in 0..<2000 {
            var parser = RequestHeadParser(maxHeadBytes: 256)
            let text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            if case .head(let head, _) = parser.feed(ByteBuffer(string: text)) { _ = NTRIPRequest(head: head) }
        }
    }
}
