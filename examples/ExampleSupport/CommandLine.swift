import Foundation
public import QUIC

/// Writes one line to stdout at once (unbuffered, so a script waiting for it sees it immediately).
public func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// `--fingerprint HEX` pins the server's certificate, `--insecure` accepts any; otherwise the system CAs.
public func verification(fingerprint: String?, insecure: Bool) throws -> QUICPeerVerification {
    if insecure { return .insecureNoVerification }
    guard let fingerprint else { return .systemRoots }
    guard let pinned = QUICPeerVerification.pinnedSHA256(hex: fingerprint) else {
        throw ExampleError("--fingerprint must be 64 hex digits (the server's certificate SHA-256)")
    }
    return pinned
}

/// A command-line mistake, said plainly.
public struct ExampleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct TimedOut: Error, CustomStringConvertible {
    public let timeout: Duration
    public var description: String { "timed out after \(timeout)" }
}

/// Runs `body`, throwing `TimedOut` after `timeout` (the body is cancelled then).
public func withTimeout<T: Sendable>(
    _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(timeout: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
