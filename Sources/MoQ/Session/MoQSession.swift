public import Logging
public import MoQWire
import NIOConcurrencyHelpers
import NIOCore

/// How a session behaves, whichever side opened the connection.
public struct MoQSessionConfiguration: Sendable {
    /// Broadcasts this side offers to the peer (answers the peer's ANNOUNCE_REQUEST, SUBSCRIBE, FETCH).
    public var publish: Origin
    /// Where broadcasts the peer announces are inserted (a relay passes the same origin as `publish`).
    public var consume: Origin
    /// Ask the peer for its announcements under this prefix as soon as the session starts (nil: don't).
    public var announceInterest: String?
    /// This side's hop id in announcement chains (random 52-bit by default, as the reference does).
    public var hopID: UInt64
    public var limits: WireLimits
    /// SETUP Path parameter a client sends on lite-05+ over raw QUIC (the URL's path and query).
    public var setupPath: String?
    /// How many groups of one subscription may be in flight to the peer before the oldest is dropped.
    public var maxGroupsInFlight: Int
    /// Where traffic is counted (a relay shares one across its sessions).
    public var counters: MoQSessionCounters
    public var logger: Logger

    public init(
        publish: Origin = Origin(), consume: Origin = Origin(), announceInterest: String? = "",
        hopID: UInt64 = UInt64.random(in: 1..<(1 << 52)), limits: WireLimits = .init(), setupPath: String? = nil,
        maxGroupsInFlight: Int = 8, counters: MoQSessionCounters = MoQSessionCounters(),
        logger: Logger = Logger(label: "moq")
    ) {
        self.publish = publish
        self.consume = consume
        self.announceInterest = announceInterest
        self.hopID = hopID
        self.limits = limits
        self.setupPath = setupPath
        self.maxGroupsInFlight = maxGroupsInFlight
        self.counters = counters
        self.logger = logger
    }
}

/// What the peer said about itself in SETUP (lite-05+).
public struct MoQPeerSetup: Sendable, Equatable {
    public var origin: UInt64 = 0
    public var probe: UInt64 = 0
    public var path: String?
    public var cost: UInt64 = 1
}

/// One moq-lite session over one transport connection, in either role: it publishes what
/// `configuration.publish` holds and learns what the peer announces into `configuration.consume`.
///
/// Run it with `run()` (it returns when the connection closes); every stream it serves is a child task
/// of that call. The public methods may be called from any task while it runs.
public final class MoQSession: Sendable {
    public let version: MoQVersion
    public let transport: any MoQTransportConnection
    public let configuration: MoQSessionConfiguration
    let logger: Logger
    let state = NIOLockedValueBox(SessionState())
    /// Work the public API hands to `run()`, so it runs as a child of the session (no stray tasks).
    let jobs: AsyncStream<@Sendable () async -> Void>
    private let jobSink: AsyncStream<@Sendable () async -> Void>.Continuation

    struct SessionState {
        var nextSubscribeID: UInt64 = 0
        /// Our subscriptions, by the id the peer echoes in GROUP headers and datagrams.
        var subscriptions: [UInt64: TrackProducer] = [:]
        var peerSetup = MoQPeerSetup()
        var peerSetupReceived = false
        var setupWaiters: [CheckedContinuation<Void, Never>] = []
        var goaway: String?
        var closed = false
        /// SUBSCRIBEs the peer sent us so far (served or refused).
        var subscriptionsReceived = 0
    }

    /// Runs once `run()` has ended everything (a client closes the endpoint it dialled from).
    let onEnd: (@Sendable () async -> Void)?

    public init(
        version: MoQVersion, transport: any MoQTransportConnection, configuration: MoQSessionConfiguration,
        onEnd: (@Sendable () async -> Void)? = nil
    ) {
        self.version = version
        self.onEnd = onEnd
        self.transport = transport
        self.configuration = configuration
        var logger = configuration.logger
        logger[metadataKey: "moq"] = "\(version.alpn)"
        self.logger = logger
        (jobs, jobSink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
        // lite-04 has no SETUP: nothing to wait for.
        if version < .lite05 { state.withLockedValue { $0.peerSetupReceived = true } }
    }

    /// Serves the session until the connection closes, then ends everything it started.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.transport.run() }
            group.addTask { await self.acceptStreams() }
            group.addTask { await self.receiveDatagrams() }
            group.addTask {
                await withDiscardingTaskGroup { jobs in
                    for await job in self.jobs { jobs.addTask { await job() } }
                }
            }
            if version >= .lite05 { group.addTask { await self.sendSetup() } }
            if let prefix = configuration.announceInterest {
                group.addTask { await self.requestAnnouncements(prefix: prefix) }
            }
            _ = await transport.closed()
            shutDown()
            group.cancelAll()
        }
        await onEnd?()
    }

    private func acceptStreams() async {
        await withDiscardingTaskGroup { group in
            for await stream in transport.incomingStreams {
                group.addTask { await self.serve(stream) }
            }
        }
    }

    /// Ends the session's subscriptions and the broadcasts it learned from the peer.
    private func shutDown() {
        let subscriptions = state.withLockedValue { state -> [TrackProducer] in
            state.closed = true
            defer { state.subscriptions.removeAll() }
            return Array(state.subscriptions.values)
        }
        for track in subscriptions { track.abort(MoQStreamError(code: 0x3, reason: "session closed")) }
        jobSink.finish()
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.peerSetupReceived = true
            defer { state.setupWaiters.removeAll() }
            return state.setupWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs `job` as a child task of `run()`.
    func spawn(_ job: @escaping @Sendable () async -> Void) {
        if case .terminated = jobSink.yield(job) { return }
    }

    /// What the peer sent in SETUP (empty on lite-04).
    public var peerSetup: MoQPeerSetup { state.withLockedValue { $0.peerSetup } }

    /// How many SUBSCRIBEs the peer has sent on this session.
    public var subscriptionsReceived: Int { state.withLockedValue { $0.subscriptionsReceived } }

    /// The GOAWAY URI the peer sent, if any ("" = go away without a new address).
    public var receivedGoaway: String? { state.withLockedValue { $0.goaway } }

    /// Waits for the peer's SETUP (lite-05+; the reference needs ours before it answers, and we need its
    /// Origin hop for split horizon).
    func waitForPeerSetup() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> Bool in
                if state.peerSetupReceived { return true }
                state.setupWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func receivedSetup(_ setup: MoQPeerSetup) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.peerSetup = setup
            state.peerSetupReceived = true
            defer { state.setupWaiters.removeAll() }
            return state.setupWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Closes the session with a moq-lite session code (0 = no error).
    public func close(code: UInt64 = 0, reason: String = "") { transport.close(code: code, reason: reason) }

    /// Waits until the session's connection closed.
    public func closed() async -> (code: UInt64, reason: String) { await transport.closed() }

    // MARK: setup

    private func sendSetup() async {
        var parameters: [SetupParameter] = [.origin(configuration.hopID), .probe(1)]
        if let path = configuration.setupPath { parameters.append(.path(path)) }
        do {
            let stream = try await transport.openUnidirectionalStream()
            var buffer = ByteBuffer()
            buffer.writeQUICVarint(UniStreamType.setup.rawValue)
            Setup(parameters: parameters).encode(into: &buffer, version: version)
            try await stream.write(buffer)
            try await stream.finish()
        } catch {
            logger.debug("cannot send SETUP", metadata: ["error": "\(error)"])
        }
    }
}
