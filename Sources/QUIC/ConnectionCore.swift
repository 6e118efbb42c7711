import CNGTCP2
import Logging
import NIOCore

/// The loop-confined state of one QUIC connection: the ngtcp2 connection, its TLS session, its streams.
///
/// Everything here runs on the endpoint's event loop; the public `QUICConnection` and `QUICStream`
/// handles reach it by submitting work to that loop. It is a class (not Sendable) because ngtcp2 holds
/// a pointer to it as `user_data` for its callbacks.
final class ConnectionCore: DeadlineHolder {
    enum Phase { case handshaking, established, closing, draining, closed }

    unowned let endpoint: EndpointCore
    let isServer: Bool
    let transport: QUICTransportConfiguration
    var logger: Logger
    private(set) var phase = Phase.handshaking
    private(set) var conn: OpaquePointer?
    private var tlsSession: gnutls_session_t?
    private let connectionRef: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>
    /// Stable storage for the addresses ngtcp2's path points at.
    private let localStorage: UnsafeMutablePointer<sockaddr_storage>
    private let remoteStorage: UnsafeMutablePointer<sockaddr_storage>
    private var path = ngtcp2_path()
    private(set) var remoteAddress: SocketAddress

    /// Connection IDs this connection answers to in the endpoint's routing table.
    private(set) var routedIDs: Set<ConnectionID> = []
    var handle: QUICConnection?
    private var streams: [Int64: StreamState] = [:]
    /// Streams with bytes or a FIN to send and flow-control credit to send them.
    /// (Both start small: an idle connection holds them for its whole life; they grow under load.)
    private var sendable = CircularBuffer<Int64>(initialCapacity: 4)
    private var pendingDatagrams = CircularBuffer<ByteBuffer>(initialCapacity: 2)
    /// Readers that got bytes during the current batch of packets; woken once the batch is done.
    private var readersToWake: [StreamInbound] = []
    private var openWaiters = CircularBuffer<
        (bidirectional: Bool, continuation: CheckedContinuation<QUICStream, any Error>)
    >(initialCapacity: 1)
    /// This connection's place in the endpoint's `ConnectionDeadlines` (-1: none) and its deadline there.
    var timerSlot = -1
    var timerDeadline: UInt64 = .max
    /// The CONNECTION_CLOSE packet we sent, resent (rate-limited) to packets arriving while closing.
    private var closePacket: ByteBuffer?
    private var closePacketsSent = 0
    /// Bytes sent in passes that left nothing to send and did not start a pacing interval (`writePackets`).
    private var unpacedBytes = 0
    /// ngtcp2's next expiry without the pacing time the last write pass set, when that one need not wake
    /// the loop (`writePackets`); `armTimer`, which follows, takes it.
    private var timerExpiry: UInt64?
    /// Whether the ACK for a received packet waits for the next packet in or out (`AckDeferral`).
    private var ackDeferral: AckDeferral
    private(set) var closeError: QUICConnectionError?

    // Client-only state.
    private var handshakePromise: EventLoopPromise<QUICConnection>?
    private var verifier: PeerCertificateVerifier?
    private var verificationFailure: String?
    private var sessionCache: QUICSessionCache?
    private var sessionCacheKey = ""
    // Server-only state.
    private var tlsCredentials: TLSCredentials

    private init(
        endpoint: EndpointCore, isServer: Bool, transport: QUICTransportConfiguration, credentials: TLSCredentials,
        local: SocketAddress, remote: SocketAddress, logger: Logger
    ) {
        self.endpoint = endpoint
        self.isServer = isServer
        self.transport = transport
        self.tlsCredentials = credentials
        self.remoteAddress = remote
        self.logger = logger
        ackDeferral = AckDeferral(maxAckDelay: transport.maxAckDelay.nanoseconds)
        connectionRef = .allocate(capacity: 1)
        localStorage = .allocate(capacity: 1)
        remoteStorage = .allocate(capacity: 1)
        localStorage.initialize(to: sockaddr_storage())
        remoteStorage.initialize(to: sockaddr_storage())
        path.local.addr = Self.store(local, in: localStorage, length: &path.local.addrlen)
        path.remote.addr = Self.store(remote, in: remoteStorage, length: &path.remote.addrlen)
    }

    deinit {
        if let conn { ngtcp2_conn_del(conn) }
        if let tlsSession { gnutls_deinit(tlsSession) }
        connectionRef.deallocate()
        localStorage.deallocate()
        remoteStorage.deallocate()
    }

    private static func store(
        _ address: SocketAddress, in storage: UnsafeMutablePointer<sockaddr_storage>, length: inout ngtcp2_socklen
    ) -> UnsafeMutablePointer<sockaddr> {
        address.withSockAddr { pointer, size in
            UnsafeMutableRawPointer(storage).copyMemory(from: pointer, byteCount: size)
            length = ngtcp2_socklen(size)
        }
        return UnsafeMutableRawPointer(storage).assumingMemoryBound(to: sockaddr.self)
    }

    /// ngtcp2's crypto helper finds the connection through the TLS session's pointer.
    static func from(session: gnutls_session_t) -> ConnectionCore? {
        guard let reference = gnutls_session_get_ptr(session) else { return nil }
        let connectionRef = reference.assumingMemoryBound(to: ngtcp2_crypto_conn_ref.self)
        return Unmanaged<ConnectionCore>.fromOpaque(connectionRef.pointee.user_data).takeUnretainedValue()
    }

