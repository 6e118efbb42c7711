import HTTP3
import NIOCore
import QUIC
import TestSupport
import Testing

/// Hand-written bad input on raw QUIC against our server: the right HTTP/3 error or 4xx, only that
/// connection (or request) ends, and the server goes on serving.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct BadInputTests {
    static let handler = HTTP3ServerHandler(
        webTransportProtocols: ["moq-lite-06"], acceptsUnnegotiated: false,
        respond: { _ in HTTP3Response(status: 200, text: "ok\n") })

    /// A control stream with our valid SETTINGS.
    static func openControl(_ quic: QUICConnection, settings: ByteBuffer? = nil) async throws -> QUICStream {
        let control = try await quic.openUnidirectionalStream()
        var preface = ByteBuffer(bytes: [0x00])
        if let settings {
            HTTP3Frame.writeHeader(type: 0x04, length: settings.readableBytes, into: &preface)
            preface.writeImmutableBuffer(settings)
        } else {
            HTTP3Frame.settings(.webTransport(maxFieldSectionSize: 16384)).write(into: &preface)
        }
        try await control.write(preface)
        return control
    }

    /// Sends one request section (HEADERS with `block`) and returns the response status (nil: no response).
    static func send(_ block: ByteBuffer, on quic: QUICConnection, finish: Bool = true) async throws -> Int? {
        let stream = try await quic.openBidirectionalStream()
        var frame = ByteBuffer()
        HTTP3Frame.writeHeader(type: 0x01, length: block.readableBytes, into: &frame)
        frame.writeImmutableBuffer(block)
        try await stream.write(frame, finish: finish)
        var reader = FrameStreamReader(stream)
        guard case .headers(let response) = try await reader.readFrame(maxPayload: 1 << 16) else { return nil }
        return try QPACKDecoder().decode(response)[":status"].flatMap { Int($0) }
    }

    /// The server is still fine: a new connection gets 200 for a GET.
    static func serverStillServes(_ server: QUICEndpoint) async throws {
        let (client, quic) = try await dialH3(server)
        _ = try await openControl(quic)
        let status = try await send(
            QPACKEncoder.encode(HTTP3Request(method: "GET", authority: "localhost", path: "/health").encodedFields),
            on: quic)
        #expect(status == 200)
        quic.close()
        await client.close(grace: .milliseconds(20))
    }

    static func connectFields(protocols: String?, omitProtocol: Bool = false) -> HTTP3Fields {
        var fields: HTTP3Fields = [
            (":method", "CONNECT"), (":scheme", "https"), (":authority", "127.0.0.1"), (":path", "/"),
        ]
        if !omitProtocol { fields.append(":protocol", "webtransport") }
        if let protocols { fields.append("wt-available-protocols", protocols) }
        return fields
    }

    @Test(arguments: [
        ("repeated setting", "0801 0801", HTTP3ErrorCode.settingsError),
        ("HTTP/2 setting", "0201", HTTP3ErrorCode.settingsError),
        ("truncated setting", "0840", HTTP3ErrorCode.frameError),
    ])
    func malformedSettingsCloseTheConnection(what: String, hex: String, code: HTTP3ErrorCode) async throws {
        try await withHTTP3Server(Self.handler) { server in
            let (client, quic) = try await dialH3(server)
            _ = try await Self.openControl(quic, settings: ByteBuffer(bytes: bytes(hex)))
            let error = await quic.closed()
            #expect(error.byPeer && error.code == code.rawValue, "\(what): \(error)")
            await client.close(grace: .milliseconds(20))
            try await Self.serverStillServes(server)
        }
    }

    @Test func controlStreamWithoutSettingsIsMissingSettings() async throws {
        try await withHTTP3Server(Self.handler) { server in
            let (client, quic) = try await dialH3(server)
            let control = try await quic.openUnidirectionalStream()
            try await control.write(ByteBuffer(bytes: [0x00, 0x07, 0x01, 0x00]))  // GOAWAY first
            let error = await quic.closed()
            #expect(error.byPeer && error.code == HTTP3ErrorCode.missingSettings.rawValue, "\(error)")
            await client.close(grace: .milliseconds(20))
        }
    }

    @Test func qpackEncoderStreamAskingForATableIsAnEncoderStreamError() async throws {
        try await withHTTP3Server(Self.handler) { server in
            let (client, quic) = try await dialH3(server)
            _ = try await Self.openControl(quic)
            let encoder = try await quic.openUnidirectionalStream()
            try await encoder.write(ByteBuffer(bytes: [0x02, 0x20]))  // capacity 0: fine
            try await Task.sleep(for: .milliseconds(100))
            #expect(
                try await Self.send(
                    QPACKEncoder.encode([(":method", "GET"), (":scheme", "https"), (":path", "/")]), on: quic) == 200)
            try await encoder.write(ByteBuffer(bytes: [0x3f, 0xe1, 0x1f]))  // capacity 4096
            let error = await quic.closed()
            #expect(error.byPeer && error.code == HTTP3ErrorCode.qpackEncoderStreamError.rawValue, "\(error)")
            await client.close(grace: .milliseconds(20))
            try await Self.serverStillServes(server)
        }
    }

    @Test func dynamicTableReferenceIsDecompressionFailed() async throws {
        try await withHTTP3Server(Self.handler) { server in
            let (client, quic) = try await dialH3(server)
            _ = try await Self.openControl(quic)
            // RFC 9204 B.2's section: Required Insert Count 2, post-base indexed field lines.
            _ = try? await Self.send(ByteBuffer(bytes: bytes("0381 10 11")), on: quic)
            let error = await quic.closed()
            #expect(error.byPeer && error.code == HTTP3ErrorCode.qpackDecompressionFailed.rawValue, "\(error)")
            await client.close(grace: .milliseconds(20))
            try await Self.serverStillServes(server)
        }
    }

    @Test func requestsGetStatusCodes() async throws {
        try await withHTTP3Server(Self.handler) { server in
            let (client, quic) = try await dialH3(server)
            _ = try await Self.openControl(quic)
            // CONNECT without :protocol (a tunnel request with :scheme and :path is malformed).
            #expect(
                try await Self.send(
                    QPACKEncoder.encode(Self.connectFields(protocols: nil, omitProtocol: true)), on: quic) == 400)
            // A protocol the server does not serve.
            #expect(
                try await Self.send(
                    QPACKEncoder.encode(Self.connectFields(protocols: "\"moq-00\", \"x\"")), on: quic, finish: false)
                    == 400)
            // No list at all, on a server that requires one.
            #expect(
                try await Self.send(QPACKEncoder.encode(Self.connectFields(protocols: nil)), on: quic, finish: false)
                    == 400)
            // Another :protocol (a valid extended CONNECT this server does not implement).
            var websocket = Self.connectFields(protocols: nil, omitProtocol: true)
            websocket.append(":protocol", "websocket")
            #expect(try await Self.send(QPACKEncoder.encode(websocket), on: quic, finish: false) == 501)
            // A pseudo-header after a regular field is malformed.
            var late = Self.connectFields(protocols: "\"moq-lite-06\"", omitProtocol: true)
            late.append(":protocol", "webtransport")
            #expect(try await Self.send(QPACKEncoder.encode(late), on: quic, finish: false) == 400)
            // A header block past the limit (16 KiB): 431, decided from the frame length.
            let big = QPACKEncoder.encode([
                (":method", "GET"), (":scheme", "https"), (":path", "/"),
                ("x-big", String(repeating: "\u{1}", count: 20000)),
            ])
            #expect(try await Self.send(big, on: quic) == 431)
            // A small block that decodes past the limit: 431 too.
            var many = HTTP3Fields([(":method", "GET"), (":scheme", "https"), (":path", "/")])
            for _ in 0..<600 { many.append("accept", "*/*") }
            #expect(QPACKEncoder.encode(many).readableBytes < 16384)
            #expect(try await Self.send(QPACKEncoder.encode(many), on: quic) == 431)
            // The connection survived all of it.
            #expect(
                try await Self.send(
                    QPACKEncoder.encode([(":method", "GET"), (":scheme", "https"), (":path", "/")]), on: quic) == 200)
            // And a good CONNECT still gets its session.
            #expect(
                try await Self.send(
                    QPACKEncoder.encode(Self.connectFields(protocols: "\"moq-lite-06\"")), on: quic, finish: false)
                    == 200)
            quic.close()
            await client.close(grace: .milliseconds(20))
        }
    }
}
