import Foundation

/// Bytes from a hex string (certificate pins printed by peers), nil if it is not hex.
public func hexBytes(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex
        guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}

/// Fails after `timeout` instead of hanging a test run.
public func withTimeout<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw PeerError("timed out after \(timeout): \(what)")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

extension PeerProcess {
    /// The JSON objects printed one per line so far (the moq_ref.py and aioquic peers' events).
    public var events: [[String: Any]] {
        lines.compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Waits until an event satisfying `predicate` was printed.
    public func waitForEvent(
        timeout: Duration = .seconds(30), _ predicate: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = events.first(where: predicate) { return event }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError(
            "\(name): no matching event within \(timeout); stdout tail: \(lines.suffix(8)); stderr: \(stderr.suffix(1500))"
        )
    }
}