    private var userData: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    // MARK: creation

    private func makeSettings(now: UInt64) -> ngtcp2_settings {
        var settings = ngtcp2_settings()
        cngtcp2_settings_default(&settings)
        // When to acknowledge is the endpoint's choice (write passes, `AckDeferral`): ngtcp2 acknowledges
        // in every pass. Its own delay, rtt/8, would only wake the loop to send the ACK on its own.
        settings.ack_thresh = 1
        settings.initial_ts = now
        settings.handshake_timeout = transport.handshakeTimeout.nanoseconds
        settings.max_stream_window = transport.maxStreamReceiveWindow
        settings.max_window = transport.maxConnectionReceiveWindow
        switch transport.congestionControl {
        case .reno: settings.cc_algo = NGTCP2_CC_ALGO_RENO
        case .cubic: settings.cc_algo = NGTCP2_CC_ALGO_CUBIC
        case .bbr: settings.cc_algo = NGTCP2_CC_ALGO_BBR
        }
        return settings
    }

    private func makeTransportParameters() -> ngtcp2_transport_params {
        var parameters = ngtcp2_transport_params()
        cngtcp2_transport_params_default(&parameters)
        parameters.initial_max_streams_bidi = transport.maxIncomingBidirectionalStreams
        parameters.initial_max_streams_uni = transport.maxIncomingUnidirectionalStreams
        parameters.initial_max_stream_data_bidi_local = transport.streamReceiveWindow
        parameters.initial_max_stream_data_bidi_remote = transport.streamReceiveWindow
        parameters.initial_max_stream_data_uni = transport.streamReceiveWindow
        parameters.initial_max_data = transport.connectionReceiveWindow
        parameters.max_idle_timeout = transport.idleTimeout.nanoseconds
        parameters.max_datagram_frame_size = transport.maxDatagramFrameSize
        parameters.active_connection_id_limit = 4
        parameters.max_ack_delay = transport.maxAckDelay.nanoseconds
        return parameters
    }

    static func client(
        endpoint: EndpointCore, configuration: QUICClientConfiguration, credentials: TLSCredentials,
        local: SocketAddress, remote: SocketAddress, serverName: String, promise: EventLoopPromise<QUICConnection>,
        logger: Logger
    ) throws -> ConnectionCore {
        let core = ConnectionCore(
            endpoint: endpoint, isServer: false, transport: configuration.transport, credentials: credentials,
            local: local, remote: remote, logger: logger)
        core.handshakePromise = promise
        core.verifier = PeerCertificateVerifier(policy: configuration.verification, serverName: serverName)
        core.sessionCache = configuration.sessionCache
        core.sessionCacheKey = "\(serverName)|\(remote)|\(configuration.alpn.joined(separator: ","))"
        let now = monotonicNow()
        var settings = core.makeSettings(now: now)
        var parameters = core.makeTransportParameters()
        var dcid = ConnectionID.random().ngtcp2
        let scidValue = endpoint.newConnectionID()
        var scid = scidValue.ngtcp2
        var callbacks = ConnectionCallbacks.make(isServer: false)
        var conn: OpaquePointer?
        let rv = cngtcp2_conn_client_new(
            &conn, &dcid, &scid, &core.path, UInt32(NGTCP2_PROTO_VER_V1), &callbacks, &settings, &parameters,
            core.userData)
        guard rv == 0, let conn else { throw QUICEndpointError("ngtcp2_conn_client_new: \(ngtcp2Error(rv))") }
        core.conn = conn
        let ticket = configuration.sessionCache?.ticket(for: core.sessionCacheKey)
        let session = try credentials.makeClientSession(serverName: serverName, ticket: ticket)
        core.attach(session)
        cngtcp2_set_ticket_hook(session, sessionTicketReceived)
        if let keepAlive = configuration.transport.keepAliveInterval {
            ngtcp2_conn_set_keep_alive_timeout(conn, keepAlive.nanoseconds)
        }
        core.route(scidValue)
        return core
    }

    static func server(
        endpoint: EndpointCore, configuration: QUICServerConfiguration, credentials: TLSCredentials,
        header: ngtcp2_pkt_hd, local: SocketAddress, remote: SocketAddress, resetSecret: [UInt8], logger: Logger
    ) throws -> ConnectionCore {
        let core = ConnectionCore(
            endpoint: endpoint, isServer: true, transport: configuration.transport, credentials: credentials,
            local: local, remote: remote, logger: logger)
        let now = monotonicNow()
        var header = header
        var settings = core.makeSettings(now: now)
        var parameters = core.makeTransportParameters()
        parameters.original_dcid = header.dcid
        parameters.original_dcid_present = 1
        let scidValue = endpoint.newConnectionID()
        var scid = scidValue.ngtcp2
        parameters.stateless_reset_token_present = 1
        _ = withUnsafeMutableBytes(of: &parameters.stateless_reset_token) { token in
            resetSecret.withUnsafeBufferPointer { secret in
                ngtcp2_crypto_generate_stateless_reset_token(
                    token.baseAddress!.assumingMemoryBound(to: UInt8.self), secret.baseAddress, secret.count, &scid)
            }
        }
        if header.tokenlen > 0 {
            settings.token = UnsafePointer(header.token)
            settings.tokenlen = header.tokenlen
        }
        var callbacks = ConnectionCallbacks.make(isServer: true)
        var conn: OpaquePointer?
        let rv = cngtcp2_conn_server_new(
            &conn, &header.scid, &scid, &core.path, header.version, &callbacks, &settings, &parameters, core.userData)
        guard rv == 0, let conn else { throw QUICEndpointError("ngtcp2_conn_server_new: \(ngtcp2Error(rv))") }
        core.conn = conn
        let session = try credentials.makeServerSession()
        core.attach(session)
        if let keepAlive = configuration.transport.keepAliveInterval {
            ngtcp2_conn_set_keep_alive_timeout(conn, keepAlive.nanoseconds)
        }
        core.route(scidValue)
        core.route(ConnectionID(header.dcid))
        return core
    }

