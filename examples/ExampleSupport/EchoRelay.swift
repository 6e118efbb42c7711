public import MoQ
public import NIOCore

/// The track both sides of the echo use inside a broadcast.
public let trackName = "data"

/// Republishes every broadcast the client announces as `echo/<path>`, until the session closes.
public func echoBroadcasts(of session: MoQSession, into echoes: Origin) async {
    await withTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            await withDiscardingTaskGroup { copies in
                for await announcement in session.announcements() {
                    guard case .active(let path, _, _) = announcement else { continue }
                    copies.addTask { await echo(path, of: session, into: echoes) }
                }
            }
        }
        // The session closing stops the copies.
        _ = await session.closed()
        tasks.cancelAll()
    }
}

/// Copies track `data` of the client's broadcast `path` into the broadcast `echo/<path>`, group by group,
/// until the client's track ends; the echo is unannounced then.
public func echo(_ path: String, of session: MoQSession, into echoes: Origin) async {
    let copy = BroadcastProducer(path: "echo/" + path)
    let output = copy.createTrack(trackName)
    echoes.publish(copy)
    say("echoing \(path) as echo/\(path)")
    defer { copy.finish() }
    // From the first group the client still has, so nothing published before we subscribed is missed.
    let source = session.subscribe(broadcast: path, track: trackName, options: SubscribeOptions(startGroup: 0))
    defer { source.cancel() }
    do {
        try await withThrowingDiscardingTaskGroup { groups in
            for try await group in source.track {
                let echoed = output.createGroup(sequence: group.sequence)
                groups.addTask {
                    do {
                        // Frames are copied by value: their ByteBuffers share the received bytes.
                        for try await frame in group { echoed.write(frame) }
                        echoed.finish()
                    } catch {
                        echoed.abort(error as? MoQStreamError ?? .cancelled)
                    }
                }
            }
        }
        output.finish()
    } catch {
        output.abort(error as? MoQStreamError ?? .cancelled)
    }
}

/// Publishes `sent` as broadcast `path`, reading each group back from `echo/<path>`; returns the echoed frames by group.
public func roundTrip(_ sent: [[ByteBuffer]], as path: String, on session: MoQSession) async throws -> [UInt64:
    [ByteBuffer]]
{
    // Announce the broadcast (still empty): the server subscribes and republishes it as echo/<path>.
    let broadcast = BroadcastProducer(path: path)
    let track = broadcast.createTrack(trackName)
    session.publish(broadcast)
    defer { broadcast.finish() }
    let echoPath = "echo/" + path
    for await announcement in session.announcements() {
        if case .active(echoPath, _, _) = announcement { break }
    }
    let echo = session.subscribe(broadcast: echoPath, track: trackName, options: SubscribeOptions(startGroup: 0))
    defer { echo.cancel() }

    // One group at a time, like ping: publish it, then wait for it to come back. (Groups travel on
    // separate streams; with several in flight a later one may land first, and a live subscription moves
    // on to the newest group, skipping the older one.)
    var echoed = echo.track.makeAsyncIterator()
    var received: [UInt64: [ByteBuffer]] = [:]
    for frames in sent {
        let group = track.appendGroup()
        for frame in frames { group.write(frame) }
        group.finish()
        guard let back = try await echoed.next() else { throw EchoEnded() }
        received[back.sequence] = try await back.collect().map(\.payload)
    }
    return received
}

public struct EchoEnded: Error, CustomStringConvertible {
    public var description: String { "the echo track ended early" }
}
