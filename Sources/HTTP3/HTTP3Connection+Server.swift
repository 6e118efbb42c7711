import Logging
import NIOCore
import QUIC

extension HTTP3Connection {
    /// A request stream: HEADERS (bounded), then the body or, for extended CONNECT, a WebTransport session.
    func serveRequest(_ reader: inout FrameStreamReader, handler: HTTP3ServerHandler) async throws {
        let stream = reader.stream
        let refused = state.withLockedValue { state -> Bool in
            state.highestRequestID = max(state.highestRequestID, stream.id)
            return state.goawaySent
        }
        if refused {
            stream.stopSending(code: HTTP3ErrorCode.requestRejected.rawValue)
            stream.reset(code: HTTP3ErrorCode.requestRejected.rawValue)
            return
        }
        var fieldsBlock: ByteBuffer?
        while fieldsBlock == nil {
            guard let (type, length) = try await reader.peekFrameHeader() else { return }
            if type == HTTP3Frame.FrameType.headers, length > UInt64(configuration.maxFieldSectionSize) {
                return try await reject(stream, status: 431, "field section of \(length) bytes")
            }
            switch try await reader.readFrame(maxPayload: configuration.maxFieldSectionSize) {
            case .headers(let block): fieldsBlock = block
            case .other: continue
            case .data: throw HTTP3Error(.frameUnexpected, "DATA before HEADERS")
            case .settings, .goaway: throw HTTP3Error(.frameUnexpected, "control frame on a request stream")
            case nil: return
            }
        }
        let fields: HTTP3Fields
        do {
            fields = try QPACKDecoder(maxFieldSectionSize: configuration.maxFieldSectionSize).decode(fieldsBlock!)
        } catch .tooLarge {
            return try await reject(stream, status: 431, "field section too large")
        } catch .protocolError(let error) {
            throw error
        }
        guard let request = HTTP3Request(fields: fields) else {
            return try await reject(stream, status: 400, "malformed request")
        }
        if request.method == "CONNECT" {
            try await serveConnect(request, reader: reader, handler: handler)
        } else {
            var body = ByteBuffer()
            while let frame = try await reader.readFrame(maxPayload: configuration.maxBodySize) {
                guard case .data(let chunk) = frame else { continue }
                guard body.readableBytes + chunk.readableBytes <= configuration.maxBodySize else {
                    return try await reject(stream, status: 413, "body too large")
                }
                body.writeImmutableBuffer(chunk)
            }
            var complete = request
            complete.body = body
            let response = await handler.respond(complete)
            try await send(response, on: stream)
        }
    }

    /// Extended CONNECT: WebTransport with protocol negotiation, anything else refused.
    private func serveConnect(_ request: HTTP3Request, reader: FrameStreamReader, handler: HTTP3ServerHandler)
        async throws
    {
        let stream = reader.stream
        guard let connectProtocol = request.connectProtocol else {
            return try await reject(stream, status: 400, "CONNECT without :protocol (no tunnels here)")
        }
        guard connectProtocol == "webtransport" || connectProtocol == "webtransport-h3" else {
            return try await reject(stream, status: 501, "unsupported :protocol \(connectProtocol)")
        }
        var chosen: String?
        if let offered = request.fields["wt-available-protocols"] {
            guard let list = StructuredFieldList.parseStrings(offered) else {
                return try await reject(stream, status: 400, "malformed wt-available-protocols")
            }
            // Client preference, as the reference server does.
            guard let match = list.first(where: handler.webTransportProtocols.contains) else {
                return try await reject(stream, status: 400, "none of the offered WebTransport protocols is served")
            }
            chosen = match
        } else if !handler.acceptsUnnegotiated {
            return try await reject(stream, status: 400, "wt-available-protocols required")
        }
        var fields: HTTP3Fields = [("sec-webtransport-http3-draft", "draft02")]
        if let chosen { fields.append("wt-protocol", StructuredFieldList.string(chosen)) }
        try await stream.write(
            HTTP3Frame.headers(QPACKEncoder.encode(HTTP3Response(status: 200, fields: fields).encodedFields)).encoded())
        let session = WebTransportSession(
            connectStream: stream, request: request, negotiatedProtocol: chosen, connection: self)
        register(session)
        logger.debug("WebTransport session", metadata: ["id": "\(session.id)", "protocol": "\(chosen ?? "-")"])
        await withDiscardingTaskGroup { group in
            group.addTask {
                await handler.session(session)
                session.close()
            }
            await readCapsules(reader, session: session)
        }
    }

    /// Answers with an error status and a one-line reason, ending the request.
    private func reject(_ stream: QUICStream, status: Int, _ reason: String) async throws {
        logger.debug("HTTP/3 request refused", metadata: ["status": "\(status)", "reason": "\(reason)"])
        // No STOP_SENDING: when the request side already ended it closes the stream before the answer leaves.
        try await send(HTTP3Response(status: status, text: reason + "\n"), on: stream)
    }

    func send(_ response: HTTP3Response, on stream: QUICStream) async throws {
        var wire = HTTP3Frame.headers(QPACKEncoder.encode(response.encodedFields)).encoded()
        if response.body.readableBytes > 0 {
            HTTP3Frame.writeHeader(type: HTTP3Frame.FrameType.data, length: response.body.readableBytes, into: &wire)
        }
        try await stream.write(wire, then: response.body, finish: true)
    }
}
