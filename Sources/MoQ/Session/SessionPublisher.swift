import MoQWire
import NIOConcurrencyHelpers
import NIOCore

/// The publisher side of a session: answers the streams the peer opens to learn and read our broadcasts
/// (ANNOUNCE_REQUEST, TRACK, SUBSCRIBE, FETCH, PROBE), and the peer's SETUP, GOAWAY and group streams.
extension MoQSession {
    /// Dispatches one stream the peer opened by its type.
    func serve(_ stream: any MoQTransportStream) async {
        var reader = StreamReader(stream, version: version, limits: configuration.limits)
        do {
            guard let type = try await reader.readVarint() else { return }
            if stream.isUnidirectional {
                switch UniStreamType(rawValue: type) {
                case .setup: try await receiveSetup(&reader)
                case .group: try await receiveGroup(&reader)
                case nil: stream.stopSending(code: StreamErrorCode.cancel.rawValue)
                }
                return
            }
            // No broadcast is served before the peer was admitted (and then only within its scope).
            let servesBroadcasts = [.announce, .subscribe, .track, .fetch].contains(BidiStreamType(rawValue: type))
            if servesBroadcasts, !(await waitForAdmission()) {
                stream.reset(code: StreamErrorCode.unauthorized.rawValue)
                stream.stopSending(code: StreamErrorCode.unauthorized.rawValue)
                return
            }
            switch BidiStreamType(rawValue: type) {
            case .announce: try await serveAnnouncements(&reader)
            case .subscribe: try await serveSubscription(&reader)
            case .track: try await serveTrackInfo(&reader)
            case .fetch: try await serveFetch(&reader)
            case .probe: try await serveProbe(&reader)
            case .goaway: try await receiveGoaway(&reader)
            case nil:
                // Unknown stream types are reset, never fatal (moq-lite 03+).
                stream.reset(code: StreamErrorCode.cancel.rawValue)
                stream.stopSending(code: StreamErrorCode.cancel.rawValue)
            }
        } catch let error as MoQStreamError {
            logger.debug("stream ended", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        } catch let error as WireError {
            // A malformed message ends its stream (the transaction), not the session.
            logger.info("malformed message from peer", metadata: ["error": "\(error)"])
            stream.reset(code: StreamErrorCode.malformedTrack.rawValue)
            stream.stopSending(code: StreamErrorCode.malformedTrack.rawValue)
        } catch {
            logger.debug("stream failed", metadata: ["error": "\(error)"])
            stream.reset(code: StreamErrorCode.internalError.rawValue)
        }
    }

    // MARK: SETUP and GOAWAY

    private func receiveSetup(_ reader: inout StreamReader) async throws {
        guard version >= .lite05 else { throw WireError.versionUnsupported }
        let setup = try await reader.require(Setup.self)
        // The reference answers a read Setup stream with STOP_SENDING(0); so do we.
        reader.stream.stopSending(code: 0)
        await receivedSetup(
            MoQPeerSetup(origin: setup.origin ?? 0, probe: setup.probe ?? 0, path: setup.path, cost: setup.cost ?? 1))
    }

    private func receiveGoaway(_ reader: inout StreamReader) async throws {
        let goaway = try await reader.require(Goaway.self)
        let repeated = state.withLockedValue { state -> Bool in
            defer { state.goaway = goaway.newSessionURI }
            return state.goaway != nil
        }
        if repeated {
            close(code: SessionErrorCode.protocolViolation.rawValue, reason: "second GOAWAY")
            return
        }
        logger.info("peer is going away", metadata: ["uri": "\(goaway.newSessionURI)"])
        try? await reader.stream.finish()
    }

    // MARK: announcements

    /// Answers ANNOUNCE_REQUEST: the broadcasts under the prefix now, then every change, until the peer
    /// closes its side. Split horizon: routes that passed through the peer are not offered back to it.
    private func serveAnnouncements(_ reader: inout StreamReader) async throws {
        let request = try await reader.require(AnnounceRequest.self)
        let scope = self.scope
        let prefix = scope.absolute(request.prefix)
        let excluded = version >= .lite06 ? peerSetup.origin : request.excludeHop
        let (current, changes) = configuration.publish.watch(prefix: prefix)
        let stream = reader.stream
        var writer = AnnouncementWriter(
            version: version, prefix: prefix, hopID: configuration.hopID, excluded: excluded
        ) { path in scope.relative(path).map(scope.maySubscribe) ?? false }
        let initial = current.compactMap { writer.encode($0) }
        var buffer = ByteBuffer()
        if version >= .lite05 {
            AnnounceOK(hopID: configuration.hopID, activeCount: UInt64(initial.count)).encode(
                into: &buffer, version: version)
        }
        for message in initial { message.encode(into: &buffer, version: version) }
        if buffer.readableBytes > 0 { try await stream.write(buffer) }

        // Forward changes until the peer FINs (or resets) its side of the stream.
        let initialWriter = writer
        _ = try await watchPeer(reader) { peerSide in
            try await peerSide.readVarint() != nil  // nothing more is expected from the peer: read to FIN
        } beside: {
            var writer = initialWriter
            for await change in changes {
                guard let message = writer.encode(change) else { continue }
                var buffer = ByteBuffer()
                message.encode(into: &buffer, version: self.version)
                try await stream.write(buffer)
            }
        }
        try? await stream.finish()
    }

    // MARK: TRACK

    private func serveTrackInfo(_ reader: inout StreamReader) async throws {
        guard version >= .lite05 else { throw WireError.versionUnsupported }
        let request = try await reader.require(TrackRequest.self)
        guard let broadcast = try readable(request.broadcast, on: reader.stream) else {
            reader.stream.reset(code: StreamErrorCode.unroutable.rawValue)
            return
        }
        guard let track = broadcast.track(request.track) else {
            reader.stream.reset(code: StreamErrorCode.notFound.rawValue)
            return
        }
        let info = track.info
        var buffer = ByteBuffer()
        MoQWire.TrackInfo(
            priority: info.priority, ordered: false, maxLatencyMs: info.maxLatency.milliseconds,
            timescale: info.timescale
        ).encode(into: &buffer, version: version)
        try await reader.stream.write(buffer)
        try await reader.stream.finish()
    }

    // MARK: FETCH

    /// One past group, whole, from the track's retained groups. Refused on lite-04 (as the reference does).
    private func serveFetch(_ reader: inout StreamReader) async throws {
        guard version >= .lite05 else {
            reader.stream.reset(code: StreamErrorCode.notFound.rawValue)
            return
        }
        let fetch = try await reader.require(Fetch.self)
        guard let broadcast = try readable(fetch.broadcast, on: reader.stream) else {
            reader.stream.reset(code: StreamErrorCode.unroutable.rawValue)
            return
        }
        guard let group = broadcast.track(fetch.track)?.group(fetch.group) else {
            reader.stream.reset(code: StreamErrorCode.notFound.rawValue)
            return
        }
        var index = fetch.startFrame
        for try await (frame, header) in group.encodedFrames(for: version, from: fetch.startFrame) {
            defer { index += 1 }
            if let end = fetch.endFrame, index >= end { break }
            try await reader.stream.write(header, then: frame.payload)
        }
        try await reader.stream.finish()
    }

    /// The broadcast the peer calls `path`, if its scope lets it read it (else UNAUTHORIZED is thrown,
    /// after resetting `stream`); nil when it is not announced.
    func readable(_ path: String, on stream: any MoQTransportStream) throws -> BroadcastConsumer? {
        let scope = self.scope
        guard scope.maySubscribe(path) else {
            logger.info("read refused: outside the session's scope", metadata: ["broadcast": "\(path)"])
            stream.reset(code: StreamErrorCode.unauthorized.rawValue)
            throw MoQStreamError(code: StreamErrorCode.unauthorized.rawValue, reason: "not allowed to read \(path)")
        }
        return configuration.publish.consume(scope.absolute(path))
    }

    // MARK: PROBE

    /// Reports our estimate of the path's bitrate and RTT (reference subscribers open PROBE and read).
    private func serveProbe(_ reader: inout StreamReader) async throws {
        let stream = reader.stream
        let peerSide = reader
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let (bitrate, rtt) = await self.transport.pathEstimate()
                    var buffer = ByteBuffer()
                    Probe(bitrate: bitrate, rttMs: rtt).encode(into: &buffer, version: self.version)
                    try await stream.write(buffer)
                    try await Task.sleep(for: .seconds(10))
                }
            }
            group.addTask {
                // A target from the peer (gomoqt sends one) is read and ignored.
                var peerSide = peerSide
                while try await peerSide.read(Probe.self) != nil {}
            }
            _ = try await group.next()
            group.cancelAll()
        }
        try? await stream.finish()
    }
}

