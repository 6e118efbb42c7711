import CNGTCP2
import Logging
import NIOCore

/// The channel handler behind a `QUICEndpoint`: routes received datagrams to connections by connection
/// ID, accepts new ones, answers unknown packets (version negotiation, stateless reset), and sends every
/// connection's packets in batches. Lives on, and is only touched from, its channel's event loop.
final class EndpointCore: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let loop: any EventLoop
    let logger: Logger
    let resetSecret: [UInt8]
    private let server: (configuration: QUICServerConfiguration, credentials: TLSCredentials)?
    private let acceptor: AsyncStream<QUICConnection>.Continuation?
    private let maxConnections: Int
    private var context: ChannelHandlerContext?
    private(set) var localAddress: SocketAddress?
    private var routes: [ConnectionID: ConnectionCore] = [:]
    private var connections: [ObjectIdentifier: ConnectionCore] = [:]
    private var dirty: [ConnectionCore] = []
    /// The connections being flushed, swapped with `dirty` so that connections marked during the flush wait
    /// for the next one.
    private var flushing: [ConnectionCore] = []
    private var dirtySet = Set<ObjectIdentifier>()
    /// Connections that received packets in the current read but hold their ACK back (`ConnectionCore.receive`).
    private var deferred: [ConnectionCore] = []
    private var flushScheduled = false
    /// Loop ticks until the scheduled flush.
    private var flushTicksLeft = 0
    /// The loop task that counts those ticks, made once rather than per read. It holds the endpoint, so it
    /// lives from `handlerAdded` to `handlerRemoved`.
    private var flushTick: (@Sendable () -> Void)?
    private var reading = false
    private var batch: PacketBatch
    /// Writes the batches straight to the socket.
    private let sender: DatagramSender
    /// Write passes handed to the channel (the socket would block) and not yet written by it: later passes
    /// queue behind them rather than overtake them.
    private var passesQueuedInChannel = 0
    /// Scratch for the stream data of one ngtcp2 write call (ngtcp2 copies the vectors): one per
    /// endpoint rather than per connection, since only one connection writes at a time on the loop.
    let streamVectors = UnsafeMutablePointer<ngtcp2_vec>.allocate(capacity: EndpointCore.streamVectorCapacity)
    static let streamVectorCapacity = 16
    /// Every connection's next expiry, behind the endpoint's one timerfd.
    var deadlines = ConnectionDeadlines()
    let timer: EndpointTimer
    /// Runs the tasks of every connection of the endpoint (see `QUICConnection.taskExecutor`).
    let taskExecutor: EventLoopTaskExecutor
    private let useSegmentation: Bool
    /// This socket's place among the sockets sharing the port (`cdatagram_socket_steer`).
    let socket: (index: Int, count: Int)
    /// Which socket takes a new connection, and what each holds (`QUICEndpointOptions.placement`).
    private let placement: QUICSocketPlacement
    private let loads: SocketLoads
    /// Every socket of the endpoint in steering order, this one included; set once all are open.
    var peers: [NIOLoopBound<EndpointCore>] = []
    /// Client connection IDs whose first Initial went to another socket: their retransmissions follow it
    /// there, whatever the loads are by then. Bounded; entries expire after `handOffLifetime`.
    private var handedOff: [ConnectionID: (socket: Int, expiry: UInt64)] = [:]
    /// When the full `handedOff` table was last swept: at most once a second, so a flood of Initials costs
    /// no more than one sweep a second.
    private var handOffSweep: UInt64 = 0
    private var statelessResetWindow: (second: UInt64, sent: Int) = (0, 0)
    private(set) var statistics = QUICEndpointStatistics()
    private var closing = false

    deinit { streamVectors.deallocate() }

    init(
        loop: any EventLoop, server: QUICServerConfiguration?, acceptor: AsyncStream<QUICConnection>.Continuation?,
        options: QUICEndpointOptions, descriptor: CInt, socket: (index: Int, count: Int), loads: SocketLoads,
        logger: Logger
    ) throws {
        self.loop = loop
        self.sender = DatagramSender(descriptor: descriptor)
        self.socket = socket
        self.placement = options.placement
        self.loads = loads
        self.logger = logger
        self.acceptor = acceptor
        self.maxConnections = options.maxConnections
        self.server = try server.map { ($0, try TLSCredentials.server($0)) }
        var secret = [UInt8](repeating: 0, count: 32)
        _ = secret.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_KEY, $0.baseAddress, 32) }
        resetSecret = secret
        timer = try EndpointTimer()
        taskExecutor = EventLoopTaskExecutor(loop)
        useSegmentation = options.segmentationOffload && System.supportsUDPSegmentationOffload
        batch = PacketBatch(
            allocator: ByteBufferAllocator(), useSegmentation: useSegmentation,
            maxSegments: 64)  // the kernel's UDP_MAX_SEGMENTS
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: loop)
        flushTick = { bound.value.countFlushTick() }
        localAddress = context.channel.localAddress
    }

    func channelActive(context: ChannelHandlerContext) {
        localAddress = context.channel.localAddress
        context.fireChannelActive()
    }

    // MARK: receiving

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        reading = true
        let ecn = envelope.metadata.map { ecnCodepoint($0.ecnState) } ?? 0
        let total = envelope.data.readableBytes
        let segment = envelope.metadata?.segmentSize ?? total
        envelope.data.withUnsafeReadableBytes { bytes in
            // With GRO one read can hold several datagrams of `segment` bytes (the last may be shorter).
            var offset = 0
            while offset < total {
                let length = min(segment > 0 ? segment : total, total - offset)
                handleDatagram(
                    UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), from: envelope.remoteAddress,
                    ecn: ecn)
                offset += length
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        endOfRead()
        context.fireChannelReadComplete()
    }

    /// What follows every read from the socket, and every datagram another socket handed over.
    private func endOfRead() {
        // Stream data reaches its readers only here, at the end of a read (every connection that received
        // packets is dirty, or deferred when its ACK waits). The flush then waits for the tasks they wake, so
        // the ACKs for what was read and the data those tasks write in reply leave in one batch: one
        // sendmmsg, one timer arm (which also takes the deadlines of the ACKs held back).
        for core in dirty { core.wakeReaders() }
        for core in deferred {
            core.wakeReaders()
            core.armTimer()
        }
        deferred.removeAll(keepingCapacity: true)
        scheduleFlush(afterTicks: Self.readFlushTicks)
    }

    /// Loop ticks between a read and its flush: one for the woken stream readers, one for the tasks they
    /// hand the data to on this loop (as a relay forwarding to another connection does). Data written
    /// further down such a chain goes out in a flush of its own.
    static let readFlushTicks = 2

    func channelInactive(context: ChannelHandlerContext) {
        sender.close()  // NIO closed the descriptor; its number may be reused at once
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushTick = nil
        peers = []  // each core holds every core, itself included
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors and the like surface here; they concern one peer, never the endpoint.
        logger.debug("UDP socket error", metadata: ["error": "\(error)"])
    }

    /// `placed`: another socket already chose this one for the datagram's new connection.
    private func handleDatagram(
        _ packet: UnsafeRawBufferPointer, from remote: SocketAddress, ecn: UInt8, placed: Bool = false
    ) {
        if !placed { statistics.datagramsReceived += 1 }
        guard let base = packet.baseAddress?.assumingMemoryBound(to: UInt8.self), packet.count > 0 else { return }
        var versionCID = ngtcp2_version_cid()
        let rv = ngtcp2_pkt_decode_version_cid(&versionCID, base, packet.count, ConnectionID.issuedLength)
        if rv == NGTCP2_ERR_VERSION_NEGOTIATION {
            sendVersionNegotiation(versionCID, packetLength: packet.count, to: remote)
            return
        }
        guard rv == 0, versionCID.dcidlen <= 20 else {
            statistics.packetsDropped += 1
            return
        }
        let dcid = ConnectionID(pointer: versionCID.dcid, length: versionCID.dcidlen)
        if let core = routes[dcid] {
            core.receive(packet, from: remote, ecn: ecn)
            return
        }
        if versionCID.version != 0 {
            if !placed, let owner = placeElsewhere(dcid, packet) {
                handOff(packet, from: remote, ecn: ecn, to: owner)
            } else {
                acceptIfInitial(packet, from: remote, ecn: ecn)
            }
        } else {
            sendStatelessReset(dcid: dcid, packetLength: packet.count, to: remote)
        }
    }

    private func acceptIfInitial(_ packet: UnsafeRawBufferPointer, from remote: SocketAddress, ecn: UInt8) {
        guard let server, !closing, let localAddress else {
            statistics.packetsDropped += 1
            return
        }
        var header = ngtcp2_pkt_hd()
        guard ngtcp2_accept(&header, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count) == 0 else {
            statistics.packetsDropped += 1
            return
        }
        guard connections.count < maxConnections else {
            statistics.packetsDropped += 1
            logger.warning("connection refused: endpoint at its limit of \(maxConnections) connections")
            return
        }
        do {
            let core = try ConnectionCore.server(
                endpoint: self, configuration: server.configuration, credentials: server.credentials, header: header,
                local: localAddress, remote: remote, resetSecret: resetSecret, logger: logger)
            connections[ObjectIdentifier(core)] = core
            connectionsChanged()
            statistics.connectionsAccepted += 1
            core.receive(packet, from: remote, ecn: ecn)
        } catch {
            logger.error("cannot create connection", metadata: ["error": "\(error)"])
        }
    }

    // MARK: placing new connections

    /// The other socket that should own the connection this long-header packet would start, or nil to
    /// handle it here: the socket its connection ID went to before, else `placement`'s choice for an Initial
    /// this endpoint would accept.
    private func placeElsewhere(_ dcid: ConnectionID, _ packet: UnsafeRawBufferPointer) -> Int? {
        let now = monotonicNow()
        if let earlier = handedOff[dcid] {
            if earlier.expiry > now { return earlier.socket }
            handedOff.removeValue(forKey: dcid)
        }
        guard peers.count > 1, server != nil, !closing, placement != .steered else { return nil }
        var header = ngtcp2_pkt_hd()
        guard ngtcp2_accept(&header, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count) == 0
        else { return nil }
        let owner = placement.owner(receivedOn: socket.index, holding: loads.snapshot)
        guard owner != socket.index, peers.indices.contains(owner) else { return nil }
        if handedOff.count >= Self.handOffCapacity, now &- handOffSweep >= 1_000_000_000 {
            handOffSweep = now
            handedOff = handedOff.filter { $0.value.expiry > now }
        }
        // A flood of Initials: the rest stay where the kernel put them rather than grow the table.
        guard handedOff.count < Self.handOffCapacity else { return nil }
        handedOff[dcid] = (owner, now + Self.handOffLifetime)
        return owner
    }

    /// Client connection IDs remembered at once (`handedOff`).
    static let handOffCapacity = 4096
    /// How long a hand-off is remembered: longer than a client retransmits its first Initial.
    static let handOffLifetime: UInt64 = 30_000_000_000

    /// Gives a datagram to socket `owner`'s loop, as if that socket had read it.
    private func handOff(_ packet: UnsafeRawBufferPointer, from remote: SocketAddress, ecn: UInt8, to owner: Int) {
        statistics.datagramsHandedOff += 1
        let datagram = ByteBuffer(bytes: packet)
        let target = peers[owner]
        target.eventLoop.execute { target.value.receiveHandedOff(datagram, from: remote, ecn: ecn) }
    }

    /// A datagram another socket of the endpoint read and placed on this one.
    func receiveHandedOff(_ datagram: ByteBuffer, from remote: SocketAddress, ecn: UInt8) {
        reading = true
        datagram.withUnsafeReadableBytes { handleDatagram($0, from: remote, ecn: ecn, placed: true) }
        reading = false
        endOfRead()
    }

    private func sendVersionNegotiation(_ versionCID: ngtcp2_version_cid, packetLength: Int, to remote: SocketAddress) {
        // Only answer packets as large as a client Initial must be, so we never amplify.
        guard server != nil, packetLength >= 1200 else { return }
        var versions: [UInt32] = [UInt32(NGTCP2_PROTO_VER_V1), UInt32(NGTCP2_PROTO_VER_V2)]
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 256) { destination in
            var unused: UInt8 = 0
            _ = gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1)
            let n = ngtcp2_pkt_write_version_negotiation(
                destination.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.count, unused,
                versionCID.scid, versionCID.scidlen, versionCID.dcid, versionCID.dcidlen, &versions, versions.count)
            return max(0, n)
        }
        if buffer.readableBytes > 0 { sendImmediately(buffer, to: remote) }
    }

    /// Tells a peer that sent a short-header packet for a connection we do not know that it is gone.
    private func sendStatelessReset(dcid: ConnectionID, packetLength: Int, to remote: SocketAddress) {
        statistics.packetsDropped += 1
        // A reset must be smaller than the packet that caused it (no loops) and at least 22 bytes long.
        guard dcid.length == ConnectionID.issuedLength, packetLength > 22 + 1 else { return }
        let second = monotonicNow() / 1_000_000_000
        if statelessResetWindow.second != second { statelessResetWindow = (second, 0) }
        guard statelessResetWindow.sent < 256 else { return }
        statelessResetWindow.sent += 1
        var token = [UInt8](repeating: 0, count: Int(NGTCP2_STATELESS_RESET_TOKENLEN))
        var cid = dcid.ngtcp2
        let tokenStatus = resetSecret.withUnsafeBufferPointer { secret in
            ngtcp2_crypto_generate_stateless_reset_token(&token, secret.baseAddress, secret.count, &cid)
        }
        guard tokenStatus == 0 else { return }
        let total = min(packetLength - 1, 43)
        var random = [UInt8](repeating: 0, count: total - 1 - Int(NGTCP2_STATELESS_RESET_TOKENLEN))
        _ = random.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_NONCE, $0.baseAddress, $0.count) }
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64) { destination in
            max(
                0,
                ngtcp2_pkt_write_stateless_reset(
                    destination.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.count, &token, &random,
                    random.count))
        }
        if buffer.readableBytes > 0 {
            statistics.statelessResetsSent += 1
            sendImmediately(buffer, to: remote)
        }
    }

    // MARK: dialing

    func connect(
        to remote: SocketAddress, serverName: String, configuration: QUICClientConfiguration,
        promise: EventLoopPromise<QUICConnection>
    ) {
        guard let localAddress, !closing else {
            promise.fail(QUICConnectionError(kind: .local, reason: "the endpoint is closed"))
            return
        }
        do {
            let credentials = try TLSCredentials.client(configuration)
            let core = try ConnectionCore.client(
                endpoint: self, configuration: configuration, credentials: credentials, local: localAddress,
                remote: remote, serverName: serverName, promise: promise, logger: logger)
            connections[ObjectIdentifier(core)] = core
            connectionsChanged()
            writeNow(core)
        } catch {
            promise.fail(error)
        }
    }

    // MARK: connection bookkeeping (called by ConnectionCore)

    /// A connection ID whose packets the kernel steers to this socket.
    func newConnectionID() -> ConnectionID { ConnectionID.random(socket: socket) }

    func route(_ id: ConnectionID, to core: ConnectionCore) { routes[id] = core }
    func unroute(_ id: ConnectionID) { routes.removeValue(forKey: id) }

    func accepted(_ connection: QUICConnection) {
        guard let acceptor else { return }
        if case .dropped = acceptor.yield(connection) {
            connection.close(code: 0x2, reason: "server busy: accept queue full")
        }
    }

    func connectionEnded(_ core: ConnectionCore) {
        statistics.connectionsClosed += 1
    }

    /// The connection finished its closing or draining period: drop every reference to it.
    func forget(_ core: ConnectionCore) {
        for id in core.routedIDs where routes[id] === core { routes.removeValue(forKey: id) }
        connections.removeValue(forKey: ObjectIdentifier(core))
        connectionsChanged()
        if closing, connections.isEmpty { closeChannelIfDone() }
    }

    /// Publishes this socket's connection count to the other sockets and to the statistics.
    private func connectionsChanged() {
        loads.set(socket.index, connections: connections.count)
        statistics.connections = connections.count
    }

    // MARK: sending

    /// Marks a connection as having something to send; sending happens once per loop tick for all of them.
    func needsWrite(_ core: ConnectionCore) {
        if dirtySet.insert(ObjectIdentifier(core)).inserted { dirty.append(core) }
        guard !reading else { return }
        scheduleFlush(afterTicks: 1)
    }

    /// A connection received a packet whose ACK waits: its readers still wake at the end of the read.
    func deferredAcknowledgement(_ core: ConnectionCore) {
        deferred.append(core)
    }

    /// Flushes every dirty connection `ticks` loop ticks from now, unless a flush is already scheduled.
    private func scheduleFlush(afterTicks ticks: Int) {
        guard !flushScheduled, let flushTick else { return }
        flushScheduled = true
        flushTicksLeft = ticks
        loop.execute(flushTick)
    }

    /// Counts down to the flush; past zero it waits (at most `settleTicks` more) while the tasks woken by
    /// the read still have jobs queued, so a chain longer than usual (a new group: the old stream's FIN, a
    /// stream opened, its header, the first frame) leaves in one packet per peer rather than one per step.
    private func countFlushTick() {
        flushTicksLeft -= 1
        let settling = flushTicksLeft > -Self.settleTicks && taskExecutor.hasQueuedJobs
        if flushTicksLeft > 0 || settling, let flushTick { loop.execute(flushTick) } else { flushDirty() }
    }

    /// Extra loop ticks a flush may wait for queued tasks to settle.
    static let settleTicks = 4

    func flushDirty() {
        flushScheduled = false
        if !dirty.isEmpty {
            dirtySet.removeAll(keepingCapacity: true)
            swap(&dirty, &flushing)  // both keep their storage: no array copy per flush
            for core in flushing {
                core.writePackets(into: &batch)
                core.armTimer()
                // A fan-out pass sends as it goes: the peers read the first packets while the rest are sealed.
                if batch.packetCount >= Self.packetsPerSend { emit() }
            }
            flushing.removeAll(keepingCapacity: true)
            emit()
        }
        // Also when nothing was written: expiries and ACKs held back moved deadlines too.
        timer.arm(at: deadlines.earliest)
    }

    /// Packets after which a write pass hands what it has to the socket instead of waiting for its end.
    static let packetsPerSend = 32

    /// Writes one connection's packets right away (timer expiry, new dial).
    func writeNow(_ core: ConnectionCore) {
        core.writePackets(into: &batch)
        core.armTimer()
        emit()
        timer.arm(at: deadlines.earliest)
    }

    /// The timerfd went off: every connection whose deadline passed handles its expiry, then one flush.
    func timerFired() {
        timer.fired()
        statistics.timerWakeups += 1
        let now = monotonicNow()
        reading = true  // the expiries mark connections dirty; they are written below, together
        while let core = deadlines.popDue(now: now) { core.handleTimer() }
        reading = false
        flushDirty()
    }

    func sendImmediately(_ buffer: ByteBuffer, to remote: SocketAddress) {
        guard let context else { return }
        statistics.datagramsSent += 1
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: buffer)), promise: nil)
    }

    private func emit() {
        guard let context, !batch.isEmpty else { return }
        let envelopes = batch.drain()
        var written = 0
        if passesQueuedInChannel == 0 {
            let refused = statistics.sendErrors
            written = sender.send(envelopes, statistics: &statistics)
            if statistics.sendErrors > refused {
                logger.debug("the kernel refused packets", metadata: ["errno": "\(sender.lastError)"])
            }
        }
        if written < envelopes.count { queueInChannel(envelopes[written...], context: context) }
        batch.recycle(envelopes)  // written, or queued by the channel with their own references
    }

    /// Hands packets the socket would not take now to the channel, which writes them once it does.
    private func queueInChannel(_ envelopes: ArraySlice<AddressedEnvelope<ByteBuffer>>, context: ChannelHandlerContext)
    {
        let passWritten = context.eventLoop.makePromise(of: Void.self)
        for (index, envelope) in zip(envelopes.indices, envelopes) {
            statistics.sendCalls += 1
            statistics.datagramsSent += envelope.datagramCount
            context.write(wrapOutboundOut(envelope), promise: index == envelopes.endIndex - 1 ? passWritten : nil)
        }
        context.flush()
        passesQueuedInChannel += 1
        let bound = NIOLoopBound(self, eventLoop: loop)
        passWritten.futureResult.whenComplete { _ in bound.value.passesQueuedInChannel -= 1 }
    }

    // MARK: shutdown

    /// Closes every connection with `code`, then the socket once they are gone (or after `grace`).
    func close(code: UInt64, reason: String, grace: TimeAmount, promise: EventLoopPromise<Void>) {
        closing = true
        acceptor?.finish()
        for core in connections.values {
            core.close(code: code, reason: reason)
        }
        closePromise = promise
        if connections.isEmpty {
            closeChannelIfDone()
        } else {
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.assumeIsolated().scheduleTask(in: grace) { bound.value.closeChannelIfDone() }
        }
    }

    private var closePromise: EventLoopPromise<Void>?

    private func closeChannelIfDone() {
        guard let promise = closePromise else { return }
        closePromise = nil
        guard let context else {
            promise.succeed()
            return
        }
        context.close(promise: nil)
        context.channel.closeFuture.cascade(to: promise)
    }
}

