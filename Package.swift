// swift-tools-version:6.1
// swift-moq: a Media-over-QUIC (moq-lite) relay in Swift. Layers are targets; see docs/architecture.md.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-moq",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "QUIC", targets: ["QUIC"]),
        .library(name: "MoQWire", targets: ["MoQWire"]),
        .library(name: "HTTP3", targets: ["HTTP3"]),
        .library(name: "MoQ", targets: ["MoQ"]),
        .library(name: "MoQRelay", targets: ["MoQRelay"]),
        .library(name: "NTRIP", targets: ["NTRIP"]),
        .executable(name: "moq-relay", targets: ["moq-relay"]),
        .executable(name: "quic-echo", targets: ["quic-echo"]),
        .executable(name: "quic-perf", targets: ["quic-perf"]),
        .executable(name: "moq-interop", targets: ["moq-interop"]),
        .executable(name: "echo", targets: ["echo"]),
        .executable(name: "native-quic", targets: ["native-quic"]),
        .executable(name: "broadcast", targets: ["broadcast"]),
        .executable(name: "relay", targets: ["relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // libngtcp2 1.x + ngtcp2_crypto_gnutls + GnuTLS, and the few C helpers Swift cannot express.
        .target(
            name: "CNGTCP2",
            linkerSettings: [
                .linkedLibrary("ngtcp2_crypto_gnutls"),
                .linkedLibrary("ngtcp2"),
                .linkedLibrary("gnutls"),
            ]
        ),
        // glibc malloc settings for the relay executable (never applied by the libraries).
        .target(name: "CMallocTuning"),
        // The UDP socket a QUIC endpoint writes with sendmmsg (NIO reads it).
        .target(name: "CDatagramSocket"),
        // QUIC endpoints, connections and streams on SwiftNIO; knows nothing of MoQ or HTTP.
        .target(
            name: "QUIC",
            dependencies: [
                "CNGTCP2",
                "CDatagramSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSwift
        ),
        // The quick start's QUIC echo server (echo protocol: Tests/Peers/README.md).
        .executableTarget(
            name: "quic-echo",
            dependencies: [
                "QUIC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "examples/quic-echo",
            swiftSettings: strictSwift
        ),
        // What the examples and the interop tool share: command-line helpers and the echo.
        .target(
            name: "ExampleSupport",
            dependencies: ["MoQ", "QUIC", .product(name: "NIOCore", package: "swift-nio")],
            path: "examples/ExampleSupport",
            swiftSettings: strictSwift
        ),
        // The moq-lite interop pair (gomoqt's cmd/interop): `moq-interop server` and `moq-interop client`.
        .executableTarget(
            name: "moq-interop",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "interop/moq-interop",
            swiftSettings: strictSwift
        ),
        // moq-lite examples (gomoqt's examples/): echo, the same echo on a hand-made QUIC session, a clock broadcast.
        .executableTarget(
            name: "echo",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "examples/echo",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "native-quic",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "examples/native-quic",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "broadcast",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "examples/broadcast",
            swiftSettings: strictSwift
        ),
        // Bulk-transfer client and sink server for `just bench-quic`.
        .executableTarget(
            name: "quic-perf",
            dependencies: [
                "QUIC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/quic-perf",
            swiftSettings: strictSwift
        ),
        // Minimal HTTP/3 on our QUIC: frames, SETTINGS, QPACK (static table, literals, Huffman), requests,
        // extended CONNECT and WebTransport sessions. Knows nothing of MoQ.
        .target(
            name: "HTTP3",
            dependencies: [
                "QUIC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HTTP3Tests",
            dependencies: ["HTTP3", "QUIC", "TestSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSwift
        ),
        // The moq-lite model (origin, broadcasts, tracks, groups, frames) and sessions over QUIC.
        .target(
            name: "MoQ",
            dependencies: [
                "QUIC",
                "HTTP3",
                "MoQWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "MoQTests",
            dependencies: ["MoQ", "MoQWire", "QUIC", "TestSupport"],
            swiftSettings: strictSwift
        ),
        // The relay node: one origin shared by every session, lifecycle as a Service.
        .target(
            name: "MoQRelay",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "HTTP3",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        // NTRIP v1/v2 caster: request sniffing, RTCM3 framing, mount <-> broadcast `ntrip/M` track `rtcm`.
        .target(
            name: "NTRIP",
            dependencies: [
                "MoQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "NTRIPTests",
            dependencies: [
                "NTRIP", "MoQ", "Store", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // Persistence of streampoints, users and L7RTCP transmissions: SQLite (GRDB) under the data directory by
        // default, or a PostgreSQL database (postgres-nio) shared by a cluster's nodes.
        .target(
            name: "Store",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // The caster's access from the Store and its management API (streampoints, users, status) on Hummingbird.
        .target(
            name: "NTRIPManagement",
            dependencies: [
                "NTRIP", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSwift
        ),
        // The relay's HTTP API (health, certificate pin, announced, fetch, metrics) on Hummingbird.
        .target(
            name: "RelayHTTP",
            dependencies: [
                "MoQRelay", "MoQ", "HTTP3",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSwift
        ),
        // A relay embedded in a program through the library, with the program's own broadcast in its origin.
        .executableTarget(
            name: "relay",
            dependencies: [
                "MoQRelay", "MoQ", "QUIC", "ExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "examples/relay",
            swiftSettings: strictSwift
        ),
        // L7RTCP gateway: resilient chunk pull over HTTP from the relay's tracks (transmissions, chunking,
        // retention, resend, TTL, pause/resume, stateless ids), routes on Hummingbird.
        .target(
            name: "L7RTCP",
            dependencies: [
                "MoQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "L7RTCPTests",
            dependencies: [
                "L7RTCP", "MoQ", "Store", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // The relay executable: CLI, environment, ServiceGroup.
        .executableTarget(
            name: "moq-relay",
            dependencies: [
                "MoQ", "MoQRelay", "RelayHTTP", "QUIC", "MoQWire", "NTRIP", "NTRIPManagement", "Store", "L7RTCP",
                "CMallocTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // Counts heap allocations for benchmarks (interposes malloc; never linked into the library).
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        .target(name: "CEpoll", path: "Benchmarks/CEpoll"),
        // moq-lite publisher -> subscriber benchmark for `just bench-moq`.
        .executableTarget(
            name: "moq-bench",
            dependencies: [
                "MoQ", "MoQWire", "QUIC", "CMallocCounter",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/moq-bench",
            swiftSettings: strictSwift
        ),
        // Runs the examples and the interop pair as subprocesses (against each other and the reference).
        .testTarget(
            name: "ExamplesTests",
            dependencies: ["MoQ", "QUIC", "TestSupport"],
            swiftSettings: strictSwift
        ),
        // Helpers every test target shares: peer processes, the repository's paths, reference payloads.
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "MoQRelayTests",
            dependencies: [
                "MoQRelay", "MoQ", "MoQWire", "QUIC", "HTTP3", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // NTRIP fan-out benchmark for `just bench-ntrip`: 1 source, N v1 clients on one mount (many sockets, one process).
        .executableTarget(
            name: "ntrip-bench",
            dependencies: [
                "CEpoll",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ntrip-bench",
            swiftSettings: strictSwift
        ),
        // Fan-out benchmark for `just bench-relay`: 1 publisher, N subscriber sessions through a relay URL.
        .executableTarget(
            name: "relay-bench",
            dependencies: [
                "MoQ", "MoQWire", "QUIC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/relay-bench",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "QUICTests",
            dependencies: ["QUIC", "TestSupport"],
            swiftSettings: strictSwift
        ),
        // moq-lite 04/05/06 codecs on ByteBuffer: pure functions, no I/O, fuzzable (Fuzz/MoQWireFuzz).
        .target(
            name: "MoQWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "MoQWireTests",
            dependencies: ["MoQWire"],
            swiftSettings: strictSwift
        ),
    ]
)
