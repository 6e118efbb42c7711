import MoQWire
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a subscriber asks of a track.
public struct SubscribeOptions: Sendable, Equatable {
    /// Subscriber priority (higher = more important).
    public var priority: UInt8
    /// Groups older than this behind the latest may be skipped by the publisher; 0 = latest only.
    public var maxLatency: Duration
    /// First group wanted (nil = the live edge).
    public var startGroup: UInt64?
    /// First group not wanted (nil = open-ended).
    public var endGroup: UInt64?

    public init(priority: UInt8 = 0, maxLatency: Duration = .zero, startGroup: UInt64? = nil, endGroup: UInt64? = nil) {
        self.priority = priority
        self.maxLatency = maxLatency
        self.startGroup = startGroup
        self.endGroup = endGroup
    }
}

/// One of our subscriptions: read its groups from `track`, change it with `update`, end it with `cancel`.
public final class MoQSubscription: Sendable {
    public let id: UInt64
    public let broadcast: String
    public let name: String
    let producer: TrackProducer
    /// Feeds a broadcast mirrored from the peer (see `subscribe(broadcast:track:into:options:upstream:)`).
    let upstream: Bool
    let commands: AsyncStream<Command>
    private let commandSink: AsyncStream<Command>.Continuation

    enum Command: Sendable {
        case update(SubscribeOptions)
        case cancel
    }

    init(id: UInt64, broadcast: String, name: String, producer: TrackProducer, upstream: Bool = false) {
        self.id = id
        self.broadcast = broadcast
        self.name = name
        self.producer = producer
        self.upstream = upstream
        (commands, commandSink) = AsyncStream.makeStream(of: Command.self)
    }

    /// Every group received, in order of sequence, from the first one the publisher sends.
    public var track: TrackConsumer { producer.consume(from: .group(0)) }
    /// The publisher's TRACK_INFO (defaults until it arrives; lite-04 has none).
    public var info: TrackInfo { producer.info }

    /// Sends SUBSCRIBE_UPDATE with new preferences.
    public func update(_ options: SubscribeOptions) { commandSink.yield(.update(options)) }

    /// Unsubscribes (FIN on the subscribe stream); the track ends.
    public func cancel() { commandSink.yield(.cancel) }
}

extension MoQSession {
    // MARK: public API

    /// Offers `broadcast` to the peer (it is announced on every ANNOUNCE_REQUEST that covers its path).
    public func publish(_ broadcast: BroadcastProducer) { configuration.publish.publish(broadcast) }

    /// The peer's announcements under `prefix` (from the ANNOUNCE_REQUEST the session keeps open).
    public func announcements(prefix: String = "") -> AsyncStream<Announcement> {
        configuration.consume.announcements(prefix: prefix)
    }

    /// A broadcast the peer announced; subscribing to its tracks subscribes on this session.
    public func broadcast(_ path: String) -> BroadcastConsumer? { configuration.consume.consume(path) }

    /// Subscribes to `track` of `broadcast` (announced or not). Rejections (unknown broadcast or track)
    /// end the subscription's track with the publisher's error code.
    public func subscribe(broadcast: String, track: String, options: SubscribeOptions = .init()) -> MoQSubscription {
        let producer = TrackProducer(name: track)
        return subscribe(broadcast: MoQPath.normalize(broadcast), track: track, into: producer, options: options)
    }

    /// - Parameter upstream: the subscription feeds a broadcast mirrored from the peer: it ends once no
    ///   one reads the track, and it is left open if the session is lost (for a returning publisher).
    func subscribe(
        broadcast: String, track: String, into producer: TrackProducer, options: SubscribeOptions,
        upstream: Bool = false
    ) -> MoQSubscription {
        let (subscription, firstOfSession) = state.withLockedValue { state -> (MoQSubscription, Bool) in
            defer {
                state.nextSubscribeID += 1
                state.receivingDatagrams = true
            }
            let subscription = MoQSubscription(
                id: state.nextSubscribeID, broadcast: broadcast, name: track, producer: producer, upstream: upstream)
            state.subscriptions[subscription.id] = subscription
            return (subscription, !state.receivingDatagrams)
        }
        // Datagrams only ever belong to our subscriptions: their reader starts with the first one.
        if firstOfSession { spawn { await self.receiveDatagrams() } }
        spawn { await self.run(subscription, options: options) }
        return subscription
    }

