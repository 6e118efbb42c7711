import CDatagramSocket
public import Logging
public import NIOCore
public import NIOPosix

/// A UDP socket that speaks QUIC: it listens (with a server configuration) and dials, with many
/// connections at once. All of its connections live on the socket's event loop.
///
///     let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 4443, server: serverConfig)
///     for await connection in endpoint.incomingConnections { ... }
public final class QUICEndpoint: Sendable {
    public let localAddress: SocketAddress
    /// Connections whose handshake completed, in order; finishes when the endpoint closes.
    /// Empty (finishes at close) for an endpoint without a server configuration.
    public let incomingConnections: AsyncStream<QUICConnection>
    /// The event loop that owns the socket and every connection of this endpoint.
    public let eventLoop: any EventLoop
    private let channel: any Channel
    private let core: NIOLoopBound<EndpointCore>

    private init(
        channel: any Channel, core: NIOLoopBound<EndpointCore>, incoming: AsyncStream<QUICConnection>
    ) throws {
        guard let address = channel.localAddress else { throw QUICEndpointError("the UDP socket has no local address") }
        self.localAddress = address
        self.channel = channel
        self.core = core
        self.eventLoop = channel.eventLoop
        self.incomingConnections = incoming
    }

    /// Binds a UDP socket. Pass `server` to accept connections; any endpoint can dial.
    public static func bind(
        host: String = "127.0.0.1",
        port: Int = 0,
        server: QUICServerConfiguration? = nil,
        options: QUICEndpointOptions = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "quic")
    ) async throws -> QUICEndpoint {
        let (incoming, acceptor) = AsyncStream.makeStream(
            of: QUICConnection.self, bufferingPolicy: .bufferingOldest(server?.acceptQueueLimit ?? 0))
        if server == nil { acceptor.finish() }
        let receiveOffload = options.receiveOffload && System.supportsUDPReceiveOffload
        let messageSize = receiveOffload ? 65536 : 2048
        let vectorCount = max(1, options.vectorReadCount)
        // No SO_REUSEADDR: UDP has no TIME_WAIT to skip, and with it Linux may hand an ephemeral port that
        // another SO_REUSEADDR socket already holds, which then steals this endpoint's datagrams.
        var bootstrap = DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(options.socketReceiveBufferSize))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(options.socketSendBufferSize))
            .channelOption(.datagramVectorReadMessageCount, value: vectorCount)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messageSize * vectorCount))
            // One recvmmsg per wake-up: epoll is level-triggered, so what is left wakes the loop again,
            // and the EAGAIN read that ends a longer loop was half of all receive calls at a light load.
            .channelOption(.maxMessagesPerRead, value: 1)
        if receiveOffload {
            bootstrap =
                bootstrap
                .channelOption(.datagramReceiveOffload, value: true)
                .channelOption(.datagramReceiveSegmentSize, value: true)
        }
        // The socket is opened here rather than by NIO so that the endpoint can write it directly
        // (DatagramSender); NIO owns it from now on and closes it with the channel.
        let channel: any Channel
        do {
            let socket = try bindSocket(host: host, port: port)
            channel = try await bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let core = try EndpointCore(
                        loop: channel.eventLoop, server: server, acceptor: acceptor, options: options, socket: socket,
                        logger: logger)
                    try channel.pipeline.syncOperations.addHandler(core)
                }
            }.withBoundSocket(socket).get()
        } catch {
            throw QUICEndpointError("cannot bind UDP \(host):\(port): \(error)")
        }
        let core = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: EndpointCore.self), eventLoop: channel.eventLoop)
        }.get()
        // The connections' timer: a timerfd read on the same loop, closed with the socket.
        let descriptor = try await channel.eventLoop.submit { core.value.timer.descriptor }.get()
        do {
            let timerChannel = try await NIOPipeBootstrap(group: channel.eventLoop)
                .channelInitializer { pipe in
                    pipe.eventLoop.makeCompletedFuture {
                        try pipe.pipeline.syncOperations.addHandler(EndpointTimerHandler(endpoint: core.value))
                    }
                }
                .takingOwnershipOfDescriptor(input: descriptor).get()
            try await channel.eventLoop.submit { core.value.timer.handedOver() }.get()
            channel.closeFuture.whenComplete { _ in timerChannel.close(promise: nil) }
        } catch {
            try? await channel.close()  // the endpoint's timer closes its descriptor when it goes
            throw QUICEndpointError("cannot watch the endpoint's timerfd: \(error)")
        }
        return try QUICEndpoint(channel: channel, core: core, incoming: incoming)
    }

    /// Dials a server and returns once the handshake completed (or throws `QUICConnectionError`).
    public func connect(host: String, port: Int, configuration: QUICClientConfiguration) async throws -> QUICConnection
    {
        let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let serverName = configuration.serverName ?? host
        let promise = eventLoop.makePromise(of: QUICConnection.self)
        let core = self.core
        eventLoop.execute {
            core.value.connect(to: remote, serverName: serverName, configuration: configuration, promise: promise)
        }
        return try await promise.futureResult.get()
    }

    /// Closes every connection (CONNECTION_CLOSE with `code`), waits up to `grace` for them to finish,
    /// then closes the socket.
    public func close(code: UInt64 = 0, reason: String = "endpoint closing", grace: Duration = .milliseconds(500)) async
    {
        let promise = eventLoop.makePromise(of: Void.self)
        let core = self.core
        eventLoop.execute {
            core.value.close(
                code: code, reason: reason, grace: .nanoseconds(Int64(grace.nanoseconds)), promise: promise)
        }
        try? await promise.futureResult.get()
    }

    /// A snapshot of the endpoint's counters.
    public func statistics() async -> QUICEndpointStatistics {
        let core = self.core
        return (try? await eventLoop.submit { core.value.statistics }.get()) ?? .init()
    }

    /// Connections currently held (including ones in their closing period).
    public func connectionCount() async -> Int {
        let core = self.core
        return (try? await eventLoop.submit { core.value.connectionCount }.get()) ?? 0
    }
}

/// Opens a UDP socket bound to `host`:`port` (0: an ephemeral port).
private func bindSocket(host: String, port: Int) throws -> CInt {
    let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
    let descriptor = address.withSockAddr { pointer, length in cdatagram_socket_bind(pointer, socklen_t(length)) }
    guard descriptor >= 0 else { throw IOError(errnoCode: -descriptor, reason: "bind") }
    return descriptor
}