    private func attach(_ session: gnutls_session_t) {
        tlsSession = session
        connectionRef.initialize(
            to: ngtcp2_crypto_conn_ref(
                get_conn: { reference in
                    Unmanaged<ConnectionCore>.fromOpaque(reference!.pointee.user_data).takeUnretainedValue().conn
                },
                user_data: userData))
        gnutls_session_set_ptr(session, connectionRef)
        ngtcp2_conn_set_tls_native_handle(conn, UnsafeMutableRawPointer(session))
    }

    private func route(_ id: ConnectionID) {
        routedIDs.insert(id)
        endpoint.route(id, to: self)
    }

    // MARK: packets in

    /// Feeds one received UDP datagram to ngtcp2. Sending happens later, in `writePackets`.
    func receive(_ packet: UnsafeRawBufferPointer, from remote: SocketAddress, ecn: UInt8) {
        switch phase {
        case .closed, .draining:
            return
        case .closing:
            resendClosePacket()
            return
        case .handshaking, .established:
            break
        }
        let pathChanged = remote != remoteAddress
        if pathChanged {
            // The peer's address changed (NAT rebinding): ngtcp2 validates the new path.
            remoteAddress = remote
            path.remote.addr = Self.store(remote, in: remoteStorage, length: &path.remote.addrlen)
        }
        let now = monotonicNow()
        var info = ngtcp2_pkt_info()
        info.ecn = ecn
        let rv = cngtcp2_conn_read_pkt(
            conn, &path, &info, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count, now)
        if rv != 0 { handleLibraryError(Int32(rv)) }
        if isServer, phase == .established { releaseTLSSession() }
        // Decided after the read, which may have opened a window for data waiting here.
        let deferAck = ackDeferral.deferAcknowledgement(
            at: now, canWait: rv == 0 && !pathChanged && phase == .established && nothingQueued
        ) { nothingInFlight }
        if deferAck {
            endpoint.deferredAcknowledgement(self)
        } else {
            endpoint.needsWrite(self)
        }
    }

    /// No stream data or datagram waits here to be sent.
    private var nothingQueued: Bool { sendable.isEmpty && pendingDatagrams.isEmpty }

    /// Nothing of ours in flight: every packet we sent was acknowledged (or declared lost).
    private var nothingInFlight: Bool {
        guard let conn else { return false }
        var info = ngtcp2_conn_info()
        cngtcp2_conn_get_conn_info(conn, &info)
        return info.bytes_in_flight == 0
    }

    /// A server's TLS session has nothing left to do once the handshake completed (keys are derived, the
    /// ticket is sent, key updates need only ngtcp2's crypto contexts): freeing it saves about 10 KiB per
    /// connection. A peer's later CRYPTO data is then ignored (see `ConnectionCallbacks`).
    private func releaseTLSSession() {
        guard let tlsSession else { return }
        self.tlsSession = nil
        ngtcp2_conn_set_tls_native_handle(conn, nil)
        gnutls_deinit(tlsSession)
    }

    private func handleLibraryError(_ rv: Int32) {
        switch rv {
        case NGTCP2_ERR_DRAINING:
            enterDraining()
        case NGTCP2_ERR_DROP_CONN:
            terminate(QUICConnectionError(kind: .local, reason: "connection dropped"))
        case NGTCP2_ERR_RETRY, NGTCP2_ERR_DISCARD_PKT:
            break
        case NGTCP2_ERR_CRYPTO:
            var error = ngtcp2_ccerr()
            ngtcp2_ccerr_default(&error)
            ngtcp2_ccerr_set_tls_alert(&error, ngtcp2_conn_get_tls_alert(conn), nil, 0)
            let reason = verificationFailure ?? "TLS handshake failed (alert \(ngtcp2_conn_get_tls_alert(conn)))"
            let kind: QUICConnectionError.Kind = verificationFailure != nil ? .certificateRejected : .transport
            closeWithError(error, QUICConnectionError(kind: kind, code: error.error_code, reason: reason))
        default:
            var error = ngtcp2_ccerr()
            ngtcp2_ccerr_default(&error)
            ngtcp2_ccerr_set_liberr(&error, rv, nil, 0)
            closeWithError(
                error, QUICConnectionError(kind: .transport, code: error.error_code, reason: ngtcp2Error(rv)))
        }
    }