/// Counters of one endpoint, for logs, tests and metrics.
public struct QUICEndpointStatistics: Sendable {
    public var datagramsReceived = 0
    public var datagramsSent = 0
    /// Write calls handed to the socket; fewer than `datagramsSent` when GSO batches packets.
    public var sendCalls = 0
    public var packetsDropped = 0
    /// Packets (or GSO runs) the kernel refused to send (EMSGSIZE, ENETUNREACH, ...); lost like on the wire.
    public var sendErrors = 0
    public var statelessResetsSent = 0
    /// Datagrams that started (or retransmitted the start of) a connection placed on another socket.
    public var datagramsHandedOff = 0
    /// Connections held now (accepted and dialled, including ones in their closing period).
    public var connections = 0
    public var connectionsAccepted = 0
    public var connectionsClosed = 0
    /// Times the endpoint's timer woke the loop (connection expiries: loss detection, pacing, ACK delay, idle).
    public var timerWakeups = 0

    /// Adds another socket's counters to these.
    mutating func add(_ other: QUICEndpointStatistics) {
        datagramsReceived += other.datagramsReceived
        datagramsSent += other.datagramsSent
        sendCalls += other.sendCalls
        packetsDropped += other.packetsDropped
        sendErrors += other.sendErrors
        statelessResetsSent += other.statelessResetsSent
        datagramsHandedOff += other.datagramsHandedOff
        connections += other.connections
        connectionsAccepted += other.connectionsAccepted
        connectionsClosed += other.connectionsClosed
        timerWakeups += other.timerWakeups
    }
}

/// The IP ECN codepoint ngtcp2 expects for NIO's ECN state.
private func ecnCodepoint(_ state: NIOExplicitCongestionNotificationState) -> UInt8 {
    switch state {
    case .transportNotCapable: return 0
    case .transportCapableFlag1: return 1
    case .transportCapableFlag0: return 2
    case .congestionExperienced: return 3
    }
}
