/// Replay protection for mutating requests (§3.10): a request that carries `X-Request-Timestamp` must be
/// within ±300 s of the server's clock (else 400 `stale_request`), and one that carries `X-Request-Nonce` is
/// refused with 409 `replayed_request` if the nonce was seen in the last 600 s. A value type; the gateway
/// holds one under a lock. (Request signatures, which need per-client keys, are not implemented.)
public struct ReplayGuard: Sendable {
    public static let window = 300.0
    public static let memory = 600.0
    /// Most nonces remembered at once (the oldest are forgotten first beyond it).
    public let capacity: Int
    private var seen: [String: Double] = [:]
    private var order: [(nonce: String, at: Double)] = []
    private var head = 0

    public init(capacity: Int = 100_000) { self.capacity = capacity }

    /// Checks and records one request's headers at `now`.
    public mutating func admit(timestamp: String?, nonce: String?, now: Double) -> L7RTCPError? {
        if let timestamp {
            guard let seconds = Double(timestamp), seconds.isFinite else {
                return .invalidHeader("X-Request-Timestamp", reason: "Unix seconds expected")
            }
            if abs(seconds - now) > Self.window { return .staleRequest }
        }
        guard let nonce else { return nil }
        guard (16...64).contains(nonce.utf8.count),
            nonce.unicodeScalars.allSatisfy({ StreamSpec.isAlnum($0) || $0 == "-" || $0 == "_" })
        else { return .invalidHeader("X-Request-Nonce", reason: "16-64 base64url characters expected") }
        forget(before: now - Self.memory)
        if seen[nonce] != nil { return .replayedRequest }
        seen[nonce] = now
        order.append((nonce, now))
        if seen.count > capacity { forget(count: seen.count - capacity) }
        return nil
    }

    private mutating func forget(before cutoff: Double) {
        while head < order.count, order[head].at < cutoff {
            seen[order[head].nonce] = nil
            head += 1
        }
        compact()
    }

    private mutating func forget(count: Int) {
        for _ in 0..<count where head < order.count {
            seen[order[head].nonce] = nil
            head += 1
        }
        compact()
    }

    private mutating func compact() {
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
