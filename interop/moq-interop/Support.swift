import ArgumentParser
import ExampleSupport
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

/// Writes a diagnostic line to stderr (stdout carries only the PASS/FAIL lines).
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A step's own failure, with the reason to print.
struct StepFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
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
