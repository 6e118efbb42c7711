import Foundation
public import QUIC

/// Writes one line to stdout at once (unbuffered, so a script waiting for it sees it immediately).
public func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// `HOST:PORT` or `[V6]:PORT`.
public func parseHostPort(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else { throw ExampleError("expected HOST:PORT, got \(text)") }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

/// Bytes from hex (colons allowed, as some tools print fingerprints), nil if it is not hex.
public func parseHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.filter { $0 != ":" })
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(digits[index..<index + 2]), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}

/// `--fingerprint HEX` pins the server's certificate, `--insecure` accepts any; otherwise the system CAs.
public func verification(fingerprint: String?, insecure: Bool) throws -> QUICPeerVerification {
    if insecure { return .insecureNoVerification }
    guard let fingerprint else { return .systemRoots }
    guard let pin = parseHex(fingerprint), pin.count == 32 else {
        throw ExampleError("--fingerprint must be 64 hex digits (the server's certificate SHA-256)")
    }
    return .pinnedSHA256([pin])
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
