import Foundation
import Logging
import MoQ
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import L7RTCP

/// The registry and its journal without HTTP: persistence across a "restart" (a new registry on the same
/// journal), the new id epoch, expiry plus grace, and idle purging.
@Suite struct RegistryTests {
    /// A journal in memory.
    final class MemoryJournal: TransmissionJournal {
        let records = NIOLockedValueBox<[String: PersistedTransmission]>([:])

        func save(_ records: [PersistedTransmission]) throws {
            self.records.withLockedValue { table in for record in records { table[record.id] = record } }
        }

        func delete(_ ids: [String]) throws {
            records.withLockedValue { table in for id in ids { table[id] = nil } }
        }

        func loadAll() throws -> [PersistedTransmission] { records.withLockedValue { Array($0.values) } }
    }

    /// A journal in memory that says it is shared by several nodes, and counts lookups by id.
    final class SharedJournal: TransmissionJournal {
        let memory = MemoryJournal()
        let lookups = NIOLockedValueBox(0)
        var isShared: Bool { true }

        func save(_ records: [PersistedTransmission]) throws { try memory.save(records) }
        func delete(_ ids: [String]) throws { try memory.delete(ids) }
        func loadAll() throws -> [PersistedTransmission] { try memory.loadAll() }
        func load(id: String, now: Double) throws -> PersistedTransmission? {
            lookups.withLockedValue { $0 += 1 }
            return try memory.loadAll().first { $0.id == id && $0.expiresAt > now }
        }
    }

    static func registry(
        _ journal: any TransmissionJournal, _ origin: Origin = Origin(),
        clock: @escaping @Sendable () -> Double = {
            Date().timeIntervalSince1970
        }
    ) -> TransmissionRegistry {
        var configuration = L7RTCPConfiguration()
        configuration.sourceGrace = 0.2
        configuration.expiredGrace = 10
        configuration.idleTimeout = 100
        return TransmissionRegistry(
            feeds: FeedTable(origin: origin, configuration: configuration, logger: Logger(label: "test")),
            journal: journal, configuration: configuration, logger: Logger(label: "test"), clock: clock)
    }

    static func transmission(now: Double) -> Transmission {
        Transmission(
            id: TransmissionID.make(milliseconds: 1), clientID: "c", features: [.core, .resend, .pull],
            streams: ["data;broadcast=room"], chunkSize: 100, maxPacketSize: nil, ttl: 60, now: now)
    }

    @Test func restartStartsANewEpochAndNeverReusesIds() async throws {
        let journal = MemoryJournal()
        let origin = Origin()
        let first = Self.registry(journal, origin)
        let feed = try #require(
            first.feeds.feed(.init(source: TrackSource(broadcast: "room", track: "data"), chunkSize: 100), hold: true))
        let transmission = Self.transmission(now: 1000)
        try await first.create(transmission, feeds: [feed])
        for index in 0..<3 { feed.append(ByteBuffer(string: "chunk \(index)")) }
        for packet: UInt64 in 0..<3 {
            guard
                case .reply(.chunk(let chunk, _, _, _), _, _) = await first.pull(
                    id: transmission.id, stream: "data;broadcast=room", packet: packet, now: 1001, waiting: false,
                    globalRatios: [])
            else {
                Issue.record("packet \(packet) not served")
                continue
            }
            #expect(chunk.bytes == ByteBuffer(string: "chunk \(packet)"))
        }
        await first.flush()
        feed.stop()