    /// Fetches one past group, whole (lite-05+).
    public func fetch(broadcast: String, track: String, group: UInt64, priority: UInt8 = 0) async throws -> [Frame] {
        guard version >= .lite05 else {
            throw MoQStreamError(code: StreamErrorCode.notFound.rawValue, reason: "FETCH needs lite-05 or newer")
        }
        let stream = try await transport.openBidirectionalStream()
        var buffer = ByteBuffer()
        buffer.writeQUICVarint(BidiStreamType.fetch.rawValue)
        Fetch(
            broadcast: MoQPath.normalize(broadcast), track: track, priority: priority, group: group, startFrame: 0,
            endFrame: nil
        )
        .encode(into: &buffer, version: version)
        try await stream.write(buffer)
        // Our side stays open until the answer is complete: the reference (lite-06) takes an early FIN
        // on a FETCH stream as a cancel.
        var reader = StreamReader(stream, version: version, limits: configuration.limits)
        var decoder = FrameDecoder(version: version)
        var frames: [Frame] = []
        while let frame = try await decoder.next(&reader) { frames.append(frame) }
        try? await stream.finish()
        return frames
    }

    /// Tells the peer we are going away (GOAWAY, lite-04+), optionally with where to reconnect.
    public func goaway(newSessionURI: String = "") async throws {
        let stream = try await transport.openBidirectionalStream()
        var buffer = ByteBuffer()
        buffer.writeQUICVarint(BidiStreamType.goaway.rawValue)
        Goaway(newSessionURI: newSessionURI).encode(into: &buffer, version: version)
        try await stream.write(buffer)
        try await stream.finish()
    }

    // MARK: subscriptions

    private func run(_ subscription: MoQSubscription, options: SubscribeOptions) async {
        let producer = subscription.producer
        defer {
            _ = state.withLockedValue { $0.subscriptions.removeValue(forKey: subscription.id) }
        }
        do {
            let stream = try await transport.openBidirectionalStream()
            var buffer = ByteBuffer()
            buffer.writeQUICVarint(BidiStreamType.subscribe.rawValue)
            Subscribe(
                id: subscription.id, broadcast: subscription.broadcast, track: subscription.name,
                priority: options.priority,
                ordered: false, maxLatencyMs: options.maxLatency.milliseconds, startGroup: options.startGroup,
                endGroup: options.endGroup, startFrame: 0, endFrame: nil
            ).encode(into: &buffer, version: version)
            try await stream.write(buffer)
            var reader = StreamReader(stream, version: version, limits: configuration.limits)
            let endGroup: UInt64? = try await withThrowingTaskGroup(of: UInt64?.self) { group in
                if version >= .lite05 {
                    group.addTask {
                        await self.fetchTrackInfo(subscription)
                        return nil
                    }
                }
                if subscription.upstream {
                    group.addTask {
                        // Nobody reads the track any more: unsubscribe (it is pulled anew on demand).
                        await producer.waitUntilUnused(for: self.configuration.unusedTrackLinger)
                        if !Task.isCancelled { subscription.cancel() }
                        return nil
                    }
                    group.addTask {
                        // Ask upstream for what the subscribers downstream want together.
                        var asked = SubscriberPreference(priority: options.priority, maxLatency: options.maxLatency)
                        var seen: SubscriberPreference? = asked
                        while !Task.isCancelled, !producer.isFinished {
                            await producer.waitForPreference(differentFrom: seen)
                            seen = producer.subscriberPreference
                            guard let wanted = seen, wanted != asked else { continue }
                            asked = wanted
                            subscription.update(
                                SubscribeOptions(priority: wanted.priority, maxLatency: wanted.maxLatency))
                        }
                        return nil
                    }
                }
                group.addTask {
                    for await command in subscription.commands {
                        switch command {
                        case .update(let options):
                            var buffer = ByteBuffer()
                            SubscribeUpdate(
                                priority: options.priority, ordered: false,
                                maxLatencyMs: options.maxLatency.milliseconds,
                                startGroup: options.startGroup, endGroup: options.endGroup, startFrame: 0, endFrame: nil
                            ).encode(into: &buffer, version: self.version)
                            try await stream.write(buffer)
                        case .cancel:
                            try await stream.finish()
                            return nil
                        }
                    }
                    return nil
                }
                var end: UInt64?
                while let response = try await reader.read(SubscribeResponse.self) {
                    if case .end(let group) = response { end = group }
                }
                group.cancelAll()
                return end
            }
            await waitForGroups(below: endGroup, of: producer)
            producer.finish()
        } catch let error as MoQStreamError {
            producer.abort(error)
        } catch let error as WireError {
            producer.abort(MoQStreamError(code: StreamErrorCode.malformedTrack.rawValue, reason: "\(error)"))
        } catch {
            // The connection went away: a lingering broadcast keeps the track open for its publisher's return.
            if lingersOnLoss(subscription) { return }
            producer.abort(MoQStreamError(code: StreamErrorCode.internalError.rawValue, reason: "\(error)"))
        }
    }