/// Turns origin announcements into the version's wire messages for one ANNOUNCE_REQUEST stream:
/// suffixes relative to the prefix, lite-06 announce ids, hop chains as each version wants them.
struct AnnouncementWriter: Sendable {
    let version: MoQVersion
    let prefix: String
    let hopID: UInt64
    let excluded: UInt64
    /// Whether the peer may hear of a broadcast (by its origin path).
    let visible: @Sendable (String) -> Bool
    /// lite-06: the announce id of each live suffix. Older versions: the set of live suffixes.
    private var ids: [String: UInt64] = [:]
    private var nextID: UInt64 = 0

    init(
        version: MoQVersion, prefix: String, hopID: UInt64, excluded: UInt64,
        visible: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.version = version
        self.prefix = prefix
        self.hopID = hopID
        self.excluded = excluded
        self.visible = visible
    }

    mutating func encode(_ announcement: Announcement) -> Announce? {
        guard let suffix = MoQPath.suffix(of: announcement.path, under: prefix) else { return nil }
        switch announcement {
        case .active(let path, let hops, let cost):
            // Not for this peer (its route now runs through the peer, or it is out of scope): withdrawn if
            // it was offered, so the peer never routes through us back to itself.
            if (excluded != 0 && hops.contains(excluded)) || !visible(path) { return withdraw(suffix) }
            let existing = ids[suffix]
            if version >= .lite06 {
                if let existing { return .update(id: existing, hops: hops, cost: cost, cold: cost) }
                ids[suffix] = nextID
                nextID += 1
                return .start(suffix: suffix, hops: hops, cost: cost, cold: cost)
            }
            ids[suffix] = 0
            // lite-04 chains include the sender; lite-05 carries the sender's hop in ANNOUNCE_OK.
            let chain = version >= .lite05 ? hops : hops + [hopID]
            return .legacy(status: existing == nil ? .active : .restart, suffix: suffix, hops: chain)
        case .ended:
            return withdraw(suffix)
        }
    }

    /// The end of `suffix` if it was announced to the peer.
    private mutating func withdraw(_ suffix: String) -> Announce? {
        guard let id = ids.removeValue(forKey: suffix) else { return nil }
        return version >= .lite06 ? .end(id: id) : .legacy(status: .ended, suffix: suffix, hops: [])
    }
}
