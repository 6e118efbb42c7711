import ArgumentParser
import CMallocTuning
import Foundation
import L7RTCP
import Logging
import MoQ
import MoQRelay
import MoQWire
import NTRIP
import NTRIPManagement
import QUIC
import RelayHTTP
import ServiceLifecycle
import Store

/// `moq-relay [serve]`: runs the relay until SIGTERM/SIGINT (GOAWAY, drain, exit 0).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the relay (the default command).",
        discussion: """
            Each option can also come from the environment as MOQ_<OPTION> (MOQ_HTTP_LISTEN=0.0.0.0:8080) or
            from the config file under the option's name (http-listen = "0.0.0.0:8080"; a [auth] section
            prefixes its keys: key = "root.jwk" is auth-key). Flags beat the environment, which beats the file.
            Clients pin the generated certificate with the SHA-256 printed at start (also served on
            GET /certificate.sha256); it is kept in the data directory and renewed a day before it expires.
            With no --auth-key everything is public; with one, tokens (moq-relay token sign) are required
            except under --auth-public prefixes.
            """)

    @Option(help: "TOML config file with the same keys as these options (env MOQ_CONFIG).")
    var config: String?

    @Option(help: "UDP address for moq-lite over QUIC (default 127.0.0.1:4443).")
    var listen: String?

    @Option(help: "TCP address of the HTTP API (default 127.0.0.1:8080).")
    var httpListen: String?

    @Option(help: "TCP address of the NTRIP caster (default 127.0.0.1:2101).")
    var ntripListen: String?

    @Option(help: "NTRIP source password for mounts that are not streampoints.")
    var ntripSourcePassword: String?

    @Option(help: "Extra NTRIP users, user:password[:MOUNT,MOUNT] (repeatable; env MOQ_NTRIP_USER, space-separated).")
    var ntripUser: [String] = []

    @Option(help: "State directory: SQLite store (see --store), admin token, generated certificate (default ./data).")
    var dataDir: String?

    @Option(
        help: """
            Where streampoints, users and L7RTCP transmissions persist: sqlite (default, relay.sqlite in the data \
            directory) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, one database shared by a cluster's nodes.
            """)
    var store: String?

    @Option(help: "PEM certificate chain; default: a generated one, kept in the data directory.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(parsing: .upToNextOption, help: "Names for the generated certificate (default localhost 127.0.0.1 ::1).")
    var tlsGenerate: [String] = []

    @Option(
        help: "JWK file verifying tokens (HS256 secret or ES256 public key; make one with moq-relay token generate).")
    var authKey: String?

    @Option(help: "Prefix anyone may publish and subscribe under without a token (repeatable; \"\" is everything).")
    var authPublic: [String] = []

    @Option(
        help:
            "Bytes of older groups cached across all tracks; each track's latest group always stays (default 256 MiB)."
    )
    var cacheBytes: Int?

    @Option(
        help: """
            UDP sockets sharing the QUIC port, each on an event loop of its own, so the QUIC work spreads over \
            that many cores (default: one per core).
            """)
    var quicSockets: Int?

    @Option(
        help: """
            Connections the first QUIC socket takes before the other sockets get any, so that a small \
            relay's fan-out stays on one event loop; past it each goes to the socket holding the fewest. \
            0 spreads from the first connection (default 256).
            """)
    var quicPack: Int?

    @Option(help: "Broadcasts one session may announce at once; past it the session is closed (default 10000).")
    var maxSessionBroadcasts: Int?

    @Option(help: "Subscriptions one session may hold at once; past it the session is closed (default 10000).")
    var maxSessionSubscriptions: Int?

    @Option(
        help:
            "Seconds of silence after which a QUIC connection is dropped (default 30); the relay pings at a third of it."
    )
    var idleTimeout: Double?

    @Option(help: "Seconds a lost publisher's broadcasts stay announced for it to reconnect (default 5).")
    var publisherLinger: Double?

    @Option(
        help: """
            Another relay node to link to, moqt://HOST:PORT/[PATH][?cost=N][&jwt=TOKEN] (repeatable): broadcasts \
            flow both ways through the link, which is redialled when it drops; routes prefer the lowest sum of \
            link costs (default 1 per link), then the fewest hops.
            """)
    var clusterConnect: [String] = []

    @Option(
        help: """
            SHA-256 of a linked node's certificate to trust (repeatable; the node prints it and serves it on \
            GET /certificate.sha256). Default: the system CAs, or --cluster-ca.
            """)
    var clusterFingerprint: [String] = []

    @Option(help: "PEM file of the CAs that sign the linked nodes' certificates.")
    var clusterCa: String?

    @Option(
        help: """
            Token this node presents to the nodes it dials (?jwt=), for links whose URL has none and for discovered \
            nodes; mint one granting everything: moq-relay token sign --key root.jwk --root "" --put "" --get "".
            """)
    var clusterToken: String?

    @Option(
        help: """
            This node's URL as the other nodes reach it (moqt://HOST:PORT/): announced to the cluster under .cluster/.
            """)
    var clusterNode: String?

    @Flag(
        help:
            "Dial every node announced in the cluster whose --cluster-node URL sorts after this node's (needs --cluster-node)."
    )
    var clusterMesh = false

    @Option(help: "L7RTCP: chunks each stream feed retains for pulls and resends (default 4096).")
    var l7rtcpRetention: Int?

    @Option(help: "L7RTCP: requests in flight at which the backpressure advice reaches stop (default 4096).")
    var l7rtcpMaxInFlight: Int?

    @Option(help: "L7RTCP: seconds a stream waits for its broadcast to return before it completes (default 10).")
    var l7rtcpSourceGrace: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info).")
    var logLevel: String?

    /// Free memory each malloc arena keeps at its top (see CMallocTuning): 16 MiB of address space, resident
    /// only once used, so a busy event loop's arena stops growing a page at a time.
    static let mallocTopPad = 16 << 20

    func run() async throws {
        let settings = try RelaySettings(configPath: config ?? RelaySettings.environment("config"))
        let levelText = settings.string("log-level", logLevel, default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("unknown log level \(levelText): use trace, debug, info, notice, warning or error")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "moq-relay")
        logger.logLevel = level
        if moq_malloc_set_top_pad(Self.mallocTopPad) == 0 {
            logger.warning("glibc refused M_TOP_PAD; the relay runs with malloc's defaults")
        }

        let listen = settings.string("listen", self.listen, default: "127.0.0.1:4443")
        let httpListen = settings.string("http-listen", self.httpListen, default: "127.0.0.1:8080")
        let (host, port) = try AddressText.hostPort(listen)
        let (httpHost, httpPort) = try AddressText.hostPort(httpListen)
        let data = try RelayDataDirectory(path: settings.string("data-dir", dataDir, default: "data"))
        let identity = try loadIdentity(settings, data: data)
        let auth = try loadAuth(settings, logger: logger)
        let clusterToken = settings.string("cluster-token", self.clusterToken)
        let (configuredLinks, verification) = try loadLinks(settings)
        let links = configuredLinks.map { $0.withToken(clusterToken) }
        let clusterNode = try settings.string("cluster-node", self.clusterNode).map { url in
            do {
                _ = try MoQURL(url)
            } catch {
                throw ValidationError("--cluster-node \(url): \(error) (expected moqt://HOST:PORT/)")
            }
            let mesh =
                clusterMesh || settings.string("cluster-mesh", nil).map { ["1", "true", "yes"].contains($0) } == true
            return RelayClusterNode(url: url, mesh: mesh, verification: verification, token: clusterToken)
        }
        if clusterMesh, clusterNode == nil {
            throw ValidationError("--cluster-mesh needs --cluster-node (this node's URL for the others to dial)")
        }

        let linger = try settings.seconds("publisher-linger", publisherLinger) ?? 5
        var transport = QUICTransportConfiguration()
        if let idle = try settings.seconds("idle-timeout", idleTimeout) {
            guard idle >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
            transport.idleTimeout = .milliseconds(Int(idle * 1000))
            transport.keepAliveInterval = .milliseconds(Int(idle * 1000 / 3))
        }
        let cacheBytes = try settings.integer("cache-bytes", self.cacheBytes) ?? 256 << 20
        guard cacheBytes >= 0 else { throw ValidationError("--cache-bytes must be >= 0") }
        let quicSockets =
            try settings.integer("quic-sockets", self.quicSockets) ?? RelayConfiguration.defaultQUICSockets
        guard (1...64).contains(quicSockets) else { throw ValidationError("--quic-sockets must be 1 to 64") }
        let quicPack = try settings.integer("quic-pack", self.quicPack) ?? RelayConfiguration.defaultQUICPack
        guard quicPack >= 0 else { throw ValidationError("--quic-pack must be 0 or more") }
        let maxBroadcasts = try settings.integer("max-session-broadcasts", maxSessionBroadcasts) ?? 10_000
        let maxSubscriptions = try settings.integer("max-session-subscriptions", maxSessionSubscriptions) ?? 10_000
        let relay = try await Relay(
            configuration: RelayConfiguration(
                host: host, port: port, quicSockets: quicSockets, quicPack: quicPack, identity: identity,
                hopID: try data.nodeID(),
                transport: transport,
                cacheBytes: cacheBytes,
                publisherLinger: .milliseconds(Int(linger * 1000)),
                maxSessionBroadcasts: maxBroadcasts, maxSessionSubscriptions: maxSubscriptions,
                auth: auth, links: links, clusterNode: clusterNode, logger: logger))
        let store = try RelayStore(
            directory: URL(fileURLWithPath: data.path), url: settings.string("store", self.store))
        defer { store.close() }
        let ntripUsers =
            ntripUser.isEmpty
            ? RelaySettings.environment("ntrip-user").map { $0.split(separator: " ").map(String.init) }
                ?? settings.file["ntrip-user"]?.list ?? [] : ntripUser
        let ntrip = try await NTRIPServer.relayCaster(
            listen: settings.string("ntrip-listen", ntripListen, default: "127.0.0.1:2101"),
            sourcePassword: settings.string("ntrip-source-password", ntripSourcePassword),
            users: ntripUsers, origin: relay.origin, logger: logger
        ) { StoreAccess(store: store, extra: $0) }
        let adminToken = try RelaySettings.environment("admin-token") ?? store.adminToken()
        let l7rtcp = L7RTCPGateway(
            origin: relay.origin, secret: try store.l7rtcpSecret(), journal: L7RTCPJournal(store: store),
            configuration: try l7rtcpConfiguration(settings), logger: logger)
        // With port 0 the HTTP port is known once bound: its lines then follow the others.
        let httpLines: @Sendable (Int) -> String = { port in
            """
            moq-relay HTTP API on http://\(httpHost):\(port)/
            moq-relay L7RTCP gateway on http://\(httpHost):\(port)/l7rtcp/

            """
        }
        let http = RelayHTTPServer.application(
            relay: relay, host: httpHost, port: httpPort,
            routes: {
                ManagementAPI.register(on: $0, store: store, caster: ntrip.caster, adminToken: adminToken)
                L7RTCPRoutes.register(on: $0, gateway: l7rtcp)
            }, server: .l7rtcp(gateway: l7rtcp)
        ) { port in
            if httpPort == 0 { FileHandle.standardOutput.write(Data(httpLines(port).utf8)) }
        }
        relay.serveHTTP3(
            RelayHTTPServer.http3Responder(relay: relay) {
                ManagementAPI.register(on: $0, store: store, caster: ntrip.caster, adminToken: adminToken)
                L7RTCPRoutes.register(on: $0, gateway: l7rtcp)
            })
        relay.metrics.include { await l7rtcp.metricsText() }
        // The first lines name every listener and the certificate (scripts wait for them).
        let sockets = quicSockets == 1 ? "1 socket" : "\(quicSockets) sockets, --quic-pack \(quicPack)"
        FileHandle.standardOutput.write(
            Data(
                """
                moq-relay listening on moqt://\(relay.listenAddress)/ (UDP, \(sockets), moq-lite \(MoQVersion.serverPreference.map(\.alpn).joined(separator: ", ")))
                moq-relay WebTransport and HTTP/3 on https://\(relay.listenAddress)/ (UDP, ALPN h3)
                moq-relay NTRIP caster on \(ntrip.listenAddress) (TCP)
                \(httpPort == 0 ? "" : httpLines(httpPort))moq-relay data in \(data.path) (admin token: \(data.path)/admin.token or MOQ_ADMIN_TOKEN)
                certificate sha256 \(identity.fingerprintHex)

                """.utf8))
        let group = ServiceGroup(
            services: [relay, http, ntrip, l7rtcp], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    private func l7rtcpConfiguration(_ settings: RelaySettings) throws -> L7RTCPConfiguration {
        var configuration = L7RTCPConfiguration()
        if let retention = try settings.integer("l7rtcp-retention", l7rtcpRetention) {
            guard retention >= 1 else { throw ValidationError("--l7rtcp-retention must be at least 1") }
            configuration.retentionChunks = retention
        }
        if let maxInFlight = try settings.integer("l7rtcp-max-in-flight", l7rtcpMaxInFlight) {
            guard maxInFlight >= 1 else { throw ValidationError("--l7rtcp-max-in-flight must be at least 1") }
            configuration.maxInFlight = maxInFlight
        }
        if let grace = try settings.seconds("l7rtcp-source-grace", l7rtcpSourceGrace) {
            configuration.sourceGrace = max(0, grace)
        }
        return configuration
    }

    private func loadIdentity(_ settings: RelaySettings, data: RelayDataDirectory) throws -> QUICServerIdentity {
        let certificate = settings.string("tls-cert", tlsCert)
        let key = settings.string("tls-key", tlsKey)
        switch (certificate, key) {
        case (let certificate?, let key?):
            return try QUICServerIdentity.load(certificateFile: certificate, keyFile: key)
        case (nil, nil):
            let names = settings.list("tls-generate", tlsGenerate) ?? ["localhost", "127.0.0.1", "::1"]
            return try data.generatedIdentity(names: names)
        default:
            throw ValidationError("--tls-cert and --tls-key go together")
        }
    }

    /// The nodes to link to and how their certificates are trusted (pins beat a CA file beat the system).
    private func loadLinks(_ settings: RelaySettings) throws -> ([RelayLink], QUICPeerVerification) {
        let urls = settings.list("cluster-connect", clusterConnect) ?? []
        let pins = try (settings.list("cluster-fingerprint", clusterFingerprint) ?? []).map { text in
            guard let pin = AddressText.hexBytes(text), pin.count == 32 else {
                throw ValidationError(
                    "--cluster-fingerprint must be a certificate SHA-256 in 64 hex digits (the node prints it), not \(text)"
                )
            }
            return pin
        }
        let verification: QUICPeerVerification =
            pins.isEmpty
            ? settings.string("cluster-ca", clusterCa).map { .certificateAuthorities(pemFile: $0) } ?? .systemRoots
            : .pinnedSHA256(pins)
        let links = try urls.map { url in
            do {
                let link = try RelayLink(url: url, verification: verification)
                _ = try MoQURL(link.url)
                return link
            } catch {
                throw ValidationError(
                    "--cluster-connect \(url): \(error) (expected moqt://HOST:PORT/[?cost=N][&jwt=TOKEN] or https://...)"
                )
            }
        }
        return (links, verification)
    }

    private func loadAuth(_ settings: RelaySettings, logger: Logger) throws -> RelayAuth {
        let key = try settings.string("auth-key", authKey).map { path in
            do { return try RelayKey(file: path) } catch { throw ValidationError("--auth-key \(path): \(error)") }
        }
        let auth = RelayAuth(key: key, publicPrefixes: settings.list("auth-public", authPublic))
        if key == nil, auth.anonymousPrefixes == [""] {
            logger.notice("no --auth-key: every broadcast is public (anyone may publish and subscribe)")
        }
        return auth
    }
}
