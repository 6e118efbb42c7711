import Foundation
public import NIOCore

/// `POST /l7rtcp/resend/{id}` (§3.7): pins the listed chunks of a stateful transmission until TTL; for a
/// stateless one, reports which ids can still be pulled again.
extension L7RTCPGateway {
    /// `POST /l7rtcp/resend/{id}` with `{"stream": "...", "chunks": [int, ...]}` (§3.7).
    public func resend(id: String, body: ByteBuffer, header: (String) -> String? = { _ in nil }) async
        -> L7RTCPReply
    {
        let replayed = replayCheck(header)
        return await tracked {
            if let replayed { return .error(replayed) }
            let request: ResendBody
            do {
                request = try JSONDecoder().decode(ResendBody.self, from: Data(body.readableBytesView))
            } catch {
                return .error(.invalidBody("expected {\"stream\": string, \"chunks\": [non-negative int]}"))
            }
            guard request.chunks.count <= configuration.maxResendChunks else {
                return .error(.tooManyChunks(limit: configuration.maxResendChunks))
            }
            let now = clock()
            let result: Result<(queued: [UInt64], unavailable: [UInt64]), L7RTCPError>
            if StatelessToken.looksStateless(id) {
                guard let token = verifiedToken(id) else { return .error(.transmissionNotFound) }
                guard token.features.contains(.resend) else { return .error(.featureNotEnabled(.resend)) }
                guard let index = token.streams.firstIndex(of: request.stream) else {
                    return .error(.unknownStream(request.stream))
                }
                guard now <= token.expiresAt else { return .error(.transmissionExpired) }
                let anchor = token.anchors[index]
                let feed = feeds.feed(instance: anchor.feed)
                var queued: [UInt64] = []
                var unavailable: [UInt64] = []
                for packet in request.chunks {
                    if case .chunk = feed?.lookup(anchor.base + packet) {
                        queued.append(packet)
                    } else {
                        unavailable.append(packet)
                    }
                }
                result = .success((queued, unavailable))
            } else {
                result = await registry.resend(id: id, stream: request.stream, chunks: request.chunks, now: now)
            }
            switch result {
            case .failure(let error): return .error(error)
            case .success(let split):
                metrics.resend(chunks: request.chunks.count)
                return .json(
                    200,
                    JSONText.object([
                        ("message", "\"Resend request accepted\""),
                        ("chunks_queued", JSONText.array(split.queued.map { String($0) })),
                        ("unavailable", JSONText.array(split.unavailable.map { String($0) })),
                    ]))
            }
        }
    }

    struct ResendBody: Decodable {
        var stream: String
        var chunks: [UInt64]
    }
}
