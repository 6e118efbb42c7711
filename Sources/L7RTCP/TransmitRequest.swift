/// `POST /l7rtcp/transmit` headers (§3.4, §3.5): stream control wins over a pull when both are present.
public enum TransmitRequest: Sendable, Equatable {
    case control(transmission: String, StreamControl)
    case pull(transmission: String, stream: String, packet: UInt64, waitMs: Int)

    public static func parse(_ header: (String) -> String?, maxWaitMs: Int = 30_000) -> Result<
        TransmitRequest, L7RTCPError
    > {
        if let error = HeaderCheck.version(header("X-L7RTCP-Version")) { return .failure(error) }
        guard let id = header("X-Transmission-ID") else { return .failure(.missingHeader("X-Transmission-ID")) }
        if let control = header("X-Stream-Control") {
            return StreamControl.parse(control).map { .control(transmission: id, $0) }
        }
        let stream = header("X-Stream-ID")
        let packet = header("X-Packet-ID")
        switch (stream, packet) {
        case (nil, nil):
            return .failure(.missingPullHeaders(missing: "either (X-Stream-ID and X-Packet-ID) or (X-Stream-Control)"))
        case (nil, _): return .failure(.missingPullHeaders(missing: "X-Stream-ID"))
        case (_, nil): return .failure(.missingPullHeaders(missing: "X-Packet-ID"))
        case (let stream?, let packet?):
            let wait: Int
            do {
                wait = try HeaderCheck.integer(header("X-Wait-Ms"), "X-Wait-Ms", in: 0...maxWaitMs, digits: 6) ?? 0
            } catch let error as L7RTCPError {
                return .failure(error)
            } catch {
                return .failure(.invalidHeader("X-Wait-Ms", reason: "\(error)"))
            }
            return HeaderCheck.packetID(packet).map {
                .pull(transmission: id, stream: stream, packet: $0, waitMs: wait)
            }
        }
    }
}
