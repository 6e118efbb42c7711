public import MoQ
public import NIOCore
import NIOPosix
public import ServiceLifecycle

/// The NTRIP caster's TCP listener as a `Service`: one port for sources, clients and the sourcetable,
/// every mount bridged to the origin. Run it in the relay's `ServiceGroup`; graceful shutdown closes
/// the listener and every connection.
public final class NTRIPServer: Service, Sendable {
    public let caster: NTRIPCaster
    private let channel: any Channel

    /// Binds the listener (so the address is known before `run`).
    public init(
        configuration: NTRIPConfiguration, origin: Origin,
        group: (any EventLoopGroup)? = nil
    ) async throws {
        let caster = NTRIPCaster(configuration: configuration, origin: origin)
        self.caster = caster
        let backlog = configuration.maxClientBacklog
        channel = try await ServerBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // The backlog bound covers both queues of a connection's unsent bytes: the channel's write buffer
            // (unwritable past half the bound) and the kernel's send buffer (a quarter asked, which Linux
            // doubles). Left alone, the kernel's grows to tcp_wmem's maximum (4 MiB by default) and absorbs
            // megabytes for a client that never reads before the channel sees any backlog.
            .childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(max(1, backlog / 4)))
            .childChannelOption(.writeBufferWaterMark, value: .init(low: backlog / 4, high: backlog / 2))
            .childChannelInitializer { channel in
                guard let id = caster.register(channel) else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NTRIPConnectionHandler(caster: caster, connectionID: id))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
    }

    /// `host:port` the caster listens on.
    public var listenAddress: String {
        let host = channel.localAddress?.ipAddress ?? caster.configuration.host
        let port = channel.localAddress?.port ?? caster.configuration.port
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Serves until graceful shutdown (or cancellation): runs each mount's fan-out, then closes everything.
    public func run() async throws {
        let caster = self.caster
        let channel = self.channel
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Returns on graceful shutdown, throws on cancellation: either way, stop.
                try? await gracefulShutdown()
                caster.shutdown()
                try? await channel.close()
            }
            for await hub in caster.hubStarts {
                group.addTask { await hub.run(caster: caster) }
            }
            group.cancelAll()
        }
    }
}
