import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Nodes on "separate hosts": one network namespace per node, joined by veth pairs (needs root and
/// iproute2). Each node has its own address on its `lo` (`address(node)`), routed from each neighbour
/// over the veth pair between them; nodes that share no pair cannot reach each other. Each pair is a
/// /24 of its own, `10.S.k.0/24`, with S taken from the process id (the addresses only exist inside the
/// namespaces, the second octet just keeps two runs' captures apart).
///
/// Namespaces are named `moqt-<pid>-<lab>-<node>`; `close()` (also on deinit) deletes them with their
/// veth pairs, and creating a lab first deletes the namespaces left by test processes that are gone.
public final class NetworkLab: Sendable {
    public static let ip = "/usr/sbin/ip"
    public static let prefix = "moqt-"
    private static let counter = NIOLockedValueBox(0)

    public let nodes: [String]
    private let names: [String: String]
    private let subnet: Int
    /// (node, peer) -> node's address on the pair toward peer.
    private let pairAddresses: [String: String]
    private let closed = NIOLockedValueBox(false)

    /// Creates one namespace per node and one veth pair per link. Throws (the test fails) when that is
    /// not possible, e.g. without root.
    public init(nodes: [String], links: [(String, String)]) throws {
        let lab = Self.counter.withLockedValue {
            $0 += 1
            return $0
        }
        let pid = Int(getpid())
        self.nodes = nodes
        subnet = 16 + pid % 200
        names = Dictionary(uniqueKeysWithValues: nodes.map { ($0, "\(Self.prefix)\(pid)-\(lab)-\($0)") })
        var pairAddresses: [String: String] = [:]
        for (index, (near, far)) in links.enumerated() {
            pairAddresses["\(near)>\(far)"] = "10.\(subnet).\(index + 1).1"
            pairAddresses["\(far)>\(near)"] = "10.\(subnet).\(index + 1).2"
        }
        self.pairAddresses = pairAddresses
        guard getuid() == 0 else {
            throw PeerError(
                "network namespace tests need root (ip netns add, veth pairs): running as uid \(getuid()); run them as root"
            )
        }
        guard FileManager.default.isExecutableFile(atPath: Self.ip) else {
            throw PeerError("network namespace tests need iproute2 (\(Self.ip)): run scripts/setup")
        }
        Self.deleteStaleNamespaces()
        do {
            for node in nodes {
                let ns = names[node]!
                try Self.run(["netns", "add", ns])
                try Self.run(["-n", ns, "link", "set", "lo", "up"])
                try Self.run(["-n", ns, "addr", "add", "\(address(node))/32", "dev", "lo"])
            }
            for (near, far) in links {
                guard let nearNS = names[near], let farNS = names[far] else {
                    throw PeerError("link \(near)-\(far) names an unknown node")
                }
                try Self.run([
                    "link", "add", "to-\(far)", "netns", nearNS, "type", "veth", "peer", "name", "to-\(near)", "netns",
                    farNS,
                ])
                for (node, peer) in [(near, far), (far, near)] {
                    let ns = names[node]!
                    try Self.run(["-n", ns, "addr", "add", "\(address(node, toward: peer))/24", "dev", "to-\(peer)"])
                    try Self.run(["-n", ns, "link", "set", "to-\(peer)", "up"])
                    try Self.run([
                        "-n", ns, "route", "add", "\(address(peer))/32", "via", address(peer, toward: node),
                    ])
                }
            }
        } catch {
            close()
            throw PeerError("cannot build the network namespaces (root and iproute2 with veth needed): \(error)")
        }
    }

    /// The namespace of `node`.
    public func namespace(_ node: String) -> String { names[node]! }

    /// `node`'s own address (on its `lo`), reachable from its neighbours.
    public func address(_ node: String) -> String {
        "10.\(subnet).200.\(nodes.firstIndex(of: node)! + 1)"
    }

    /// `node`'s address on the veth pair toward `peer`.
    public func address(_ node: String, toward peer: String) -> String {
        pairAddresses["\(node)>\(peer)"]!
    }

    /// Starts `executable` inside `node`'s namespace (`ip netns exec` execs it: the pid is the program's).
    public func process(in node: String, _ executable: String, _ arguments: [String], name: String? = nil) throws
        -> PeerProcess
    {
        try PeerProcess(
            Self.ip, ["netns", "exec", namespace(node), executable] + arguments,
            name: name ?? "\(URL(fileURLWithPath: executable).lastPathComponent) in \(node)")
    }

    /// The namespaces that exist now with this lab's names.
    public var existingNamespaces: [String] {
        let all = (try? Self.run(["netns", "list"])) ?? ""
        let ours = Set(names.values)
        return Self.namespaceNames(all).filter { ours.contains($0) }
    }

    /// Deletes the namespaces (their veth pairs go with them). Processes still inside keep running in
    /// an unnamed namespace until they exit: stop them first.
    public func close() {
        let first = closed.withLockedValue { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for ns in names.values { _ = try? Self.run(["netns", "delete", ns]) }
    }

    deinit { close() }

    /// Deletes `moqt-<pid>-...` namespaces whose process no longer exists (a run that was killed).
    private static func deleteStaleNamespaces() {
        let all = (try? run(["netns", "list"])) ?? ""
        for ns in namespaceNames(all) where ns.hasPrefix(prefix) {
            let pidText = ns.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(pidText), pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { _ = try? run(["netns", "delete", ns]) }
        }
    }

    /// Names from `ip netns list` ("name" or "name (id: 3)" per line).
    private static func namespaceNames(_ listing: String) -> [String] {
        listing.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Runs `ip arguments` and returns its stdout; throws with its stderr if it fails (bounded: 20 s).
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw PeerError("ip \(arguments.joined(separator: " ")) did not finish within 20 s")
        }
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw PeerError(
                "ip \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(stderr)")
        }
        return stdout
    }
}
