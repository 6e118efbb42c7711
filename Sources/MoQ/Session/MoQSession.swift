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
    /// Decides from the peer's connection path what it may do (nil: everything, from the root).
    public var admission: MoQAdmissionPolicy?
    /// Called with the broadcasts the peer still announced when its session was lost (the connection
    /// dropped rather than the peer unannouncing them); they are kept announced (`Origin.linger`) with
    /// their tracks open, and a session that announces the same path again resumes them. nil: they end.
    public var onPublisherLost: (@Sendable ([LingeringBroadcast]) -> Void)?
    /// The byte bound for the older groups of tracks pulled from the peer (a relay's cache; nil: none).
    public var cache: CacheBudget?
    /// How long a track pulled from the peer on demand stays subscribed with no one reading it.
    public var unusedTrackLinger: Duration
    /// At most this many broadcasts announced by the peer at once, and this many of its subscriptions
    /// served at once: past either, the session is closed with PROTOCOL_VIOLATION naming the limit.
    public var maxPeerBroadcasts: Int
    public var maxPeerSubscriptions: Int
    /// How long the peer has to send SETUP (lite-05+) before the session closes with TIMEOUT.
    public var setupTimeout: Duration
    /// The price of this link (a relay's `?cost=N`): sent to the peer in SETUP (lite-06) and added to the
    /// cost of every route learned from it. nil: the peer's SETUP Cost decides (1 if it sends none).
    public var linkCost: UInt64?
    public var logger: Logger

    public init(
        publish: Origin = Origin(), consume: Origin = Origin(), announceInterest: String? = "",
        hopID: UInt64 = UInt64.random(in: 1..<(1 << 52)), limits: WireLimits = .init(), setupPath: String? = nil,
        maxGroupsInFlight: Int = 8, counters: MoQSessionCounters = MoQSessionCounters(),
        admission: MoQAdmissionPolicy? = nil, setupTimeout: Duration = .seconds(10),
        onPublisherLost: (@Sendable ([LingeringBroadcast]) -> Void)? = nil, unusedTrackLinger: Duration = .seconds(2),
        cache: CacheBudget? = nil, maxPeerBroadcasts: Int = 10_000, maxPeerSubscriptions: Int = 10_000,
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
        self.admission = admission
        self.setupTimeout = setupTimeout
        self.onPublisherLost = onPublisherLost
        self.unusedTrackLinger = unusedTrackLinger
        self.cache = cache
        self.maxPeerBroadcasts = maxPeerBroadcasts
        self.maxPeerSubscriptions = maxPeerSubscriptions
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
    /// What `run()` starts a child task for, in one queue: jobs of the public API (so they run as children
    /// of the session, no stray tasks) and the streams the peer opens.
    private let work: AsyncStream<SessionWork>
    private let workSink: AsyncStream<SessionWork>.Continuation

    private enum SessionWork: Sendable {
        case job(@Sendable () async -> Void)
        case stream(any MoQTransportStream)
    }

    struct SessionState {
        var nextSubscribeID: UInt64 = 0
        /// Our subscriptions, by the id the peer echoes in GROUP headers and datagrams.
        var subscriptions: [UInt64: MoQSubscription] = [:]
        var peerSetup = MoQPeerSetup()
        var peerSetupReceived = false
        /// Settled once the admission policy answered (or the session closed first).
        var admitted: Bool?
        var scope = MoQSessionScope.unrestricted
        var admissionWaiters: [CheckedContinuation<Bool, Never>] = []
        var goaway: String?
        var closed = false
        /// SUBSCRIBEs the peer sent us so far (served or refused).
        var subscriptionsReceived = 0
        /// The peer's SUBSCRIBEs being served now.
        var subscriptionsServing = 0
        /// Whether the datagram reader runs (it starts with our first subscription).
        var receivingDatagrams = false
        /// Streams read by message jobs rather than a task (`StreamWatch`): ended with the session.
        var watches: [ObjectIdentifier: StreamWatch] = [:]
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
        (work, workSink) = AsyncStream.makeStream(of: SessionWork.self)
    }

    /// Serves the session until the connection closes, then ends everything it started. Its tasks run on
    /// the connection's own thread when the transport offers it (a frame reaches the connection without a
    /// hop between threads).
    public func run() async {
        await withTaskExecutorPreference(transport.taskExecutor) { await self.serve() }
    }

    /// The session's tasks: this one starts a child for each `spawn`ed job and each stream the peer opens
    /// (the transport hands them over as they arrive: no task waits for them); beside it, once admitted,
    /// announcements are requested (then read by a `StreamWatch`). When the connection is gone, the session
    /// shuts down and ends them all. An idle session holds this one task, and each subscription it serves
    /// one more: a task costs 1-4 KiB, and keeps the stack memory of its deepest moment while it lives.
    private func serve() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.transport.run() }
            group.addTask {
                guard await self.admitted() else { return }
                for prefix in self.scope.announceRequests(interest: self.configuration.announceInterest) {
                    await self.requestAnnouncements(prefix: prefix)  // then read by a StreamWatch, no task
                }
            }
            // The transport calls this on the connection's thread; nil: the connection is gone.
            transport.deliverIncomingStreams { [weak self] stream in
                guard let self else {
                    stream?.stopSending(code: StreamErrorCode.cancel.rawValue)
                    return
                }
                guard let stream else { return self.shutDown() }
                if case .terminated = self.workSink.yield(.stream(stream)) {
                    stream.stopSending(code: StreamErrorCode.cancel.rawValue)  // the session is over
                }
            }
            for await item in work {  // until `shutDown()`
                switch item {
                case .job(let job): group.addTask { await job() }
                case .stream(let stream): group.addTask { await self.serve(stream) }
                }
            }
            workSink.finish()  // also when this task was cancelled: streams arriving later are refused
            group.cancelAll()
        }
        // Streams read by jobs rather than tasks end here (no job runs any more).
        let watches = state.withLockedValue { state in
            state.closed = true
            defer { state.watches.removeAll() }
            return Array(state.watches.values)
        }
        for watch in watches { watch.end(.failed(CancellationError()), in: self) }
        await onEnd?()
    }

    /// Admits the peer: on lite-05+ after sending our SETUP and reading its own (the session closes with
    /// TIMEOUT if none comes in time), on lite-04 by the WebTransport CONNECT path. False if refused or closed.
    private func admitted() async -> Bool {
        guard version >= .lite05 else {
            // lite-04 has no SETUP: only a WebTransport CONNECT path to go by.
            await admit(path: transport.connectPath)
            return await waitForAdmission()
        }
        return await withDiscardingTaskGroup { timer in
            timer.addTask { await self.closeWithoutSetup(after: self.configuration.setupTimeout) }
            await sendSetup()
            let admitted = await waitForAdmission()
            timer.cancelAll()
            return admitted
        }
    }

    /// Ends the session's subscriptions and the broadcasts it learned from the peer.
    private func shutDown() {
        let subscriptions = state.withLockedValue { state -> [TrackProducer] in
            state.closed = true
            defer { state.subscriptions.removeAll() }
            return state.subscriptions.values.filter { !lingersOnLoss($0) }.map(\.producer)
        }
        for track in subscriptions { track.abort(MoQStreamError(code: 0x3, reason: "session closed")) }
        workSink.finish()
        settleAdmission(false)
    }

    /// Runs `job` as a child task of `run()`; false when the session has ended (the job does not run).
    @discardableResult
    func spawn(_ job: @escaping @Sendable () async -> Void) -> Bool {
        if case .terminated = workSink.yield(.job(job)) { return false }
        return true
    }

    /// Registers a stream watch to end with the session; false when the session has ended already.
    func keep(_ watch: StreamWatch) -> Bool {
        state.withLockedValue { state in
            guard !state.closed else { return false }
            state.watches[ObjectIdentifier(watch)] = watch
            return true
        }
    }

    func drop(_ watch: StreamWatch) {
        state.withLockedValue { _ = $0.watches.removeValue(forKey: ObjectIdentifier(watch)) }
    }

    /// What the peer sent in SETUP (empty on lite-04).
    public var peerSetup: MoQPeerSetup { state.withLockedValue { $0.peerSetup } }

    /// How many SUBSCRIBEs the peer has sent on this session.
    public var subscriptionsReceived: Int { state.withLockedValue { $0.subscriptionsReceived } }

    /// The GOAWAY URI the peer sent, if any ("" = go away without a new address).
    public var receivedGoaway: String? { state.withLockedValue { $0.goaway } }

    /// Whether `subscription` is left open when the session is lost: it feeds a broadcast mirrored from
    /// the peer, and a linger is configured for a returning publisher to resume it.
    func lingersOnLoss(_ subscription: MoQSubscription) -> Bool {
        subscription.upstream && configuration.onPublisherLost != nil
    }

    /// The peer went past one of the session's limits: close the session, saying which.
    func exceeded(_ limit: String) {
        logger.notice("peer exceeded a session limit: closing", metadata: ["limit": "\(limit)"])
        close(code: SessionErrorCode.protocolViolation.rawValue, reason: limit)
    }

    /// What the peer may do (settled once it was admitted).
    var scope: MoQSessionScope { state.withLockedValue { $0.scope } }

    /// Waits until the peer was admitted (true) or the session ended first (false). On lite-05+ this
    /// includes the peer's SETUP: the reference needs ours before it answers, and we need its Origin hop
    /// for split horizon and its Path for admission.
    func waitForAdmission() async -> Bool {
        await withCheckedContinuation { continuation in
            let settled = state.withLockedValue { state -> Bool? in
                if let admitted = state.admitted { return admitted }
                state.admissionWaiters.append(continuation)
                return nil
            }
            if let settled { continuation.resume(returning: settled) }
        }
    }

    func receivedSetup(_ setup: MoQPeerSetup) async {
        state.withLockedValue { state in
            state.peerSetup = setup
            state.peerSetupReceived = true
        }
        await admit(path: transport.connectPath ?? setup.path)
    }

    /// Asks the admission policy about the peer's path: serve it within the granted scope (until the
    /// grant expires), or close the session as unauthorized.
    func admit(path: String?) async {
        switch await configuration.admission?(path) ?? .granted(.unrestricted) {
        case .granted(let scope, let expires):
            state.withLockedValue { $0.scope = scope }
            settleAdmission(true)
            if let expires {
                spawn {
                    try? await Task.sleep(until: expires)
                    guard !Task.isCancelled else { return }
                    self.logger.info("token expired: closing the session")
                    self.close(code: SessionErrorCode.unauthorized.rawValue, reason: "token expired")
                }
            }
        case .refused(let reason):
            logger.notice("session refused", metadata: ["path": "\(Self.redacted(path))", "reason": "\(reason)"])
            // Close first: streams waiting on admission then end with the connection instead of being
            // reset one by one, which a peer could report before the session's UNAUTHORIZED.
            close(code: SessionErrorCode.unauthorized.rawValue, reason: reason)
            settleAdmission(false)
        }
    }

    /// The connection path for logs, with a token's value left out.
    public static func redacted(_ path: String?) -> String {
        guard let path, let question = path.firstIndex(of: "?") else { return path ?? "-" }
        let query = path[path.index(after: question)...].split(separator: "&").map { pair in
            pair.hasPrefix("jwt=") ? "jwt=<redacted>" : String(pair)
        }
        return path[..<question] + "?" + query.joined(separator: "&")
    }

    private func settleAdmission(_ admitted: Bool) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Bool, Never>] in
            guard state.admitted == nil else { return [] }
            state.admitted = admitted
            defer { state.admissionWaiters.removeAll() }
            return state.admissionWaiters
        }
        for waiter in waiters { waiter.resume(returning: admitted) }
    }

    /// A peer that never sends SETUP is closed with TIMEOUT, so it cannot hold a session open silently.
    private func closeWithoutSetup(after timeout: Duration) async {
        try? await Task.sleep(for: timeout)
        guard !Task.isCancelled, !state.withLockedValue({ $0.peerSetupReceived || $0.closed }) else { return }
        logger.info("no SETUP from the peer: closing the session")
        close(code: SessionErrorCode.timeout.rawValue, reason: "no SETUP within \(timeout)")
    }

    /// Closes the session with a moq-lite session code (0 = no error).
    public func close(code: UInt64 = 0, reason: String = "") { transport.close(code: code, reason: reason) }

    /// Waits until the session's connection closed.
    public func closed() async -> (code: UInt64, reason: String) { await transport.closed() }

    // MARK: setup

    private func sendSetup() async {
        var parameters: [SetupParameter] = [.origin(configuration.hopID), .probe(1)]
        if let path = configuration.setupPath { parameters.append(.path(path)) }
        if let cost = configuration.linkCost, version >= .lite06 { parameters.append(.cost(cost)) }
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