    /// The peer closed: wait out the draining period silently, then forget the connection.
    private func enterDraining() {
        let received = ngtcp2_conn_get_ccerr(conn)!.pointee
        let reason =
            received.reasonlen > 0
            ? String(decoding: UnsafeBufferPointer(start: received.reason, count: received.reasonlen), as: UTF8.self)
            : ""
        let kind: QUICConnectionError.Kind
        switch received.type {
        case NGTCP2_CCERR_TYPE_APPLICATION: kind = .application
        case NGTCP2_CCERR_TYPE_IDLE_CLOSE: kind = .idleTimeout
        case NGTCP2_CCERR_TYPE_DROP_CONN: kind = .reset
        default: kind = .transport
        }
        phase = .draining
        notifyClosed(QUICConnectionError(kind: kind, code: received.error_code, reason: reason, byPeer: true))
        scheduleRemoval()
    }

    // MARK: timers

    func handleTimer() {
        guard let conn, phase == .handshaking || phase == .established else { return }
        let rv = ngtcp2_conn_handle_expiry(conn, monotonicNow())
        if rv != 0 {
            switch rv {
            case NGTCP2_ERR_IDLE_CLOSE:
                terminate(QUICConnectionError(kind: .idleTimeout))
            case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
                terminate(QUICConnectionError(kind: .handshakeTimeout))
            default:
                handleLibraryError(rv)
            }
            return
        }
        // With the other connections whose timers fire in this tick: one batch, one sendmmsg.
        endpoint.needsWrite(self)
    }

    /// Sets this connection's deadline in the endpoint's timer to ngtcp2's next expiry (loss detection,
    /// pacing, ACK delay, idle), rounded up to the millisecond so connections whose deadlines fall close
    /// together are handled in one wake-up and one batch (ngtcp2's timers are tens of milliseconds; pacing
    /// tolerates 1 ms).
    func armTimer() {
        guard let conn, phase == .handshaking || phase == .established else {
            endpoint.deadlines.remove(self)
            return
        }
        var expiry = timerExpiry ?? ngtcp2_conn_get_expiry(conn)
        timerExpiry = nil
        // ngtcp2 wants a waiting ACK out now; it waits for the next packet, or until its deadline. (This also
        // hides a pacing time left from the last write pass, which the next one clears.)
        if let deadline = ackDeferral.deadline { expiry = max(expiry, deadline) }
        endpoint.deadlines.set(self, to: expiry == .max ? .max : (expiry / 1_000_000 + 1) * 1_000_000)
    }

    // MARK: packets out

    /// Wakes the readers that received bytes since the last call (at the end of the endpoint's read).
    func wakeReaders() {
        guard !readersToWake.isEmpty else { return }
        let readers = readersToWake
        readersToWake.removeAll(keepingCapacity: true)
        for reader in readers { reader.wake() }
    }

    /// Writes as many packets as congestion control and pacing allow into `batch`.
    func writePackets(into batch: inout PacketBatch) {
        guard let conn else { return }
        switch phase {
        case .closed, .draining, .closing: return
        case .handshaking, .established: break
        }
        let now = monotonicNow()
        ackDeferral.wrote()
        let maxPacket = Int(ngtcp2_conn_get_max_tx_udp_payload_size(conn))
        let quantum = max(Int(ngtcp2_conn_get_send_quantum(conn)), maxPacket)
        var budget = quantum
        var info = ngtcp2_pkt_info()
        writeDatagrams(into: &batch, maxPacket: maxPacket, now: now, budget: &budget)
        // Set when the connection-wide window is used up: stream data waits for MAX_DATA (which arrives in
        // a packet, and every received packet triggers another pass); ACKs and other frames still go out.
        var connectionBlocked = false
        var drained = false
        var sentStreamData = false
        defer { if sentStreamData { ackDeferral.sentStreamData(at: now) } }

        while budget > 0 {
            var streamID: Int64 = -1
            var vectorCount = 0
            var flags = UInt32(NGTCP2_WRITE_STREAM_FLAG_MORE)
            var state: StreamState?
            if !connectionBlocked, let id = sendable.first, let candidate = streams[id],
                candidate.send.hasSomethingToSend,
                !candidate.blocked
            {
                state = candidate
                streamID = id
                vectorCount = candidate.send.fill(endpoint.streamVectors, capacity: EndpointCore.streamVectorCapacity)
                if candidate.send.finishRequested { flags |= UInt32(NGTCP2_WRITE_STREAM_FLAG_FIN) }
            } else if !connectionBlocked, !sendable.isEmpty {
                sendable.removeFirst()
                continue
            }
            var consumed: ngtcp2_ssize = -1
            let written = batch.writePacket(maxLength: maxPacket) { destination in
                cngtcp2_conn_writev_stream(
                    conn, nil, &info, destination.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.count,
                    &consumed, flags, streamID, endpoint.streamVectors, vectorCount, now)
            }
            if written < 0 {
                switch Int32(written) {
                case NGTCP2_ERR_WRITE_MORE:
                    sentStreamData = true
                    state?.didSend(Int(consumed), allWithFin: flags & UInt32(NGTCP2_WRITE_STREAM_FLAG_FIN) != 0)
                    rotate(state)
                    continue
                case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                    if ngtcp2_conn_get_max_stream_data_left(conn, streamID) == 0 {
                        // The stream's own window: extend_max_stream_data puts it back on the list.
                        state?.blocked = true
                        sendable.removeFirst()
                    } else {
                        connectionBlocked = true
                    }
                    continue
                case NGTCP2_ERR_STREAM_SHUT_WR, NGTCP2_ERR_STREAM_NOT_FOUND:
                    state?.send.discard()
                    sendable.removeFirst()
                    continue
                default:
                    handleLibraryError(Int32(written))
                    return
                }
            }
            if consumed >= 0, let state {
                if consumed > 0 { sentStreamData = true }
                state.didSend(Int(consumed), allWithFin: flags & UInt32(NGTCP2_WRITE_STREAM_FLAG_FIN) != 0)
                rotate(state)
            }
            if written == 0 {
                drained = true
                break
            }
            batch.commit(Int(written), to: remoteAddress, from: ObjectIdentifier(self))
            budget -= Int(written)
        }
        // The pacing interval ends where the next packet may go. When ngtcp2 had nothing more to write and
        // nothing waits here, there is no next packet yet, and starting the interval would only wake the loop
        // for nothing. Its bytes are then carried to the next interval, which they lengthen: bounded at two
        // packets, so pacing is never looser and a later burst waits at most two packets' time longer.
        let sent = quantum - budget
        let nothingWaits = drained && nothingQueued
        if nothingWaits, unpacedBytes + sent <= 2 * maxPacket {
            unpacedBytes += sent
        } else {
            unpacedBytes = 0
            let unpacedExpiry = nothingWaits ? ngtcp2_conn_get_expiry(conn) : nil
            ngtcp2_conn_update_pkt_tx_time(conn, now)
            // ngtcp2 sends a packet up to 1 ms before its pacing time. With nothing to send, a pacing time that
            // close is no reason to wake up: whenever the next write comes, it may go.
            if let unpacedExpiry, ngtcp2_conn_get_expiry(conn) <= now + 1_000_000 { timerExpiry = unpacedExpiry }
        }
    }

