import NIOCore

/// `GET /l7rtcp/status/{id}` (§3.6): the PoC's keys plus the additive ones, for stateful transmissions from
/// the registry and for stateless ones from what their id encodes.
extension L7RTCPGateway {
    /// `GET /l7rtcp/status/{id}` (§3.6); `compact` lists `received`/`missing` as ranges.
    public func status(id: String, clientID: String?, compact: Bool) async -> L7RTCPReply {
        await tracked {
            let now = clock()
            if StatelessToken.looksStateless(id) {
                guard let token = verifiedToken(id) else { return .error(.transmissionNotFound) }
                if let clientID, clientID != token.clientID { return .error(.clientMismatch) }
                let streams = token.streams.map { stream in
                    (
                        stream,
                        JSONText.object([
                            ("state", "\"active\""), ("received", "[]"), ("missing", "[]"), ("total", "null"),
                        ])
                    )
                }
                return .json(
                    200,
                    statusDocument(
                        id: id, clientID: token.clientID, sessionType: "stateless", features: token.features,
                        createdAt: token.createdAt, ttl: token.ttl, alive: now <= token.expiresAt,
                        lastReceived: token.createdAt, streams: streams))
            }
            guard let (transmission, oldest) = await registry.status(id: id) else {
                return .error(.transmissionNotFound)
            }
            if let clientID, clientID != transmission.clientID { return .error(.clientMismatch) }
            let streams = transmission.streams.enumerated().map { index, stream in
                let received =
                    compact
                    ? JSONText.array(stream.served.ranges.map { "[\($0.lowerBound),\($0.upperBound)]" })
                    : JSONText.array(stream.served.ids().map { String($0) })
                let missingRanges = stream.served.missingRanges
                let missing =
                    compact
                    ? JSONText.array(missingRanges.map { "[\($0.lowerBound),\($0.upperBound)]" })
                    : JSONText.array(
                        missingRanges.lazy.flatMap { $0 }.prefix(100_000).map { String($0) })
                let next = stream.served.max.map { $0 + 1 } ?? stream.epochStart
                return (
                    stream.id,
                    JSONText.object([
                        ("state", JSONText.string(stream.status.rawValue)), ("received", received),
                        ("missing", missing), ("total", stream.total.map { String($0) } ?? "null"),
                        ("next_packet_id", String(max(next, stream.epochStart))),
                        ("oldest_available", oldest[index].map { String($0) } ?? "null"),
                    ])
                )
            }
            return .json(
                200,
                statusDocument(
                    id: id, clientID: transmission.clientID, sessionType: "stateful", features: transmission.features,
                    createdAt: transmission.createdAt, ttl: transmission.ttl, alive: transmission.isAlive(now: now),
                    lastReceived: transmission.lastReceived, streams: streams))
        }
    }

    private func statusDocument(
        id: String, clientID: String, sessionType: String, features: [Feature], createdAt: Double, ttl: Int,
        alive: Bool, lastReceived: Double, streams: [(String, String)]
    ) -> String {
        JSONText.object([
            ("transmission_id", JSONText.string(id)), ("client_id", JSONText.string(clientID)),
            ("session_type", JSONText.string(sessionType)),
            ("features_enabled", JSONText.array(features.map { JSONText.string($0.rawValue) })),
            ("created_at", String(createdAt)), ("expires_at", String(createdAt + Double(ttl))),
            ("ttl", String(ttl)), ("alive", alive ? "true" : "false"), ("last_received_time", String(lastReceived)),
            ("streams", JSONText.object(streams)),
        ])
    }
}
