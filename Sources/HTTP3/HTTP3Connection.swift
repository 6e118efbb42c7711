import Logging
import NIOConcurrencyHelpers
import NIOCore
public import QUIC

/// HTTP/3 on one QUIC connection (ALPN `h3`), either side: the control streams and SETTINGS, stream
/// demultiplexing, WebTransport sessions and their streams and datagrams. `run` drives it until the
/// connection closes; a protocol violation closes the connection with the HTTP/3 error code.
public final class HTTP3Connection: Sendable {
    public enum Role: Sendable { case client, server }

    public let quic: QUICConnection
    public let role: Role
    public let configuration: HTTP3Configuration
    let controlStream: QUICStream
    let state = NIOLockedValueBox(State())
    /// Work the connection's `run` picks up (CONNECT streams of client sessions, delayed closes).
    let jobs: AsyncStream<@Sendable () async -> Void>
    let jobSink: AsyncStream<@Sendable () async -> Void>.Continuation
    var logger: Logger { configuration.logger }

    struct State {
        var sessions: [Int64: WebTransportSession] = [:]
        var pendingStreams: [Int64: [WebTransportStream]] = [:]
        var pendingCount = 0
        var peerSettings: HTTP3Settings?
        var openedByPeer: Set<UInt64> = []
        var goawayReceived: UInt64?
        var goawaySent = false
        var highestRequestID: Int64 = -4
    }

    /// Opens the control stream and sends SETTINGS; call `run` next.
    public static func start(
        _ quic: QUICConnection, role: Role, configuration: HTTP3Configuration = .init()
    ) async throws -> HTTP3Connection {
        let control = try await quic.openUnidirectionalStream()
        var preface = ByteBuffer()
        preface.writeHTTP3Varint(HTTP3StreamType.control)
        HTTP3Frame.settings(.webTransport(maxFieldSectionSize: configuration.maxFieldSectionSize)).write(into: &preface)
        try await control.write(preface)
        return HTTP3Connection(quic: quic, role: role, configuration: configuration, controlStream: control)
    }