    /// Moves a stream off the head of the send list when it has nothing more, else to the back (fairness).
    private func rotate(_ state: StreamState?) {
        guard let state, sendable.first == state.id else { return }
        sendable.removeFirst()
        if state.send.hasSomethingToSend && !state.blocked { sendable.append(state.id) }
    }

    private func writeDatagrams(into batch: inout PacketBatch, maxPacket: Int, now: UInt64, budget: inout Int) {
        var info = ngtcp2_pkt_info()
        while budget > 0, let datagram = pendingDatagrams.first {
            var accepted: Int32 = 0
            let written = datagram.withUnsafeReadableBytes { payload in
                var vector = ngtcp2_vec(
                    base: UnsafeMutablePointer(mutating: payload.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                    len: payload.count)
                return batch.writePacket(maxLength: maxPacket) { destination in
                    cngtcp2_conn_writev_datagram(
                        conn, nil, &info, destination.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        destination.count, &accepted, UInt32(NGTCP2_WRITE_DATAGRAM_FLAG_NONE), 0, &vector, 1, now)
                }
            }
            if written < 0 {
                // Too large for the path or not negotiated: drop it, as DATAGRAM is unreliable anyway.
                if Int32(written) == NGTCP2_ERR_INVALID_ARGUMENT || Int32(written) == NGTCP2_ERR_INVALID_STATE {
                    pendingDatagrams.removeFirst()
                    continue
                }
                handleLibraryError(Int32(written))
                return
            }
            if written == 0 { return }  // congestion-limited: try again after the next ACK
            if accepted != 0 { pendingDatagrams.removeFirst() }
            batch.commit(Int(written), to: remoteAddress, from: ObjectIdentifier(self))
            budget -= Int(written)
        }
    }

    // MARK: closing

    /// Closes with an application error code; the peer sees CONNECTION_CLOSE (type 0x1d).
    func close(code: UInt64, reason: String) {
        guard phase == .handshaking || phase == .established else { return }
        var error = ngtcp2_ccerr()
        ngtcp2_ccerr_default(&error)
        let bytes = Array(reason.utf8.prefix(1024))
        bytes.withUnsafeBufferPointer { ngtcp2_ccerr_set_application_error(&error, code, $0.baseAddress, $0.count) }
        closeWithError(error, QUICConnectionError(kind: .application, code: code, reason: reason))
    }

    private func closeWithError(_ error: ngtcp2_ccerr, _ reported: QUICConnectionError) {
        guard phase == .handshaking || phase == .established, let conn else { return }
        var error = error
        var info = ngtcp2_pkt_info()
        var packet = ByteBufferAllocator().buffer(capacity: 1500)
        let written = packet.writeWithUnsafeMutableBytes(minimumWritableBytes: 1500) { destination in
            let n = cngtcp2_conn_write_connection_close(
                conn, nil, &info, destination.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.count,
                &error, monotonicNow())
            return max(0, Int(n))
        }
        phase = .closing
        if written > 0 {
            closePacket = packet
            endpoint.sendImmediately(packet, to: remoteAddress)
        }
        notifyClosed(reported)
        scheduleRemoval()
    }

    private func resendClosePacket() {
        guard let closePacket, closePacketsSent < 16 else { return }
        closePacketsSent += 1
        endpoint.sendImmediately(closePacket, to: remoteAddress)
    }

    /// Ends the connection without a CONNECTION_CLOSE (idle timeout, handshake timeout, drop).
    private func terminate(_ error: QUICConnectionError) {
        guard phase != .closed else { return }
        phase = .closed
        notifyClosed(error)
        finishRemoval()
    }

    /// Keep the connection's IDs routed for three PTOs so late packets meet the close, then forget it.
    private func scheduleRemoval() {
        endpoint.deadlines.remove(self)
        let pto = conn.map { ngtcp2_conn_get_pto($0) } ?? 1_000_000_000
        let loopBound = NIOLoopBound(self, eventLoop: endpoint.loop)
        _ = endpoint.loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(clamping: 3 * pto))) {
            loopBound.value.finishRemoval()
        }
    }

    private func finishRemoval() {
        phase = .closed
        endpoint.deadlines.remove(self)
        endpoint.forget(self)
    }

    /// Tells every waiter and stream that the connection is over (once).
    private func notifyClosed(_ error: QUICConnectionError) {
        guard closeError == nil else { return }
        closeError = error
        logger.debug("connection closed", metadata: ["reason": "\(error)"])
        if let handshakePromise {
            self.handshakePromise = nil
            handshakePromise.fail(error)
        }
        for state in streams.values {
            state.inbound?.fail(.connectionClosed(error))
            state.failWriters(.connectionClosed(error))
            state.send.discard()
        }
        streams.removeAll()
        sendable.removeAll()
        pendingDatagrams.removeAll()
        while let waiter = openWaiters.popFirst() {
            waiter.continuation.resume(throwing: QUICStreamError.connectionClosed(error))
        }
        handle?.finish(error)
        endpoint.connectionEnded(self)
    }

    // MARK: callbacks from ngtcp2

    func issueConnectionID(_ cid: UnsafeMutablePointer<ngtcp2_cid>, token: UnsafeMutablePointer<UInt8>, length: Int)
        -> Int32
    {
        let id = endpoint.newConnectionID()
        cid.pointee = id.ngtcp2
        let rv = endpoint.resetSecret.withUnsafeBufferPointer { secret in
            ngtcp2_crypto_generate_stateless_reset_token(token, secret.baseAddress, secret.count, cid)
        }
        guard rv == 0 else { return NGTCP2_ERR_CALLBACK_FAILURE }
        route(id)
        return 0
    }

    func retireConnectionID(_ id: ConnectionID) {
        routedIDs.remove(id)
        endpoint.unroute(id)
    }

    func handshakeCompleted() -> Int32 {
        phase = .established
        let alpn = negotiatedALPN()
        let resumed = tlsSession.map { gnutls_session_is_resumed($0) != 0 } ?? false
        let connection = QUICConnection(core: self, alpn: alpn, resumed: resumed)
        handle = connection
        if isServer {
            if let tlsSession { _ = gnutls_session_ticket_send(tlsSession, 1, 0) }
            endpoint.accepted(connection)
        } else if let handshakePromise {
            self.handshakePromise = nil
            handshakePromise.succeed(connection)
        }
        return 0
    }

    private func negotiatedALPN() -> String? {
        guard let tlsSession else { return nil }
        var datum = gnutls_datum_t()
        guard gnutls_alpn_get_selected_protocol(tlsSession, &datum) == 0, let data = datum.data else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(datum.size)), as: UTF8.self)
    }

    func verifyPeerCertificate(_ session: gnutls_session_t) -> Bool {
        guard let verifier else { return true }
        if let problem = verifier.verify(session) {
            verificationFailure = problem
            logger.warning("server certificate rejected", metadata: ["reason": "\(problem)"])
            return false
        }
        return true
    }

    func storeSessionTicket(_ session: gnutls_session_t) {
        guard let sessionCache else { return }
        var datum = gnutls_datum_t()
        guard gnutls_session_get_data2(session, &datum) == 0, let data = datum.data else { return }
        defer { cngtcp2_gnutls_free(data) }
        sessionCache.store(Array(UnsafeBufferPointer(start: data, count: Int(datum.size))), for: sessionCacheKey)
    }

    func receivedStreamData(_ id: Int64, _ bytes: UnsafeRawBufferPointer, fin: Bool) -> Int32 {
        guard let state = streams[id], let inbound = state.inbound else {
            // Data for a stream we already forgot: credit it back so the connection window does not shrink.
            if let conn { ngtcp2_conn_extend_max_offset(conn, UInt64(bytes.count)) }
            return 0
        }
        if inbound.deliver(bytes, fin: fin) { readersToWake.append(inbound) }
        return 0
    }

    func acknowledged(_ id: Int64, bytes: Int) {
        guard let state = streams[id] else { return }
        state.send.acknowledge(bytes)
        state.gate.release(bytes)
        // Hysteresis: a suspended writer resumes once half the buffer drained, not on every ACK.
        state.resumeWriters(limit: transport.streamSendBufferLimit / 2)
    }

    func peerOpenedStream(_ id: Int64) -> Int32 {
        guard let handle else { return 0 }
        let state = makeStream(id)
        streams[id] = state
        handle.incoming(
            QUICStream(id: id, connection: handle, inbound: state.inbound, gate: state.canSend ? state.gate : nil))
        return 0
    }

    func streamClosed(_ id: Int64, code: UInt64?) {
        guard let state = streams.removeValue(forKey: id) else { return }
        if let code { state.inbound?.fail(.reset(code: code)) } else { state.inbound?.fail(.locallyClosed) }
        state.failWriters(code.map { .stopSending(code: $0) } ?? .locallyClosed)
        state.send.discard()
        // Remote-initiated streams: give the peer its stream credit back (ngtcp2 leaves that to us), in a
        // packet of its own if need be. A bidirectional stream closes when our FIN is acknowledged, often by
        // an ACK-only packet, which leaves nothing else to write: the peer, maybe blocked on that credit,
        // would wait until its idle timeout.
        if let conn, ngtcp2_conn_is_local_stream(conn, id) == 0 {
            if id & 0x2 == 0 {
                ngtcp2_conn_extend_max_streams_bidi(conn, 1)
            } else {
                ngtcp2_conn_extend_max_streams_uni(conn, 1)
            }
            endpoint.needsWrite(self)
        }
    }

    func peerResetStream(_ id: Int64, code: UInt64) {
        streams[id]?.inbound?.fail(.reset(code: code))
    }

    func peerStoppedSending(_ id: Int64, code: UInt64) {
        // ngtcp2 answers STOP_SENDING with RESET_STREAM carrying the same code; writers learn why.
        guard let state = streams[id] else { return }
        state.send.discard()
        state.failWriters(.stopSending(code: code))
    }

    func streamCreditAvailable() {
        var waiting = openWaiters.count
        while waiting > 0, let waiter = openWaiters.popFirst() {
            waiting -= 1
            if !resume(waiter.continuation, opening: { try openIfCredit(bidirectional: waiter.bidirectional) }) {
                openWaiters.append(waiter)
            }
        }
    }

    func streamUnblocked(_ id: Int64) {
        guard let state = streams[id], state.blocked else { return }
        state.blocked = false
        if state.send.hasSomethingToSend { sendable.append(id) }
    }

    func receivedDatagram(_ bytes: UnsafeRawBufferPointer) {
        handle?.incomingDatagram(bytes)
    }

    // MARK: requests from the handles (on the loop)

    /// Consumed bytes a reader reports back to the peer at once (a quarter of the initial stream window).
    private var creditStep: Int { max(Int(min(transport.streamReceiveWindow / 4, 256 * 1024)), 1) }

    private func makeStream(_ id: Int64) -> StreamState {
        let local = conn.map { ngtcp2_conn_is_local_stream($0, id) != 0 } ?? true
        let unidirectional = id & 0x2 != 0
        var inbound: StreamInbound?
        if !(local && unidirectional) {
            let loopBound = NIOLoopBound(self, eventLoop: endpoint.loop)
            let loop = endpoint.loop
            inbound = StreamInbound(creditStep: creditStep) { credit in
                loop.execute { loopBound.value.extendCredit(id, by: credit) }
            }
        }
        return StreamState(
            id: id, inbound: inbound, canSend: !(!local && unidirectional),
            gate: StreamSendGate(limit: transport.streamSendBufferLimit))
    }

    private func extendCredit(_ id: Int64, by bytes: Int) {
        guard let conn, phase == .established || phase == .handshaking else { return }
        ngtcp2_conn_extend_max_stream_offset(conn, id, UInt64(bytes))
        ngtcp2_conn_extend_max_offset(conn, UInt64(bytes))
        // Less than a credit step (a reader that drained its stream) leaves the peer at least 3/4 of its
        // window: it goes out with the waiting ACK rather than in a write pass of its own.
        if ackDeferral.deadline != nil, bytes < creditStep { return }
        endpoint.needsWrite(self)
    }

    func openStream(bidirectional: Bool, continuation: CheckedContinuation<QUICStream, any Error>) {
        if !resume(continuation, opening: { try openNow(bidirectional: bidirectional) }) {
            openWaiters.append((bidirectional, continuation))
        }
    }

    /// Resumes `continuation` with what `opening` gives or throws; false when it gives nil (the opener waits).
    private func resume(
        _ continuation: CheckedContinuation<QUICStream, any Error>, opening: () throws -> QUICStream?
    ) -> Bool {
        do {
            guard let stream = try opening() else { return false }
            continuation.resume(returning: stream)
        } catch {
            continuation.resume(throwing: error)
        }
        return true
    }

    /// Opens a stream at once when nothing waits to open one before it and the peer's limit allows it;
    /// nil when the caller has to wait (`openStream`).
    func openNow(bidirectional: Bool) throws -> QUICStream? {
        if let closeError { throw QUICStreamError.connectionClosed(closeError) }
        guard openWaiters.isEmpty else { return nil }
        return try openIfCredit(bidirectional: bidirectional)
    }

    /// A new stream, nil when the peer's stream limit is reached (or the handshake is not done).
    private func openIfCredit(bidirectional: Bool) throws -> QUICStream? {
        guard let conn, let handle else { return nil }
        var id: Int64 = -1
        let rv =
            bidirectional ? ngtcp2_conn_open_bidi_stream(conn, &id, nil) : ngtcp2_conn_open_uni_stream(conn, &id, nil)
        if rv == NGTCP2_ERR_STREAM_ID_BLOCKED { return nil }
        guard rv == 0 else {
            throw QUICStreamError.connectionClosed(QUICConnectionError(kind: .local, reason: ngtcp2Error(rv)))
        }
        let state = makeStream(id)
        streams[id] = state
        return QUICStream(id: id, connection: handle, inbound: state.inbound, gate: state.canSend ? state.gate : nil)
    }

    /// Queues bytes on a stream. With a continuation (the slow path) the writer waits while the stream is
    /// over its send buffer limit; without one (the gate let the writer go on) errors surface through the
    /// stream's gate on its next write.
    func write(
        _ id: Int64, _ buffer: ByteBuffer, then second: ByteBuffer? = nil, finish: Bool,
        continuation: CheckedContinuation<Void, any Error>?
    ) {
        guard let state = streams[id] else {
            continuation?.resume(
                throwing: closeError.map { QUICStreamError.connectionClosed($0) } ?? QUICStreamError.locallyClosed)
            return
        }
        if let failure = state.writeFailure {
            continuation?.resume(throwing: failure)
            return
        }
        guard state.canSend else {
            continuation?.resume(throwing: QUICStreamError.wrongDirection)
            return
        }
        guard !state.send.finishRequested else {
            continuation?.resume(throwing: QUICStreamError.alreadyFinished)
            state.gate.fail(.alreadyFinished)
            return
        }
        state.send.append(buffer)
        if let second { state.send.append(second) }
        if finish { state.send.finishRequested = true }
        if !state.blocked, !sendable.contains(id) { sendable.append(id) }
        if let continuation {
            if state.send.bufferedBytes <= transport.streamSendBufferLimit {
                continuation.resume()
            } else {
                state.writers.append(continuation)
            }
        }
        endpoint.needsWrite(self)
    }

    func resetStream(_ id: Int64, code: UInt64) {
        guard let conn, let state = streams[id] else { return }
        state.send.discard()
        state.writeFailure = .locallyClosed
        state.failWriters(.locallyClosed)
        _ = ngtcp2_conn_shutdown_stream_write(conn, 0, id, code)
        endpoint.needsWrite(self)
    }

    func stopSending(_ id: Int64, code: UInt64) {
        // The reader keeps waiting for the peer's answer (RESET_STREAM, or the stream's end).
        guard let conn, streams[id] != nil else { return }
        _ = ngtcp2_conn_shutdown_stream_read(conn, 0, id, code)
        endpoint.needsWrite(self)
    }

    func sendDatagram(_ buffer: ByteBuffer) {
        guard phase == .established else { return }
        if pendingDatagrams.count >= transport.datagramSendQueueLimit { pendingDatagrams.removeFirst() }
        pendingDatagrams.append(buffer)
        endpoint.needsWrite(self)
    }

    var pathStatistics: QUICPathStatistics {
        guard let conn else { return QUICPathStatistics() }
        var info = ngtcp2_conn_info()
        cngtcp2_conn_get_conn_info(conn, &info)
        return QUICPathStatistics(
            smoothedRTT: .nanoseconds(Int64(clamping: info.smoothed_rtt)),
            minRTT: .nanoseconds(Int64(clamping: info.min_rtt)),
            congestionWindow: Int(info.cwnd), bytesInFlight: Int(info.bytes_in_flight))
    }

    var maxDatagramPayload: Int {
        guard let conn, let parameters = ngtcp2_conn_get_remote_transport_params(conn) else { return 0 }
        // DATAGRAM frame overhead: type (1) + length varint (up to 4) + a short header and AEAD tag (~40).
        return Int(
            min(parameters.pointee.max_datagram_frame_size, UInt64(ngtcp2_conn_get_max_tx_udp_payload_size(conn)))) - 48
    }
}

