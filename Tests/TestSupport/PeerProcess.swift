public import Foundation
import NIOConcurrencyHelpers

/// A peer program started by a test: its stdout is collected line by line, its stdin stays open (the
/// Python peers exit when it closes), and it is killed when the test ends.
public final class PeerProcess: Sendable {
    private let process: Process
    private let stdinPipe = Pipe()
    private let state = NIOLockedValueBox<(lines: [String], partial: String, stderr: String, closed: Bool)>(
        ([], "", "", false))
    public let name: String

    public init(_ executable: String, _ arguments: [String], name: String? = nil) throws {
        self.name = name ?? URL(fileURLWithPath: arguments.first ?? executable).lastPathComponent
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = stdinPipe
        self.process = process
        let state = self.state
        try process.run()
        // Blocking reads on threads of their own: Foundation's readabilityHandler can lose the last output
        // of a process that exits at once on Linux (a curl reply went missing under load).
        Self.drain(stdoutPipe) { data in
            state.withLockedValue { state in
                guard let data else {
                    if !state.partial.isEmpty { state.lines.append(state.partial) }
                    state.partial = ""
                    state.closed = true
                    return
                }
                state.partial += String(decoding: data, as: UTF8.self)
                while let newline = state.partial.firstIndex(of: "\n") {
                    state.lines.append(String(state.partial[..<newline]))
                    state.partial = String(state.partial[state.partial.index(after: newline)...])
                }
            }
        }
        Self.drain(stderrPipe) { data in
            guard let data else { return }
            state.withLockedValue { state in
                state.stderr += String(decoding: data, as: UTF8.self)
                if state.stderr.count > 1_000_000 { state.stderr = String(state.stderr.suffix(500_000)) }
            }
        }
    }

    /// Reads `pipe` to its end on a thread of its own, handing each read to `received` and then nil.
    private static func drain(_ pipe: Pipe, _ received: @escaping @Sendable (Data?) -> Void) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    received(Data(buffer[..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            received(nil)
            try? handle.close()
        }
    }

    /// Complete stdout lines so far.
    public var lines: [String] { state.withLockedValue { $0.lines } }
    public var stderr: String { state.withLockedValue { $0.stderr } }
    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }

    /// Waits for the first stdout line starting with `prefix` (bounded by `timeout`).
    public func waitForLine(prefix: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = lines.first(where: { $0.hasPrefix(prefix) }) { return line }
            if !process.isRunning, state.withLockedValue({ $0.closed }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError(
            "\(name): no line starting with '\(prefix)' within \(timeout); stdout: \(lines.suffix(10)); stderr: \(stderr.suffix(2000))"
        )
    }

    /// Waits for a stderr line containing `text` (programs that log there, like ngtcp2's examples).
    public func waitForStderr(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError("\(name): stderr has no '\(text)' within \(timeout); stderr: \(stderr.suffix(2000))")
    }

    /// Waits for the process to exit and returns its status (bounded by `timeout`, then killed).
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                terminate()
                throw PeerError("\(name) did not exit within \(timeout); stderr: \(stderr.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the pipe handler drain the last output (up to end of file; a loaded machine may take a while).
        for _ in 0..<300 where !state.withLockedValue({ $0.closed }) { try await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }

    /// Closes the peer's stdin: the Python peers take that as "exit now, cleanly" (signals sent from a
    /// test may be blocked by the test runner's inherited signal mask).
    public func closeInput() { try? stdinPipe.fileHandleForWriting.close() }

    public func terminate() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? stdinPipe.fileHandleForWriting.close()
    }

    deinit { terminate() }
}

public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where the repository, its venv and its peer scripts are.
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
    public static var python: String {
        let path = root.appendingPathComponent(".venv/bin/python").path
        precondition(FileManager.default.isExecutableFile(atPath: path), "run scripts/setup first: \(path) is missing")
        return path
    }
    public static func peer(_ script: String) -> String { root.appendingPathComponent("Tests/Peers/\(script)").path }

    /// An executable product of this package, from the build directory the tests run from (the test
    /// bundle's own directory, whatever `--scratch-path` was), else `.build/debug`.
    public static func product(_ name: String) throws -> String {
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
        directories.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
        directories.append(root.appendingPathComponent(".build/debug"))
        for directory in directories {
            let path = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw PeerError("no \(name) executable in \(directories.map(\.path)): run `swift build --build-tests` first")
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swift-moq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
