import ArgumentParser
import Foundation
import MoQ
import MoQWire
import NIOCore
import Synchronization

/// What both sides publish and look for (gomoqt's interop names, without the leading `/`).
enum Interop {
    static let serverBroadcast = "interop/server"
    static let clientBroadcast = "interop/client"
    /// The track name both sides use: the empty string.
    static let track = ""
    static let payload = "HELLO"
}

/// `--version 04|05|06` (also `4` or `moq-lite-04`): the one moq-lite version to offer or accept.
struct VersionOption: ExpressibleByArgument {
    let version: MoQVersion

    init?(argument: String) {
        let digits = argument.hasPrefix("moq-lite-") ? String(argument.dropFirst("moq-lite-".count)) : argument
        guard let number = Int(digits), let version = MoQVersion(rawValue: number) else { return nil }
        self.version = version
    }

    static var allValueStrings: [String] { MoQVersion.allCases.map { String(format: "%02d", $0.rawValue) } }
}

/// Prints PASS/FAIL lines (one write each, so concurrent steps never interleave) and remembers failures.
final class Report: Sendable {
    private let prefix: String
    private let failures = Locked(0)

    init(prefix: String = "") { self.prefix = prefix }

    func pass(_ step: String) { say("PASS \(prefix)\(step)") }

    func fail(_ step: String, _ why: String) {
        failures.withLock { $0 += 1 }
        say("FAIL \(prefix)\(step): \(why)")
    }

    func skip(_ step: String, _ why: String) { say("SKIP \(prefix)\(step): \(why)") }

    var passed: Bool { failures.withLock { $0 == 0 } }
}

/// A value shared between tasks, behind a lock (a class, so escaping closures can capture it).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// Writes one line to stdout at once (unbuffered: a script waiting for it sees it immediately).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a diagnostic line to stderr (stdout carries only the PASS/FAIL lines).
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A step that did not finish in time.
struct StepTimeout: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "no answer within \(timeout)" }
}

/// A step's own failure, with the reason to print.
struct StepFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, failing with `StepTimeout` after `timeout` (the body is cancelled then).
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw StepTimeout(timeout: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Waits (at most 2 s) until the broadcasts a closed session learned from its peer are all unannounced.
///
/// Call it before cancelling a task that iterates `session.announcements()`: `Origin` yields to its
/// watchers while holding its lock, and a watcher's cancellation takes that lock under the task's own
/// status lock, so cancelling while the library unannounces the session's broadcasts can deadlock.
func waitUntilUnannounced(_ session: MoQSession) async {
    for _ in 0..<200 where !session.configuration.consume.announced().isEmpty {
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// The first frame of a track (of whichever group has one first, in order).
func firstFrame(of track: TrackConsumer) async throws -> (group: UInt64, frame: Frame) {
    for try await group in track {
        for try await frame in group { return (group.sequence, frame) }
    }
    throw StepFailure("the track ended before any frame")
}

/// A payload for a log line: quoted text when it is short printable ASCII, else its size and first bytes.
func describe(_ payload: ByteBuffer) -> String {
    let bytes = Array(payload.readableBytesView)
    if bytes.count <= 64, bytes.allSatisfy({ (0x20..<0x7f).contains($0) }) {
        return "\"\(String(decoding: bytes, as: UTF8.self))\""
    }
    return "\(bytes.count) bytes (\(bytes.prefix(16).map { String(format: "%02x", $0) }.joined())...)"
}

/// `HOST:PORT` or `[V6]:PORT`.
func parseHostPort(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else { throw ValidationError("expected HOST:PORT, got \(text)") }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

/// Hex (colons allowed) to bytes, for `--fingerprint`.
func parseHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.filter { $0 != ":" })
    guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(digits[index..<index + 2]), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}
