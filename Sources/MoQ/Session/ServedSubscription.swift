import MoQWire
import NIOConcurrencyHelpers
import NIOCore

/// The publisher side of one SUBSCRIBE: sends the track's groups, each on its own unidirectional stream,
/// starting at the live edge (or the requested group), until the track ends or the peer unsubscribes.
///
/// A slow peer never holds the track back: at most `maxGroupsInFlight` groups are being sent; when a
/// newer group arrives past that, the oldest in flight is reset (OLD) and the newer ones go on.
extension MoQSession {
    func serveSubscription(_ reader: inout StreamReader) async throws {
        let subscribe = try await reader.require(Subscribe.self)
        let serving = state.withLockedValue { state in
            state.subscriptionsReceived += 1
            state.subscriptionsServing += 1
            return state.subscriptionsServing
        }
        defer { state.withLockedValue { $0.subscriptionsServing -= 1 } }
        guard serving <= configuration.maxPeerSubscriptions else {
            exceeded("more than \(configuration.maxPeerSubscriptions) subscriptions at once")
            return
        }
        configuration.counters.subscriptionServed()
        let stream = reader.stream
        guard let broadcast = try readable(subscribe.broadcast, on: stream) else {
            stream.reset(code: StreamErrorCode.unroutable.rawValue)
            return
        }
        guard let track = broadcast.track(subscribe.track) else {
            stream.reset(code: StreamErrorCode.notFound.rawValue)
            return
        }
        let preference = track.subscriberJoined(
            SubscriberPreference(priority: subscribe.priority, maxLatency: .milliseconds(subscribe.maxLatencyMs)))
        defer { track.subscriberLeft(preference) }
        let served = ServedGroups(limit: configuration.maxGroupsInFlight)
        served.setEnd(subscribe.endGroup)
        if version < .lite05 {
            // lite-03/04 subscribers require SUBSCRIBE_OK before anything else.
            var buffer = ByteBuffer()
            SubscribeResponse.ok(
                priority: subscribe.priority, ordered: false, maxLatencyMs: 0, startGroup: nil, endGroup: nil
            )
            .encode(into: &buffer, version: version)
            try await stream.write(buffer)
        }
        let start: TrackStart = subscribe.startGroup.map { .group($0) } ?? .latest
        let subscribeID = subscribe.id
        let startFrame = subscribe.startFrame
        let end = try await watchPeer(reader) { peerSide in
            guard let update = try await peerSide.read(SubscribeUpdate.self) else { return false }
            served.setEnd(update.endGroup)
            track.subscriberUpdated(
                preference,
                SubscriberPreference(priority: update.priority, maxLatency: .milliseconds(update.maxLatencyMs)))
            return true
        } beside: {
            try await self.deliver(
                track.consume(from: start), id: subscribeID, startFrame: startFrame, on: stream, served: served)
        }
        if end == .peerFinished {
            // The reference answers an unsubscribe by resetting in-flight groups (CANCEL) and FIN.
            served.resetAll(code: StreamErrorCode.cancel.rawValue)
        }
        try? await stream.finish()
    }

