public import MoQ
import NIOConcurrencyHelpers
import NIOCore

/// The caster's shared state: live sources, mount fan-outs, client counts, open connections. Connection
/// handlers call it synchronously from their event loops; the hubs it starts run in `NTRIPServer.run`.
public final class NTRIPCaster: Sendable {
    /// A live source: for status, and its connection to close when its streampoint goes away.
    final class SourceEntry: Sendable {
        let mount: String
        let channel: any Channel
        let address: String
        let version: NTRIPRequest.Version
        let str: String?
        let since = ContinuousClock.now
        let counters = NIOLockedValueBox((bytes: 0, messages: 0, badCRC: 0, rawBytes: 0))

        init(mount: String, channel: any Channel, address: String, version: NTRIPRequest.Version, str: String?) {
            self.mount = mount
            self.channel = channel
            self.address = address
            self.version = version
            self.str = str
        }
    }

    private struct State {
        var sources: [String: SourceEntry] = [:]
        var hubs: [String: MountHub] = [:]
        var clientsPerUser: [String: Int] = [:]
        var clients = 0
        var connections: [UInt64: any Channel] = [:]
        var nextID: UInt64 = 0
        var shutDown = false
    }

    public let configuration: NTRIPConfiguration
    public let origin: Origin
    private let state = NIOLockedValueBox(State())
    let hubStarts: AsyncStream<MountHub>
    private let hubSink: AsyncStream<MountHub>.Continuation

    public init(configuration: NTRIPConfiguration, origin: Origin) {
        self.configuration = configuration
        self.origin = origin
        (hubStarts, hubSink) = AsyncStream.makeStream()
    }

    /// Broadcast path of `mount`.
    public func path(of mount: String) -> String { MoQPath.join(configuration.pathPrefix, mount) }

    /// Whether `mount` has a live broadcast (an NTRIP source or a moq-lite publisher).
    public func isLive(_ mount: String) -> Bool {
        guard let broadcast = origin.consume(path(of: mount)) else { return false }
        return !broadcast.isEnded
    }

    // MARK: connections

    /// Registers an accepted connection (closed at shutdown); nil once shutting down.
    func register(_ channel: any Channel) -> UInt64? {
        state.withLockedValue { state in
            guard !state.shutDown else { return nil }
            state.nextID += 1
            state.connections[state.nextID] = channel
            return state.nextID
        }
    }

    func unregister(_ id: UInt64) { state.withLockedValue { _ = $0.connections.removeValue(forKey: id) } }

    /// Stops hubs and closes every connection.
    func shutdown() {
        let channels = state.withLockedValue { state -> [any Channel] in
            state.shutDown = true
            return Array(state.connections.values)
        }
        hubSink.finish()
        for channel in channels { channel.close(promise: nil) }
    }

    // MARK: sources

    enum ClaimFailure: Error { case taken, tooMany }

    /// Takes `mount` for a new source: refused while another source (or a moq-lite publisher) holds it.
    func claimSource(_ entry: SourceEntry) -> Result<Void, ClaimFailure> {
        state.withLockedValue { state in
            if state.sources[entry.mount] != nil || isLive(entry.mount) { return .failure(.taken) }
            if state.sources.count >= configuration.maxSources { return .failure(.tooMany) }
            state.sources[entry.mount] = entry
            return .success(())
        }
    }

    func releaseSource(_ entry: SourceEntry) {
        state.withLockedValue { state in
            if state.sources[entry.mount] === entry { state.sources.removeValue(forKey: entry.mount) }
        }
    }

    // MARK: clients

    enum AdmitFailure: Error { case tooMany }

    /// Admits a client of `mount` within the global and per-user limits and hands it to the mount's hub
    /// (started if needed).
    func admit(_ client: ClientSink, user: String?) -> Result<Void, AdmitFailure> {
        let (result, newHub) = state.withLockedValue { state -> (Result<Void, AdmitFailure>, MountHub?) in
            let userKey = user ?? ""
            guard !state.shutDown, state.clients < configuration.maxClients,
                state.clientsPerUser[userKey, default: 0] < configuration.maxClientsPerUser
            else { return (.failure(.tooMany), nil) }
            state.clients += 1
            state.clientsPerUser[userKey, default: 0] += 1
            if let hub = state.hubs[client.mount] {
                hub.add(client)
                return (.success(()), nil)
            }
            let hub = MountHub(mount: client.mount, path: path(of: client.mount))
            hub.add(client)
            state.hubs[client.mount] = hub
            return (.success(()), hub)
        }
        if let newHub { hubSink.yield(newHub) }
        return result
    }

