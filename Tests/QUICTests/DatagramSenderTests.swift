import Foundation
import NIOCore
import TestSupport
import Testing

@testable import QUIC

/// The endpoint's own sendmmsg writer: what it sends arrives, it stops where the socket would block, and
/// a message the kernel refuses is skipped and counted without stopping the rest.
@Suite(.timeLimit(.minutes(1)))
struct DatagramSenderTests {
    @Test func everyDatagramArrivesInOrderAndAGSORunIsCutIntoSegments() throws {
        let receiver = try RawUDPSocket()
        let sending = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #expect(sending >= 0)
        defer { close(sending) }
        let sender = DatagramSender(descriptor: sending)
        let destination = try SocketAddress(ipAddress: "127.0.0.1", port: receiver.port)
        let single = ByteBuffer(bytes: Array(repeating: 7, count: 100))
        let run = patternBytes(3 * 1200 + 500)  // three 1200-byte segments and a 500-byte one
        var statistics = QUICEndpointStatistics()
        let envelopes = [
            AddressedEnvelope(remoteAddress: destination, data: single),
            AddressedEnvelope(
                remoteAddress: destination, data: run,
                metadata: .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: 1200)),
        ]
        #expect(sender.send(envelopes, statistics: &statistics) == 2)
        #expect(statistics.sendCalls == 1)
        #expect(statistics.datagramsSent == 5)
        #expect(statistics.sendErrors == 0)
        var received: [[UInt8]] = []
        for _ in 0..<5 { received.append(receiver.receive()?.bytes ?? []) }
        #expect(received[0] == Array(single.readableBytesView))
        #expect(received[1...].map(\.count) == [1200, 1200, 1200, 500])
        #expect(Array(received[1...].joined()) == Array(run.readableBytesView))
    }

    @Test func sendingStopsWhereTheSocketWouldBlockAndResumesOnceItDrains() throws {
        // A datagram socket whose peer never reads fills up; UDP on loopback never does.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sender-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("peer").path
        let peer = try UnixDatagramSocket(boundTo: path)
        let sending = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(sending) }
        let sender = DatagramSender(descriptor: sending)
        let destination = try SocketAddress(unixDomainSocketPath: path)
        let envelopes = (0..<2000).map { index in
            AddressedEnvelope(
                remoteAddress: destination, data: ByteBuffer(bytes: Array(repeating: UInt8(index % 251), count: 1000)))
        }
        var statistics = QUICEndpointStatistics()
        let sent = sender.send(envelopes, statistics: &statistics)
        try #require(sent > 0 && sent < envelopes.count)
        #expect(statistics.datagramsSent == sent)
        #expect(statistics.sendErrors == 0)
        // Once the peer read what it held, the rest goes, from where sending stopped.
        var received: [UInt8] = []
        for _ in 0..<sent { received.append(peer.receive()?.first ?? 0xFF) }
        #expect(received == (0..<sent).map { UInt8($0 % 251) })
        let rest = Array(envelopes[sent...].prefix(sent))
        #expect(sender.send(rest, statistics: &statistics) == rest.count)
        #expect(peer.receive()?.first == UInt8(sent % 251))
    }

    @Test func aRefusedMessageIsCountedAndSkipped() throws {
        let receiver = try RawUDPSocket()
        let sending = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(sending) }
        let sender = DatagramSender(descriptor: sending)
        // Broadcast without SO_BROADCAST: the kernel refuses it (EACCES).
        let broadcast = try SocketAddress(ipAddress: "255.255.255.255", port: receiver.port)
        let destination = try SocketAddress(ipAddress: "127.0.0.1", port: receiver.port)
        var statistics = QUICEndpointStatistics()
        let envelopes = [
            AddressedEnvelope(remoteAddress: broadcast, data: ByteBuffer(bytes: [1])),
            AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: [2])),
        ]
        #expect(sender.send(envelopes, statistics: &statistics) == 2)
        #expect(statistics.sendErrors == 1)
        #expect(statistics.datagramsSent == 1)
        #expect(sender.lastError == EACCES)
        #expect(receiver.receive()?.bytes == [2])
    }

    @Test func aClosedSocketIsNeverWritten() throws {
        let receiver = try RawUDPSocket()
        let sending = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(sending) }
        let sender = DatagramSender(descriptor: sending)
        sender.close()
        var statistics = QUICEndpointStatistics()
        let envelope = AddressedEnvelope(
            remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: receiver.port), data: ByteBuffer(bytes: [1]))
        #expect(sender.send([envelope], statistics: &statistics) == 0)
        #expect(statistics.sendCalls == 0)
        #expect(receiver.receive(timeout: .milliseconds(300)) == nil)
    }
}

/// A blocking AF_UNIX datagram socket bound to a path, read with a short timeout.
private final class UnixDatagramSocket {
    let fd: Int32

    init(boundTo path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let address = try SocketAddress(unixDomainSocketPath: path)
        let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard fd >= 0, bound == 0 else { throw PeerError("cannot bind a unix datagram socket at \(path)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : Array(buffer.prefix(count))
    }
}