        // A new process: the record comes back with its served set; old ids are evicted, new ones start past
        // the reservation the first run persisted.
        let second = Self.registry(journal, origin)
        await second.restore(now: 1002)
        let (restored, oldest) = try #require(await second.status(id: transmission.id))
        #expect(restored.streams[0].served.ranges == [0...2])
        #expect(restored.streams[0].epochStart == Transmission.reserveStep)
        #expect(oldest == [Transmission.reserveStep])
        guard
            case .reply(.refused(let error), _, _) = await second.pull(
                id: transmission.id, stream: "data;broadcast=room", packet: 1, now: 1003, waiting: false,
                globalRatios: [])
        else {
            Issue.record("an old id was served after the restart")
            return
        }
        #expect(error == .chunkEvicted(oldestAvailable: Transmission.reserveStep))
        // The first pull of the new epoch persists a higher reservation first.
        _ = await second.pull(
            id: transmission.id, stream: "data;broadcast=room", packet: Transmission.reserveStep, now: 1003,
            waiting: false, globalRatios: [])
        #expect(
            journal.records.withLockedValue { $0[transmission.id]?.streams[0].reserve } == 2 * Transmission.reserveStep)
    }

    @Test func expiredAndIdleTransmissionsArePurged() async throws {
        let journal = MemoryJournal()
        let registry = Self.registry(journal)
        let expiring = Self.transmission(now: 1000)
        try await registry.create(expiring, feeds: [])
        var idle = Self.transmission(now: 1000)
        idle.ttl = 10_000
        try await registry.create(idle, feeds: [])
        await registry.sweep(now: 1069)  // expired (TTL 60) but within the 10 s grace: still answers
        #expect(await registry.status(id: expiring.id) != nil)
        await registry.sweep(now: 1071)
        #expect(await registry.status(id: expiring.id) == nil)
        #expect(journal.records.withLockedValue { $0[expiring.id] } == nil)
        #expect(await registry.status(id: idle.id) != nil)
        await registry.sweep(now: 1101)  // 100 s without a request
        #expect(await registry.status(id: idle.id) == nil)
        #expect(journal.records.withLockedValue { $0.isEmpty })
    }

    /// A 1000-byte frame in 300-byte chunks is 300, 300, 300, 100, the 100-byte tail held by the chunker
    /// until the next frame comes. A transmission made while a tail is held starts at the next frame, not at
    /// the tail: the bytes it pulls are whole frames (what the WebSocket push and the pulls hand on).
    @Test func aTransmissionJoiningAFeedMidFrameStartsAtTheNextFrame() async throws {
        let registry = Self.registry(MemoryJournal())
        let feed = ChunkFeed(
            key: .init(source: TrackSource(broadcast: "room", track: "data"), chunkSize: 300), retentionChunks: 100,
            retentionBytes: 1 << 20)
        let frames = (0..<4).map { index in
            ByteBuffer(bytes: (0..<1000).map { UInt8(truncatingIfNeeded: $0 / 7 + index * 61) })
        }
        feed.add(frame: frames[0])
        #expect(feed.next == 3 && feed.joinPoint == 4)
        let transmission = Transmission(
            id: TransmissionID.make(milliseconds: 1), clientID: "c", features: [.core, .resend],
            streams: ["data;broadcast=room"], chunkSize: 300, maxPacketSize: nil, ttl: 60, now: 1000)
        try await registry.create(transmission, feeds: [feed])
        for frame in frames.dropFirst() { feed.add(frame: frame) }
        feed.endGroup()
        var pulled = ByteBuffer()
        var sizes: [Int] = []
        for packet: UInt64 in 0..<20 {
            guard
                case .reply(.chunk(let chunk, _, _, _), _, _) = await registry.pull(
                    id: transmission.id, stream: "data;broadcast=room", packet: packet, now: 1001, waiting: false,
                    globalRatios: [])
            else { break }
            pulled.writeImmutableBuffer(chunk.bytes)
            sizes.append(chunk.bytes.readableBytes)
        }
        var expected = ByteBuffer()
        for frame in frames.dropFirst() { expected.writeImmutableBuffer(frame) }
        #expect(sizes == Array(repeating: [300, 300, 300, 100], count: 3).flatMap { $0 })
        #expect(pulled == expected)
    }

    @Test func aSharedJournalIsAdoptedOnFirstUseNotAtStart() async throws {
        let journal = SharedJournal()
        let origin = Origin()
        let nodeA = Self.registry(journal, origin, clock: { 1002 })
        let feed = try #require(
            nodeA.feeds.feed(.init(source: TrackSource(broadcast: "room", track: "data"), chunkSize: 100), hold: true))
        let transmission = Self.transmission(now: 1000)
        try await nodeA.create(transmission, feeds: [feed])
        for index in 0..<3 { feed.append(ByteBuffer(string: "chunk \(index)")) }
        for packet: UInt64 in 0..<3 {
            _ = await nodeA.pull(
                id: transmission.id, stream: "data;broadcast=room", packet: packet, now: 1001, waiting: false,
                globalRatios: [])
        }
        await nodeA.flush()

        // Node B starts on the same journal: nothing restored, no lookups for ids that are not well-formed.
        let nodeB = Self.registry(journal, origin, clock: { 1002 })
        await nodeB.restore(now: 1002)
        #expect(await nodeB.count == 0)
        #expect(await nodeB.status(id: "tx-unknown") == nil)
        #expect(journal.lookups.withLockedValue { $0 } == 0)
        // A well-formed id nobody made: one lookup, then remembered for a second.
        let unknown = TransmissionID.make(milliseconds: 2)
        #expect(await nodeB.status(id: unknown) == nil)
        #expect(await nodeB.status(id: unknown) == nil)
        #expect(journal.lookups.withLockedValue { $0 } == 1)

        // A's transmission is adopted on first use, in a new epoch: A's ids are evicted, never served again.
        let (adopted, oldest) = try #require(await nodeB.status(id: transmission.id))
        #expect(await nodeB.count == 1)
        #expect(adopted.streams[0].served.ranges == [0...2])
        #expect(oldest == [Transmission.reserveStep])
        guard
            case .reply(.refused(let error), _, _) = await nodeB.pull(
                id: transmission.id, stream: "data;broadcast=room", packet: 2, now: 1003, waiting: false,
                globalRatios: [])
        else {
            Issue.record("an id node A served was served again by node B")
            return
        }
        #expect(error == .chunkEvicted(oldestAvailable: Transmission.reserveStep))
        // Past its expiry plus grace a transmission is not adopted.
        let late = Self.registry(journal, origin, clock: { 2000 })
        #expect(await late.status(id: transmission.id) == nil)
    }
}