    /// Sends groups as they come; returns when the track ended (after SUBSCRIBE_END on lite-05+).
    private func deliver(
        _ consumer: TrackConsumer, id: UInt64, startFrame: UInt64, on stream: any MoQTransportStream,
        served: ServedGroups
    ) async throws {
        var last: UInt64?
        try await withThrowingDiscardingTaskGroup { senders in
            for try await group in consumer {
                if let end = served.end, group.sequence >= end { break }
                if last == nil, version >= .lite05 {
                    var buffer = ByteBuffer()
                    SubscribeResponse.start(group: group.sequence).encode(into: &buffer, version: version)
                    try await stream.write(buffer)
                }
                let frameStart = last == nil ? startFrame : 0
                last = group.sequence
                if group.isDatagram, version >= .lite05 {
                    try await sendDatagram(group, id: id)
                    continue
                }
                // Streams open and get their GROUP header here, in group order, so the peer sees them in
                // sequence (a reader that moves forward never skips an earlier group that came late); the
                // frames then flow concurrently. A fresh stream's header never waits for send-buffer room.
                guard let groupStream = try? await transport.openUnidirectionalStream() else { break }
                guard served.begin(group.sequence, groupStream) else {
                    groupStream.reset(code: StreamErrorCode.old.rawValue)
                    configuration.counters.groupDropped()
                    continue
                }
                var header = ByteBuffer()
                header.writeQUICVarint(UniStreamType.group.rawValue)
                GroupHeader(subscribeID: id, sequence: group.sequence, frameStart: version >= .lite06 ? frameStart : 0)
                    .encode(into: &header, version: version)
                do {
                    try await groupStream.write(header)
                } catch {
                    served.finished(group.sequence)
                    groupStream.reset(code: StreamErrorCode.cancel.rawValue)
                    configuration.counters.groupDropped()
                    continue
                }
                senders.addTask {
                    await self.sendFrames(of: group, on: groupStream, frameStart: frameStart, served: served)
                }
            }
        }
        if version >= .lite05 {
            var buffer = ByteBuffer()
            SubscribeResponse.end(group: last.map { $0 + 1 } ?? 0).encode(into: &buffer, version: version)
            try await stream.write(buffer)
        }
    }

    /// The frames of one group after its header, then FIN (or RESET with the group's code).
    private func sendFrames(
        of group: GroupConsumer, on stream: any MoQTransportStream, frameStart: UInt64, served: ServedGroups
    ) async {
        defer { served.finished(group.sequence) }
        do {
            for try await (frame, header) in group.encodedFrames(for: version, from: frameStart) {
                try await stream.write(header, then: frame.payload)
                configuration.counters.bytesSent(frame.payload.readableBytes)
            }
            try await stream.finish()
            configuration.counters.groupSent()
        } catch let error as MoQStreamError {
            stream.reset(code: error.code)
            configuration.counters.groupDropped()
        } catch {
            stream.reset(code: StreamErrorCode.cancel.rawValue)
            configuration.counters.groupDropped()
        }
    }

    private func sendDatagram(_ group: GroupConsumer, id: UInt64) async throws {
        for try await frame in group {
            var buffer = ByteBuffer()
            Datagram(subscribeID: id, group: group.sequence, timestamp: frame.timestamp, payload: frame.payload)
                .encode(into: &buffer, version: version)
            transport.sendDatagram(buffer)
        }
    }
}

/// The group streams in flight for one served subscription, and its (updatable) end group.
final class ServedGroups: Sendable {
    private struct State {
        var inFlight: [UInt64: any MoQTransportStream] = [:]
        var end: UInt64?
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    var end: UInt64? { state.withLockedValue { $0.end } }
    func setEnd(_ end: UInt64?) { state.withLockedValue { $0.end = end } }

    /// Registers a group stream; drops the oldest in flight when over the limit. False when this group is
    /// itself older than everything in flight and the limit is reached.
    func begin(_ sequence: UInt64, _ stream: any MoQTransportStream) -> Bool {
        let (accepted, dropped) = state.withLockedValue { state -> (Bool, (any MoQTransportStream)?) in
            var dropped: (any MoQTransportStream)?
            if state.inFlight.count >= limit {
                guard let oldest = state.inFlight.keys.min(), oldest < sequence else { return (false, nil) }
                dropped = state.inFlight.removeValue(forKey: oldest)
            }
            state.inFlight[sequence] = stream
            return (true, dropped)
        }
        dropped?.reset(code: StreamErrorCode.old.rawValue)
        return accepted
    }

    func finished(_ sequence: UInt64) { state.withLockedValue { _ = $0.inFlight.removeValue(forKey: sequence) } }

    func resetAll(code: UInt64) {
        let streams = state.withLockedValue { state -> [any MoQTransportStream] in
            defer { state.inFlight.removeAll() }
            return Array(state.inFlight.values)
        }
        for stream in streams { stream.reset(code: code) }
    }
}