    private init(quic: QUICConnection, role: Role, configuration: HTTP3Configuration, controlStream: QUICStream) {
        self.quic = quic
        self.role = role
        self.configuration = configuration
        self.controlStream = controlStream
        (jobs, jobSink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    }

    /// The peer's SETTINGS, once its control stream delivered them.
    public var peerSettings: HTTP3Settings? { state.withLockedValue { $0.peerSettings } }
    /// The id of the peer's last GOAWAY: no new requests beyond it.
    public var goawayReceived: UInt64? { state.withLockedValue { $0.goawayReceived } }

    /// Serves the connection until it closes: peer streams, datagrams, and (as a server) requests.
    public func run(handler: HTTP3ServerHandler = HTTP3ServerHandler()) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await withDiscardingTaskGroup { streams in
                    for await stream in self.quic.incomingStreams {
                        streams.addTask { await self.accept(stream, handler: handler) }
                    }
                }
                self.jobSink.finish()
            }
            group.addTask {
                await withDiscardingTaskGroup { work in
                    for await job in self.jobs { work.addTask { await job() } }
                }
            }
            group.addTask { await self.routeDatagrams() }
        }
        let error = await quic.closed()
        let code = error.kind == .application ? WebTransportErrorCode.fromHTTP3(error.code) ?? 0 : 0
        let sessions = state.withLockedValue { state in
            defer { state.sessions = [:] }
            return Array(state.sessions.values)
        }
        for session in sessions { session.markClosed(code: code, reason: error.reason) }
    }

    /// Closes the connection for a protocol violation.
    func fail(_ error: HTTP3Error) {
        logger.debug("HTTP/3 connection error", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        quic.close(code: error.code.rawValue, reason: error.reason)
    }

    /// GOAWAY on the control stream: a server names the first request it will not serve.
    public func goaway() async throws {
        let id = state.withLockedValue { state -> UInt64 in
            state.goawaySent = true
            return role == .server ? UInt64(state.highestRequestID + 4) : 0
        }
        try await controlStream.write(HTTP3Frame.goaway(id).encoded())
    }

    // MARK: stream demultiplexing

    private func accept(_ stream: QUICStream, handler: HTTP3ServerHandler) async {
        var reader = FrameStreamReader(stream)
        do {
            if stream.isUnidirectional {
                try await acceptUnidirectional(&reader)
            } else {
                guard let (type, _) = try await reader.peekFrameHeader() else { return }
                if type == HTTP3StreamType.webTransportBidi {
                    _ = try await reader.readVarint()
                    try await routeWebTransport(&reader)
                } else if role == .server, stream.isClientInitiated {
                    try await serveRequest(&reader, handler: handler)
                } else {
                    throw HTTP3Error(.streamCreationError, "server-initiated request stream")
                }
            }
        } catch let error as HTTP3Error {
            fail(error)
        } catch {
            logger.trace("stream \(stream.id) ended: \(error)")
        }
    }

    private func acceptUnidirectional(_ reader: inout FrameStreamReader) async throws {
        guard let type = try await reader.readVarint() else { return }
        switch type {
        case HTTP3StreamType.control, HTTP3StreamType.qpackEncoder, HTTP3StreamType.qpackDecoder:
            guard state.withLockedValue({ $0.openedByPeer.insert(type).inserted }) else {
                throw HTTP3Error(.streamCreationError, "second stream of type \(type)")
            }
            if type == HTTP3StreamType.control {
                try await readControl(&reader)
            } else {
                // No dynamic table: the peer's QPACK streams may only say so.
                repeat {
                    if type == HTTP3StreamType.qpackEncoder {
                        try QPACKStreamChecker.checkEncoderStream(&reader.buffered)
                    } else {
                        try QPACKStreamChecker.checkDecoderStream(&reader.buffered)
                    }
                    reader.buffered.discardReadBytes()
                } while try await reader.fill()
                throw HTTP3Error(.closedCriticalStream, "QPACK stream closed")
            }
        case HTTP3StreamType.webTransportUni:
            try await routeWebTransport(&reader)
        default:
            reader.stream.stopSending(code: HTTP3ErrorCode.streamCreationError.rawValue)
        }
    }

    private func readControl(_ reader: inout FrameStreamReader) async throws {
        guard case .settings(let settings) = try await reader.readFrame(maxPayload: 1 << 14) else {
            throw HTTP3Error(.missingSettings, "the control stream must begin with SETTINGS")
        }
        state.withLockedValue { $0.peerSettings = settings }
        while let frame = try await reader.readFrame(maxPayload: 1 << 14) {
            switch frame {
            case .settings: throw HTTP3Error(.frameUnexpected, "second SETTINGS")
            case .data, .headers: throw HTTP3Error(.frameUnexpected, "DATA or HEADERS on the control stream")
            case .goaway(let id): state.withLockedValue { $0.goawayReceived = id }
            case .other: continue
            }
        }
        throw HTTP3Error(.closedCriticalStream, "control stream closed")
    }

    /// Hands a WebTransport stream (header type read) to its session, or parks it until the CONNECT
    /// that opens the session has been processed.
    private func routeWebTransport(_ reader: inout FrameStreamReader) async throws {
        guard let sessionID = try await reader.readVarint() else { return }
        let stream = WebTransportStream(stream: reader.stream, leftover: reader.buffered)
        enum Route { case deliver(WebTransportSession), parked, refuse }
        let route = state.withLockedValue { state -> Route in
            if let session = state.sessions[Int64(sessionID)] { return .deliver(session) }
            // Only a client-initiated bidi stream id can become a session; its CONNECT may still be in flight.
            guard sessionID & 0x3 == 0, sessionID <= UInt64(Int64.max),
                state.pendingCount < configuration.maxBufferedStreams
            else { return .refuse }
            state.pendingStreams[Int64(sessionID), default: []].append(stream)
            state.pendingCount += 1
            return .parked
        }
        switch route {
        case .deliver(let session): session.deliver(stream)
        case .parked: break
        case .refuse:
            // WT_BUFFERED_STREAM_REJECTED
            reader.stream.stopSending(code: 0x3994_bd84)
            if !reader.stream.isUnidirectional { reader.stream.reset(code: 0x3994_bd84) }
        }
    }

    private func routeDatagrams() async {
        for await datagram in quic.incomingDatagrams {
            var payload = datagram
            guard let quarter = payload.readHTTP3Varint(), quarter <= UInt64(Int64.max / 4) else { continue }
            state.withLockedValue { $0.sessions[Int64(quarter * 4)] }?.deliver(datagram: payload)
        }
    }

    // MARK: sessions

    /// Makes a session reachable by id and hands it the streams that arrived before it.
    func register(_ session: WebTransportSession) {
        let parked = state.withLockedValue { state -> [WebTransportStream] in
            state.sessions[session.id] = session
            let parked = state.pendingStreams.removeValue(forKey: session.id) ?? []
            state.pendingCount -= parked.count
            return parked
        }
        for stream in parked { session.deliver(stream) }
    }

    /// Called once when a session ends; closes the connection when it held only that session.
    func sessionEnded(_ session: WebTransportSession, code: UInt32, reason: String, byPeer: Bool) {
        let remaining = state.withLockedValue { state in
            state.sessions[session.id] = nil
            return state.sessions.count
        }
        guard configuration.closeConnectionWithSession, remaining == 0 else { return }
        let quic = self.quic
        // A moment for the close capsule to leave before CONNECTION_CLOSE discards unsent stream data.
        jobSink.yield {
            try? await Task.sleep(for: .milliseconds(byPeer ? 0 : 50))
            quic.close(
                code: byPeer ? HTTP3ErrorCode.noError.rawValue : WebTransportErrorCode.toHTTP3(code), reason: reason)
        }
    }

    /// Reads the CONNECT stream after the 2xx: capsules (in DATA frames; a bare capsule is tolerated) until
    /// CLOSE_WEBTRANSPORT_SESSION or FIN, which end the session.
    func readCapsules(_ reader: FrameStreamReader, session: WebTransportSession) async {
        var reader = reader
        var capsules = ByteBuffer()
        var outcome: (code: UInt32, reason: String) = (0, "")
        do {
            reading: while let frame = try await reader.readFrame(maxPayload: 1 << 16) {
                switch frame {
                case .data(let payload):
                    capsules.writeImmutableBuffer(payload)
                    while let capsule = try WebTransportCapsule.read(from: &capsules) {
                        if case .closeSession(let code, let reason) = capsule {
                            outcome = (code, reason)
                            break reading
                        }
                    }
                case .other(let type, var payload) where type == WebTransportCapsule.closeSessionType:
                    outcome = (payload.readInteger(as: UInt32.self) ?? 0, String(buffer: payload))
                    break reading
                case .headers, .other: continue
                case .settings, .goaway: throw HTTP3Error(.frameUnexpected, "control frame on a request stream")
                }
            }
        } catch let error as HTTP3Error {
            fail(error)
        } catch {
            outcome = (0, "\(error)")
        }
        if session.markClosed(code: outcome.code, reason: outcome.reason) {
            reader.stream.finishWithoutWaiting(ByteBuffer())
            sessionEnded(session, code: outcome.code, reason: outcome.reason, byPeer: true)
        }
    }
}
