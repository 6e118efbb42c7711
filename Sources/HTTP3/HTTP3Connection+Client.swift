import NIOCore
import QUIC

extension HTTP3Connection {
    /// Sends a request and reads the whole response.
    public func request(_ request: HTTP3Request) async throws -> HTTP3Response {
        let stream = try await quic.openBidirectionalStream()
        var wire = HTTP3Frame.headers(QPACKEncoder.encode(request.encodedFields)).encoded()
        if request.body.readableBytes > 0 {
            HTTP3Frame.writeHeader(type: HTTP3Frame.FrameType.data, length: request.body.readableBytes, into: &wire)
        }
        try await stream.write(wire, then: request.body, finish: true)
        var reader = FrameStreamReader(stream)
        var response = try await readResponseHead(&reader)
        while let frame = try await reader.readFrame(maxPayload: configuration.maxBodySize) {
            guard case .data(let chunk) = frame else { continue }
            guard response.body.readableBytes + chunk.readableBytes <= configuration.maxBodySize else {
                stream.stopSending(code: HTTP3ErrorCode.excessiveLoad.rawValue)
                throw HTTP3Error(.excessiveLoad, "response body too large")
            }
            response.body.writeImmutableBuffer(chunk)
        }
        return response
    }

    /// Opens a WebTransport session with extended CONNECT, offering `protocols` in preference order.
    /// Throws `HTTP3ClientError.rejected` on a non-2xx answer.
    public func webTransport(
        authority: String, path: String, protocols: [String] = [], fields extra: HTTP3Fields = []
    ) async throws -> WebTransportSession {
        let stream = try await quic.openBidirectionalStream()
        var fields: HTTP3Fields = [("sec-webtransport-http3-draft02", "1")]
        if !protocols.isEmpty { fields.append("wt-available-protocols", StructuredFieldList.strings(protocols)) }
        fields.fields += extra.fields
        let request = HTTP3Request(
            method: "CONNECT", authority: authority, path: path.isEmpty ? "/" : path, connectProtocol: "webtransport",
            fields: fields)
        try await stream.write(HTTP3Frame.headers(QPACKEncoder.encode(request.encodedFields)).encoded())
        var reader = FrameStreamReader(stream)
        let response = try await readResponseHead(&reader)
        guard (200..<300).contains(response.status) else {
            stream.reset(code: HTTP3ErrorCode.requestCancelled.rawValue)
            throw HTTP3ClientError.rejected(status: response.status)
        }
        let chosen = response.fields["wt-protocol"].flatMap { StructuredFieldList.parseStrings($0)?.first }
        let session = WebTransportSession(
            connectStream: stream, request: request, negotiatedProtocol: chosen, connection: self)
        register(session)
        let capsuleReader = reader
        jobSink.yield { await self.readCapsules(capsuleReader, session: session) }
        return session
    }

    /// Reads up to the final response's HEADERS (interim 1xx and unknown frames skipped).
    private func readResponseHead(_ reader: inout FrameStreamReader) async throws -> HTTP3Response {
        while let frame = try await reader.readFrame(maxPayload: configuration.maxFieldSectionSize) {
            guard case .headers(let block) = frame else {
                if case .data = frame { throw HTTP3Error(.frameUnexpected, "DATA before HEADERS") }
                continue
            }
            let fields: HTTP3Fields
            do {
                fields = try QPACKDecoder(maxFieldSectionSize: configuration.maxFieldSectionSize).decode(block)
            } catch .tooLarge {
                throw HTTP3Error(.excessiveLoad, "response field section too large")
            } catch .protocolError(let error) {
                throw error
            }
            guard let statusText = fields[":status"], let status = Int(statusText) else {
                throw HTTP3Error(.messageError, "response without :status")
            }
            if (100..<200).contains(status) { continue }
            return HTTP3Response(status: status, fields: HTTP3Fields(fields.fields.filter { !$0.name.hasPrefix(":") }))
        }
        throw HTTP3ClientError.noResponse
    }
}
