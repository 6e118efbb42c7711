import MoQ
import NIOConcurrencyHelpers
import NIOCore

/// The fan-out of one mount: one subscription to broadcast `ntrip/M` track `rtcm` (whoever publishes
/// it: an NTRIP source or any moq-lite peer), each frame handed to every client of the mount.
///
/// When the broadcast ends the clients stay; if it comes back within the grace time they resume,
/// else they are closed. The hub ends when it has no clients left.
public final class MountHub: Sendable {
    public let mount: String
    let path: String
    /// Clients grouped by event loop: a frame costs one task per loop, not one cross-thread hop per client.
    private struct LoopClients {
        let loop: any EventLoop
        var sinks: [ClientSink]
    }

    private let clients = NIOLockedValueBox<[LoopClients]>([])

    init(mount: String, path: String) {
        self.mount = mount
        self.path = path
    }

    var clientList: [ClientSink] { clients.withLockedValue { $0.flatMap(\.sinks) } }

    func add(_ client: ClientSink) {
        let loop = client.channel.eventLoop
        clients.withLockedValue { groups in
            if let index = groups.firstIndex(where: { $0.loop === loop }) {
                groups[index].sinks.append(client)
            } else {
                groups.append(LoopClients(loop: loop, sinks: [client]))
            }
        }
    }

    func remove(id: UInt64) {
        clients.withLockedValue { groups in
            for index in groups.indices { groups[index].sinks.removeAll { $0.id == id } }
            groups.removeAll { $0.sinks.isEmpty }
        }
    }

    /// Hands `payload` to every client, on each client's own event loop.
    private func deliver(_ payload: ByteBuffer) {
        let chunkHead = ClientSink.chunkHead(for: payload)
        for group in clients.withLockedValue({ $0 }) {
            let sinks = group.sinks
            group.loop.execute {
                for sink in sinks { sink.deliver(payload, chunkHead: chunkHead) }
            }
        }
    }

    /// Serves until no client is left or the broadcast stays away longer than the grace time.
    func run(caster: NTRIPCaster) async {
        let configuration = caster.configuration
        var deadline = ContinuousClock.now + configuration.graceTime
        while !Task.isCancelled {
            guard let broadcast = await caster.origin.live(path, until: deadline) else { break }
            if let track = try? broadcast.subscribe(configuration.trackName, from: .latest) {
                do {
                    for try await group in track {
                        for try await frame in group {
                            deliver(frame.payload)
                        }
                    }
                } catch {
                    configuration.logger.debug("mount \(mount): track ended: \(error)")
                }
            }
            if caster.retireIfIdle(self) { return }
            configuration.logger.info("mount \(mount): source gone, clients wait \(configuration.graceTime)")
            deadline = ContinuousClock.now + configuration.graceTime
            // Do not spin on a broadcast that is still announced but has no such track.
            if !broadcast.isEnded { try? await Task.sleep(for: .milliseconds(100)) }
        }
        configuration.logger.info("mount \(mount): no source within the grace time, closing its clients")
        for client in caster.retire(self) { client.close() }
    }
}