/// One stream's state on the loop.
final class StreamState {
    let id: Int64
    let inbound: StreamInbound?
    let canSend: Bool
    var send = StreamSendQueue()
    var blocked = false
    var writeFailure: QUICStreamError?
    var writers: [CheckedContinuation<Void, any Error>] = []
    /// Shared with the stream's handle: lets writers under the limit go on without a round trip.
    let gate: StreamSendGate

    init(id: Int64, inbound: StreamInbound?, canSend: Bool, gate: StreamSendGate) {
        self.id = id
        self.inbound = inbound
        self.canSend = canSend
        self.gate = gate
    }

    func didSend(_ bytes: Int, allWithFin: Bool) {
        // ngtcp2 may close the stream from inside the write that consumed these bytes (the queue is then
        // already discarded): never mark more than is queued.
        if bytes > 0 { send.markSent(min(bytes, send.unsentBytes)) }
        if allWithFin && send.unsentBytes == 0 { send.finishSent = true }
    }

    func resumeWriters(limit: Int) {
        guard !writers.isEmpty, send.bufferedBytes <= limit else { return }
        let waiting = writers
        writers.removeAll()
        for writer in waiting { writer.resume() }
    }

    func failWriters(_ error: QUICStreamError) {
        if writeFailure == nil { writeFailure = error }
        gate.fail(writeFailure!)
        let waiting = writers
        writers.removeAll()
        for writer in waiting { writer.resume(throwing: error) }
    }
}

/// The GnuTLS hook for NewSessionTicket: hands the session to its connection for the client's cache.
private let sessionTicketReceived: @convention(c) (gnutls_session_t?) -> Void = { session in
    guard let session else { return }
    ConnectionCore.from(session: session)?.storeSessionTicket(session)
}

func monotonicNow() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

func ngtcp2Error(_ rv: some BinaryInteger) -> String { String(cString: ngtcp2_strerror(Int32(rv))) }

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
    }
}