    /// A client left.
    func depart(_ client: ClientSink, user: String?) {
        state.withLockedValue { state in
            state.clients -= 1
            state.clientsPerUser[user ?? "", default: 1] -= 1
            if state.clientsPerUser[user ?? ""] == 0 { state.clientsPerUser.removeValue(forKey: user ?? "") }
            state.hubs[client.mount]?.remove(id: client.id)
        }
    }

    /// Removes `hub` if it has no clients (so the next client starts a new one); true if removed.
    func retireIfIdle(_ hub: MountHub) -> Bool {
        state.withLockedValue { state in
            guard hub.clientList.isEmpty || state.shutDown else { return false }
            if state.hubs[hub.mount] === hub { state.hubs.removeValue(forKey: hub.mount) }
            return true
        }
    }

    /// Removes `hub` and returns its clients (to close).
    func retire(_ hub: MountHub) -> [ClientSink] {
        state.withLockedValue { state in
            if state.hubs[hub.mount] === hub { state.hubs.removeValue(forKey: hub.mount) }
            return hub.clientList
        }
    }

    /// Closes the live clients of `user` (deleted, or its password changed); returns how many.
    @discardableResult
    public func disconnect(user: String) -> Int {
        let hubs = state.withLockedValue { Array($0.hubs.values) }
        let clients = hubs.flatMap(\.clientList).filter { $0.snapshot.user == user }
        for client in clients { client.close() }
        return clients.count
    }

    /// Closes the live NTRIP source of `mount` (its streampoint was deleted or its password changed); its
    /// clients stay for the source grace time like after any source loss. True if there was one.
    @discardableResult
    public func disconnectSource(mount: String) -> Bool {
        guard let entry = state.withLockedValue({ $0.sources[mount] }) else { return false }
        entry.channel.close(promise: nil)
        return true
    }

    // MARK: sourcetable and status

    /// STR records: configured streampoints, live NTRIP sources (their own STR if they sent one) and
    /// mounts published by moq-lite peers.
    public func records() -> [StreamRecord] {
        var records: [String: StreamRecord] = [:]
        for record in configuration.access.streampoints() { records[record.mount] = record }
        let sources = state.withLockedValue { $0.sources }
        for (mount, entry) in sources where records[mount] == nil || entry.str != nil {
            records[mount] = StreamRecord(mount: mount, fields: entry.str ?? records[mount]?.fields)
        }
        let prefix = MoQPath.normalize(configuration.pathPrefix)
        for path in origin.announced(prefix: prefix) {
            if let mount = MoQPath.suffix(of: path, under: prefix), !mount.isEmpty, records[mount] == nil {
                records[mount] = StreamRecord(mount: mount)
            }
        }
        return records.values.sorted { $0.mount < $1.mount }
    }

    /// What is connected now.
    public func status() -> CasterStatus {
        let (sources, hubs) = state.withLockedValue { ($0.sources, $0.hubs) }
        let now = ContinuousClock.now
        let mounts = Set(sources.keys).union(hubs.keys).union(records().map(\.mount))
        return CasterStatus(
            mounts: mounts.sorted().map { mount in
                let source = sources[mount]
                let counters = source?.counters.withLockedValue { $0 }
                let uptime = source.map { (now - $0.since).seconds } ?? 0
                let clients = hubs[mount]?.clientList.map(\.snapshot) ?? []
                return CasterStatus.Mount(
                    mount: mount, live: isLive(mount), sourceConnected: source != nil, sourceAddress: source?.address,
                    sourceVersion: source?.version, uptimeSeconds: uptime, bytesIn: counters?.bytes ?? 0,
                    messagesIn: counters?.messages ?? 0, badCRC: counters?.badCRC ?? 0,
                    bytesPerSecond: uptime > 0 ? Double(counters?.bytes ?? 0) / uptime : 0,
                    bytesOut: clients.reduce(0) { $0 + $1.bytesOut },
                    clients: clients.map {
                        CasterStatus.Client(
                            user: $0.user, address: $0.address, version: $0.version, agent: $0.agent,
                            connectedSeconds: (now - $0.since).seconds, bytesOut: $0.bytesOut, lastGGA: $0.lastGGA)
                    })
            })
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
