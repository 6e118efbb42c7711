public import Foundation
import NIOConcurrencyHelpers

/// A throwaway PostgreSQL server for one test (Debian's postgresql 15, installed by scripts/setup): `initdb`
/// into a temporary directory, `postgres` on an ephemeral loopback port with its socket in that directory,
/// run as the unprivileged `postgres` user when the tests run as root (the server refuses root; `setpriv`
/// changes user and execs), one database created; `stop()` stops it and removes the directory, and so does a
/// test process that dies (the server's shell stops it when its stdin closes). Every wait is bounded.
public final class PostgresServer: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"

    public let port: Int
    public let directory: URL
    public let database: String
    private let stopped = NIOLockedValueBox(false)
    private let server = NIOLockedValueBox<PeerProcess?>(nil)

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE` (trust authentication on loopback).
    public var url: String { url(database: database) }

    public func url(database: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)" }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    private init(port: Int, directory: URL, database: String) {
        self.port = port
        self.directory = directory
        self.database = database
    }

    /// Starts a server and creates `database`.
    public static func start(database: String = "moq") async throws -> PostgresServer {
        guard FileManager.default.isExecutableFile(atPath: binaries + "/postgres") else {
            throw PeerError("no \(binaries)/postgres: run scripts/setup (it installs Debian's postgresql)")
        }
        let directory = try Repository.temporaryDirectory()
        let server = PostgresServer(port: try freeTCPPort(), directory: directory, database: database)
        do {
            if getuid() == 0 {
                try await run("/bin/chown", ["-R", "postgres:postgres", directory.path])
            }
            try await server.asPostgres(
                "initdb", ["-D", server.dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            // A shell holds the server and stops it (fast shutdown) when its stdin closes: at `stop()`, or when
            // the test process dies without calling it.
            let (executable, arguments) = postgresCommand(
                "/bin/sh",
                [
                    "-c", "\"$@\" & pid=$!; cat >/dev/null; kill -INT \"$pid\"; wait \"$pid\"", "sh",
                    binaries + "/postgres", "-D", server.dataDirectory, "-k", directory.path, "-p", "\(server.port)",
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                ])
            let process = try PeerProcess(executable, arguments, name: "postgres")
            server.server.withLockedValue { $0 = process }
            // Ready when pg_isready says so (at most 60 s).
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                let probe = try PeerProcess(
                    binaries + "/pg_isready", ["-h", "127.0.0.1", "-p", "\(server.port)", "-t", "2"], name: "pg_isready"
                )
                if try await probe.waitForExit(timeout: .seconds(10)) == 0 { break }
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw PeerError("postgres did not accept connections: \(process.stderr.suffix(1500))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await run(
                binaries + "/createdb", ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres", database])
            return server
        } catch {
            server.stop()
            throw error
        }
    }

    /// Runs `sql` with psql on `database` (default: the server's) and returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) async throws -> String {
        let process = try PeerProcess(
            Self.binaries + "/psql",
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database ?? self.database, "-v",
                "ON_ERROR_STOP=1", "-At", "-c", sql,
            ], name: "psql")
        guard try await process.waitForExit(timeout: .seconds(30)) == 0 else {
            throw PeerError("psql \(sql): \(process.stderr.suffix(1000))")
        }
        return process.lines.joined(separator: "\n")
    }

    /// Stops the server (fast shutdown, then SIGKILL after 15 s) and removes its directory; a second call does
    /// nothing.
    public func stop() {
        guard
            stopped.withLockedValue({ done in
                defer { done = true }; return !done
            })
        else { return }
        if let process = server.withLockedValue({ $0 }) {
            process.closeInput()
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning {
                let pidFile = directory.appendingPathComponent("data/postmaster.pid")
                if let text = try? String(contentsOf: pidFile, encoding: .utf8),
                    let pid = Int32(text.split(separator: "\n").first ?? "")
                {
                    kill(pid, SIGKILL)
                }
                process.terminate()
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    // MARK: processes

    /// `binary` (a server program) with `arguments`, as the postgres user when this process is root.
    private static func postgresCommand(_ binary: String, _ arguments: [String]) -> (String, [String]) {
        let path = binary.hasPrefix("/") ? binary : binaries + "/" + binary
        guard getuid() == 0 else { return (path, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path] + arguments)
    }

    private func asPostgres(_ binary: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws {
        let (executable, all) = Self.postgresCommand(binary, arguments)
        try await Self.run(executable, all, timeout: timeout)
    }

    private static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60))
        async throws
    {
        let process = try PeerProcess(executable, arguments, name: URL(fileURLWithPath: executable).lastPathComponent)
        let status = try await process.waitForExit(timeout: timeout)
        guard status == 0 else {
            throw PeerError(
                "\(executable) \(arguments.joined(separator: " ")) exited \(status): \(process.stderr.suffix(1500))")
        }
    }
}