    /// The publisher FINs after SUBSCRIBE_END once it sent its groups; give their streams a moment to land.
    private func waitForGroups(below end: UInt64?, of producer: TrackProducer) async {
        guard let end, end > 0 else { return }
        for _ in 0..<100 {
            if let latest = producer.latestSequence, latest + 1 >= end { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// TRACK -> TRACK_INFO (lite-05+): the publisher's priority, max latency and timescale.
    private func fetchTrackInfo(_ subscription: MoQSubscription) async {
        do {
            let stream = try await transport.openBidirectionalStream()
            var buffer = ByteBuffer()
            buffer.writeQUICVarint(BidiStreamType.track.rawValue)
            TrackRequest(broadcast: subscription.broadcast, track: subscription.name).encode(
                into: &buffer, version: version)
            try await stream.write(buffer)
            var reader = StreamReader(stream, version: version, limits: configuration.limits)
            let info = try await reader.require(MoQWire.TrackInfo.self)
            try? await stream.finish()
            subscription.producer.setInfo(
                TrackInfo(
                    priority: info.priority, maxLatency: .milliseconds(Int64(clamping: info.maxLatencyMs)),
                    timescale: info.timescale))
        } catch {
            logger.debug("no TRACK_INFO", metadata: ["track": "\(subscription.name)", "error": "\(error)"])
        }
    }

    /// A group stream from the peer, for one of our subscriptions.
    func receiveGroup(_ reader: inout StreamReader) async throws {
        let header = try await reader.require(GroupHeader.self)
        guard let track = state.withLockedValue({ $0.subscriptions[header.subscribeID]?.producer }) else {
            reader.stream.stopSending(code: StreamErrorCode.cancel.rawValue)
            return
        }
        let group = track.createGroup(sequence: header.sequence)
        var decoder = FrameDecoder(version: version)
        do {
            while let frame = try await decoder.next(&reader) {
                group.write(frame)
                configuration.counters.bytesReceived(frame.payload.readableBytes)
            }
            group.finish()
            configuration.counters.groupReceived()
        } catch let error as MoQStreamError {
            group.abort(error)
        } catch {
            group.abort(MoQStreamError(code: StreamErrorCode.malformedTrack.rawValue, reason: "\(error)"))
            reader.stream.stopSending(code: StreamErrorCode.malformedTrack.rawValue)
        }
    }

    /// DATAGRAMs (lite-05+): each is a one-frame group of one of our subscriptions.
    func receiveDatagrams() async {
        guard version >= .lite05 else { return }
        for await payload in transport.incomingDatagrams {
            guard let datagram = try? Datagram.decode(payload, version: version),
                let track = state.withLockedValue({ $0.subscriptions[datagram.subscribeID]?.producer })
            else { continue }
            guard track.group(datagram.group) == nil else { continue }  // already arrived on a stream
            let group = track.createGroup(sequence: datagram.group)
            group.write(Frame(payload: datagram.payload, timestamp: datagram.timestamp))
            group.finish()
        }
    }

    // MARK: announcements

    /// Opens ANNOUNCE_REQUEST toward the peer and mirrors its broadcasts into `configuration.consume`,
    /// with hop chains; a chain holding our own hop id is a loop and is ignored. Returns once the peer
    /// accepted the request: its announcements are then read by a `StreamWatch` (no task waits for them).
    func requestAnnouncements(prefix: String) async {
        let prefix = MoQPath.normalize(prefix)
        do {
            let stream = try await transport.openBidirectionalStream()
            var buffer = ByteBuffer()
            buffer.writeQUICVarint(BidiStreamType.announce.rawValue)
            AnnounceRequest(prefix: prefix, excludeHop: version < .lite06 ? configuration.hopID : 0)
                .encode(into: &buffer, version: version)
            try await stream.write(buffer)
            var reader = StreamReader(stream, version: version, limits: configuration.limits)
            let peerHop = version >= .lite05 ? try await reader.require(AnnounceOK.self).hopID : 0
            let feed = NIOLockedValueBox(AnnouncementFeed(prefix: prefix, peerHop: peerHop))
            let watch = StreamWatch(reader) { reader in
                guard let message = try await reader.read(Announce.self) else { return false }
                try feed.withLockedValue { try self.apply(message, to: &$0) }
                return true
            } onEnd: { end in
                var lost = false
                if case .failed(let error) = end {
                    lost = !(error is WireError)
                    self.logger.debug("announcements from peer ended", metadata: ["error": "\(error)"])
                }
                let learned = feed.withLockedValue { feed in
                    defer { feed.learned.removeAll() }
                    return Array(feed.learned.values)
                }
                self.forget(learned, lost: lost)
            }
            watch.start(in: self)
        } catch {
            logger.debug("announcements from peer ended", metadata: ["error": "\(error)"])
        }
    }

    /// Mirrors one announcement of the peer into the origin.
    private func apply(_ message: Announce, to feed: inout AnnouncementFeed) throws {
        // A route's cost here is what the peer announced plus the price of pulling from the peer (read per
        // message: the peer's SETUP may arrive after its first announcements).
        let linkCost = configuration.linkCost ?? peerSetup.cost
        switch message {
        case .start(let suffix, let hops, let cost, _):
            let path = MoQPath.join(feed.prefix, suffix)
            feed.ids[feed.nextID] = path
            feed.nextID += 1
            activate(path, hops: hops + [feed.peerHop], cost: cost &+ linkCost, in: &feed.learned)
        case .update(let id, let hops, let cost, _):
            guard let path = feed.ids[id] else { throw WireError.malformed("ANNOUNCE_UPDATE for unknown id \(id)") }
            activate(path, hops: hops + [feed.peerHop], cost: cost &+ linkCost, in: &feed.learned)
        case .end(let id):
            guard let path = feed.ids.removeValue(forKey: id) else {
                throw WireError.malformed("ANNOUNCE_END for unknown id \(id)")
            }
            feed.learned.removeValue(forKey: path)?.finish()
        case .legacy(let status, let suffix, let hops):
            let path = MoQPath.join(feed.prefix, suffix)
            if status == .ended {
                feed.learned.removeValue(forKey: path)?.finish()
            } else {
                // No costs before lite-06: every hop before the peer counts 1.
                let chain = version >= .lite05 ? hops + [feed.peerHop] : hops
                activate(path, hops: chain, cost: UInt64(max(chain.count - 1, 0)) &+ linkCost, in: &feed.learned)
            }
        }
    }

    /// The peer no longer offers `broadcasts`: they end, or, when the session was lost and a linger is
    /// configured, they stay announced for the publisher to resume.
    private func forget(_ broadcasts: [BroadcastProducer], lost: Bool) {
        guard lost, let onPublisherLost = configuration.onPublisherLost, !broadcasts.isEmpty else {
            for broadcast in broadcasts { broadcast.finish() }
            return
        }
        let lingering = broadcasts.compactMap { broadcast -> LingeringBroadcast? in
            broadcast.setSource(nil)
            // Another route to it (a cluster's other path) takes over its tracks at once.
            if configuration.consume.failover(broadcast) {
                logger.info(
                    "publisher lost: another route feeds its broadcast", metadata: ["broadcast": "\(broadcast.path)"])
                return nil
            }
            guard let lingering = configuration.consume.linger(broadcast) else {
                broadcast.finish()  // not the route in use (another path is): nothing waits for it
                return nil
            }
            return lingering
        }
        logger.info("publisher lost: its broadcasts linger", metadata: ["broadcasts": "\(broadcasts.map(\.path))"])
        onPublisherLost(lingering)
    }

    /// Mirrors the peer's broadcast `path` (its name for it) into the origin, under the session's root.
    private func activate(
        _ path: String, hops: [UInt64], cost: UInt64, in learned: inout [String: BroadcastProducer]
    ) {
        guard !hops.contains(configuration.hopID) else {
            // Our own announcement came back (a loop): the peer's way there now runs through us.
            learned.removeValue(forKey: path)?.finish()
            return
        }
        let scope = self.scope
        guard scope.mayPublish(path) else {
            logger.info("announcement refused: outside the session's scope", metadata: ["broadcast": "\(path)"])
            return
        }
        if let known = learned[path], !known.isEnded {
            // A new hop chain for a broadcast the peer already offers: same broadcast, same subscribers.
            configuration.consume.publish(known, hops: hops, cost: cost)
            return
        }
        learned.removeValue(forKey: path)?.finish()
        guard learned.count < configuration.maxPeerBroadcasts else {
            exceeded("more than \(configuration.maxPeerBroadcasts) broadcasts announced")
            return
        }
        // Tracks of the broadcast are pulled from the peer: new ones on demand, existing ones when this
        // session takes them over (a returning publisher, or another route failing over to this one).
        let feeder: @Sendable (TrackProducer) -> Void = { [weak self] track in
            _ = self?.subscribe(
                broadcast: path, track: track.name, into: track, options: SubscribeOptions(), upstream: true)
        }
        let source: @Sendable (String) -> TrackProducer? = { [weak self] name in
            guard let self else { return nil }
            let producer = TrackProducer(name: name, cache: self.configuration.cache)
            feeder(producer)
            return producer
        }
        let absolute = scope.absolute(path)
        if let resumed = configuration.consume.adoptLingering(absolute) {
            // The publisher is back: its subscribers' tracks carry on with the groups it sends now.
            resumed.setSource(source, feeder: feeder)
            for track in resumed.tracks where !track.isFinished { feeder(track) }
            logger.info("publisher back: broadcast resumed", metadata: ["broadcast": "\(absolute)"])
            learned[path] = resumed
            configuration.consume.publish(resumed, hops: hops, cost: cost)
            return
        }
        let broadcast = BroadcastProducer(path: absolute)
        broadcast.setSource(source, feeder: feeder)
        learned[path] = broadcast
        configuration.consume.publish(broadcast, hops: hops, cost: cost)
    }
}

/// What one ANNOUNCE_REQUEST toward the peer has learned: the broadcasts it offers under `prefix`.
struct AnnouncementFeed {
    let prefix: String
    /// The peer's hop id (lite-05+), appended to every chain it announces.
    let peerHop: UInt64
    /// lite-06: the path of each announce id.
    var ids: [UInt64: String] = [:]
    var nextID: UInt64 = 0
    var learned: [String: BroadcastProducer] = [:]
}

/// Decodes the frames of a group stream or FETCH response, rebuilding absolute timestamps from deltas.
/// lite-04 frames carry no timestamp: they get their receive time in microseconds (the default timescale),
/// as the reference does, so lite-05+ subscribers of a lite-04 publisher see increasing timestamps.
struct FrameDecoder {
    let version: MoQVersion
    private var timestamp: Int64 = 0

    init(version: MoQVersion) { self.version = version }

    /// The next frame, or nil at FIN between frames.
    mutating func next(_ reader: inout StreamReader) async throws -> Frame? {
        guard let header = try await reader.read(FrameHeader.self) else { return nil }
        let payload = try await reader.readBytes(Int(header.size))
        if version < .lite05 { return Frame(payload: payload, timestamp: receiveTimeMicroseconds()) }
        timestamp &+= header.timestampDelta
        return Frame(payload: payload, timestamp: UInt64(bitPattern: timestamp))
    }
}

/// Wall-clock microseconds since 1970, the timestamp a relay gives frames that arrive without one.
func receiveTimeMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}
