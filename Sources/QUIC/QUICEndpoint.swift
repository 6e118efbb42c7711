import CDatagramSocket
import Glibc
public import Logging
public import NIOCore
public import NIOPosix

/// A UDP port that speaks QUIC: it listens (with a server configuration) and dials, with many
/// connections at once. Each of its sockets (`QUICEndpointOptions.sockets`, sharing the port) lives on an
/// event loop of its own and owns the connections placed on it (`QUICEndpointOptions.placement`); the
/// kernel steers every later packet of a connection to its socket.
///
///     let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 4443, server: serverConfig)
///     for await connection in endpoint.incomingConnections { ... }
public final class QUICEndpoint: Sendable {
    public let localAddress: SocketAddress
    /// Connections whose handshake completed, in order; finishes when the endpoint closes.
    /// Empty (finishes at close) for an endpoint without a server configuration.
    public let incomingConnections: AsyncStream<QUICConnection>
    /// The event loop of the first socket, which dials (`connect`) and owns the connections it dialled.
    public let eventLoop: any EventLoop
    /// One per socket, in the order they joined the port's group (the steering index).
    private let cores: [NIOLoopBound<EndpointCore>]

    private init(
        cores: [NIOLoopBound<EndpointCore>], localAddress: SocketAddress, incoming: AsyncStream<QUICConnection>
    ) {
        self.localAddress = localAddress
        self.cores = cores
        self.eventLoop = cores[0].eventLoop
        self.incomingConnections = incoming
    }

    /// Binds `options.sockets` UDP sockets to one port, each on its own event loop of `group`. Pass
    /// `server` to accept connections; any endpoint can dial.
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
        // A connection ID's first byte names its socket (`ConnectionID.random(socket:)`): 256 at most.
        guard (1...256).contains(options.sockets) else {
            throw QUICEndpointError("QUICEndpointOptions.sockets must be 1 to 256, not \(options.sockets)")
        }
        let descriptors: [CInt]
        do {
            descriptors = try bindSockets(host: host, port: port, count: options.sockets)
        } catch {
            throw QUICEndpointError("cannot bind UDP \(host):\(port): \(error)")
        }
        let loops = distinctLoops(of: group, count: descriptors.count)
        var cores: [NIOLoopBound<EndpointCore>] = []
        let loads = SocketLoads(sockets: descriptors.count)
        do {
            for (index, descriptor) in descriptors.enumerated() {
                cores.append(
                    try await open(
                        descriptor, as: (index, descriptors.count), on: loops[index], server: server,
                        acceptor: acceptor, options: options, loads: loads, logger: logger))
            }
            // Until here each socket keeps the connections the kernel steers to it.
            for core in cores { try await core.eventLoop.submit { [cores] in core.value.peers = cores }.get() }
        } catch {
            for core in cores { await close(core, code: 0, reason: "endpoint failed to open", grace: .zero) }
            for descriptor in descriptors.dropFirst(cores.count + 1) { Glibc.close(descriptor) }
            throw error
        }
        let core = cores[0]
        let address = try await core.eventLoop.submit { core.value.localAddress }.get()
        guard let address else { throw QUICEndpointError("the UDP socket has no local address") }
        return QUICEndpoint(cores: cores, localAddress: address, incoming: incoming)
    }

    /// Hands a bound socket to NIO on `loop` with its endpoint core and the core's timer.
    private static func open(
        _ descriptor: CInt, as socket: (index: Int, count: Int), on loop: any EventLoop,
        server: QUICServerConfiguration?, acceptor: AsyncStream<QUICConnection>.Continuation,
        options: QUICEndpointOptions, loads: SocketLoads, logger: Logger
    ) async throws -> NIOLoopBound<EndpointCore> {
        let receiveOffload = options.receiveOffload && System.supportsUDPReceiveOffload
        let messageSize = receiveOffload ? 65536 : 2048
        let vectorCount = max(1, options.vectorReadCount)
        // No SO_REUSEADDR: UDP has no TIME_WAIT to skip, and with it Linux may hand an ephemeral port that
        // another SO_REUSEADDR socket already holds, which then steals this endpoint's datagrams.
        var bootstrap = DatagramBootstrap(group: loop)
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
        let channel = try await bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let core = try EndpointCore(
                    loop: channel.eventLoop, server: server, acceptor: acceptor, options: options,
                    descriptor: descriptor, socket: socket, loads: loads, logger: logger)
                try channel.pipeline.syncOperations.addHandler(core)
            }
        }.withBoundSocket(descriptor).get()
        let core = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: EndpointCore.self), eventLoop: channel.eventLoop)
        }.get()
        // The connections' timer: a timerfd read on the same loop, closed with the socket.
        let timer = try await channel.eventLoop.submit { core.value.timer.descriptor }.get()
        do {
            let timerChannel = try await NIOPipeBootstrap(group: channel.eventLoop)
                .channelInitializer { pipe in
                    pipe.eventLoop.makeCompletedFuture {
                        try pipe.pipeline.syncOperations.addHandler(EndpointTimerHandler(endpoint: core.value))
                    }
                }
                .takingOwnershipOfDescriptor(input: timer).get()
            try await channel.eventLoop.submit { core.value.timer.handedOver() }.get()
            channel.closeFuture.whenComplete { _ in timerChannel.close(promise: nil) }
        } catch {
            try? await channel.close()  // the endpoint's timer closes its descriptor when it goes
            throw QUICEndpointError("cannot watch the endpoint's timerfd: \(error)")
        }
        return core
    }

    /// Dials a server and returns once the handshake completed (or throws `QUICConnectionError`).
    public func connect(host: String, port: Int, configuration: QUICClientConfiguration) async throws -> QUICConnection
    {
        let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let serverName = configuration.serverName ?? host
        let promise = eventLoop.makePromise(of: QUICConnection.self)
        let core = cores[0]
        eventLoop.execute {
            core.value.connect(to: remote, serverName: serverName, configuration: configuration, promise: promise)
        }
        return try await promise.futureResult.get()
    }

    /// Closes every connection (CONNECTION_CLOSE with `code`), waits up to `grace` for them to finish,
    /// then closes the sockets.
    public func close(code: UInt64 = 0, reason: String = "endpoint closing", grace: Duration = .milliseconds(500)) async
    {
        await withDiscardingTaskGroup { group in
            for core in cores { group.addTask { await Self.close(core, code: code, reason: reason, grace: grace) } }
        }
    }

    private static func close(_ core: NIOLoopBound<EndpointCore>, code: UInt64, reason: String, grace: Duration) async {
        let promise = core.eventLoop.makePromise(of: Void.self)
        core.eventLoop.execute {
            core.value.close(
                code: code, reason: reason, grace: .nanoseconds(Int64(grace.nanoseconds)), promise: promise)
        }
        try? await promise.futureResult.get()
    }

    /// The endpoint's counters, summed over its sockets.
    public func statistics() async -> QUICEndpointStatistics {
        await socketStatistics().reduce(into: QUICEndpointStatistics()) { $0.add($1) }
    }

    /// Each socket's counters, in steering order.
    public func socketStatistics() async -> [QUICEndpointStatistics] {
        var all: [QUICEndpointStatistics] = []
        for core in cores { all.append((try? await core.eventLoop.submit { core.value.statistics }.get()) ?? .init()) }
        return all
    }

    /// Connections currently held (including ones in their closing period).
    public func connectionCount() async -> Int { await statistics().connections }
}

