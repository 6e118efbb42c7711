// What tests against local servers share: a free port, plain HTTP GETs with curl, polling until a condition holds.
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port that was free a moment ago.
public func freeTCPPort() throws -> Int { try freePort(type: Int32(SOCK_STREAM.rawValue)) }

/// A loopback UDP port that was free a moment ago (for a relay that must know its own URL before it starts).
public func freeUDPPort() throws -> Int { try freePort(type: Int32(SOCK_DGRAM.rawValue)) }

private func freePort(type: Int32) throws -> Int {
    let fd = socket(AF_INET, type, 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw PeerError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// GET `url` and return the body as text (URLSession is not needed for loopback plain HTTP); with a
/// `namespace`, curl runs inside that network namespace (`NetworkLab`).
public func httpGet(_ url: String, in namespace: String? = nil) async throws -> String {
    let curl = ["/usr/bin/curl", "-s", "--max-time", "10", url]
    let process =
        try namespace.map { try PeerProcess(NetworkLab.ip, ["netns", "exec", $0] + curl, name: "curl in \($0)") }
        ?? PeerProcess(curl[0], Array(curl.dropFirst()), name: "curl")
    _ = try await process.waitForExit(timeout: .seconds(15))
    return process.lines.map { $0 + "\n" }.joined()
}

/// The HTTP status of GET `url`.
public func httpStatus(_ url: String) async throws -> Int {
    let process = try PeerProcess(
        "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", url], name: "curl")
    _ = try await process.waitForExit(timeout: .seconds(15))
    return Int(process.lines.last ?? "") ?? 0
}

/// GET `url`: the status and the body's bytes, as sent (binary bodies are not text).
public func httpGetBytes(_ url: String) async throws -> (status: Int, body: [UInt8]) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    let process = try PeerProcess(
        "/usr/bin/curl", ["-s", "-o", file.path, "-w", "%{http_code}", "--max-time", "10", url], name: "curl")
    _ = try await process.waitForExit(timeout: .seconds(15))
    let body = (try? Data(contentsOf: file)).map { [UInt8]($0) } ?? []
    return (Int(process.lines.last ?? "") ?? 0, body)
}

/// Polls `condition` every 100 ms for at most `timeout`.
public func waitUntil(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    #expect(try await condition(), "condition still false after \(timeout)")
}