/// `count` event loops of `group`, distinct while it has enough, starting at its next one.
private func distinctLoops(of group: any EventLoopGroup, count: Int) -> [any EventLoop] {
    let all = Array(group.makeIterator())
    let first = group.next()
    let start = all.firstIndex { $0 === first } ?? 0
    return (0..<count).map { all.isEmpty ? first : all[(start + $0) % all.count] }
}

/// Opens `count` UDP sockets bound to `host`:`port` (0: an ephemeral port). Several share the port with
/// SO_REUSEPORT and the kernel steers each packet to its connection's socket (`cdatagram_socket_steer`).
private func bindSockets(host: String, port: Int, count: Int) throws -> [CInt] {
    guard count > 1 else { return [try bindSocket(host: host, port: port, reusePort: false)] }
    // A plain bind first: it fails if anything holds the port (so a second relay on a port in use gets
    // EADDRINUSE rather than half of the traffic), and with port 0 it finds a free one for the shared
    // sockets. Shared sockets bound to port 0 could land on a port that another group of this user shares.
    let attempts = port == 0 ? 8 : 1
    for attempt in 1...attempts {
        let probe = try bindSocket(host: host, port: port, reusePort: false)
        let chosen = cdatagram_socket_port(probe)
        Glibc.close(probe)
        guard chosen > 0 else { throw IOError(errnoCode: -chosen, reason: "getsockname") }
        var descriptors: [CInt] = []
        do {
            for _ in 0..<count { descriptors.append(try bindSocket(host: host, port: Int(chosen), reusePort: true)) }
            let steered = cdatagram_socket_steer(descriptors[0], CInt(count))
            guard steered == 0 else { throw IOError(errnoCode: -steered, reason: "SO_ATTACH_REUSEPORT_CBPF") }
            return descriptors
        } catch let error as IOError where error.errnoCode == EADDRINUSE && attempt < attempts {
            descriptors.forEach { Glibc.close($0) }  // someone took the free port in between: try another
        } catch {
            descriptors.forEach { Glibc.close($0) }
            throw error
        }
    }
    throw IOError(errnoCode: EADDRINUSE, reason: "bind")
}

/// Opens a UDP socket bound to `host`:`port` (0: an ephemeral port).
private func bindSocket(host: String, port: Int, reusePort: Bool) throws -> CInt {
    let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
    let descriptor = address.withSockAddr { pointer, length in
        cdatagram_socket_bind(pointer, socklen_t(length), reusePort ? 1 : 0)
    }
    guard descriptor >= 0 else { throw IOError(errnoCode: -descriptor, reason: "bind") }
    return descriptor
}
