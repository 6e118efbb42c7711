// quic-perf: single-connection bulk transfer through our QUIC stack, for `just bench-quic`.
//
//   quic-perf server --listen 127.0.0.1:4450          sinks one bidi stream per connection and, at FIN,
//                                                     answers the byte count (8 bytes, big endian) + FIN
//   quic-perf client --connect 127.0.0.1:4450 --bytes 1073741824
//                                                     prints progress each second, then one RESULT line
import ArgumentParser
import Foundation
import NIOCore
import QUIC

@main
struct QUICPerf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quic-perf", abstract: "QUIC bulk-transfer benchmark (one connection, one stream).",
        subcommands: [Server.self, Client.self])
}

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sink server: counts bytes and reports them back.")

    @Option(help: "UDP address to listen on.") var listen = "127.0.0.1:4450"
    @Option(help: "Exit after serving this many connections (0: run until killed).") var connections = 0
    @OptionGroup var tuning: Tuning

    func run() async throws {
        let (host, port) = try AddressText.hostPort(listen)
        let identity = try QUICServerIdentity.generateSelfSigned(names: ["localhost", "127.0.0.1"])
        let endpoint = try await QUICEndpoint.bind(
            host: host, port: port,
            server: QUICServerConfiguration(alpn: ["perf"], identity: identity, transport: tuning.transport))
        emit("READY \(endpoint.localAddress.port ?? 0) \(identity.fingerprintHex)")
        var served = 0
        for await connection in endpoint.incomingConnections {
            for await stream in connection.incomingStreams {
                var count: UInt64 = 0
                while let chunk = try await stream.read() { count += UInt64(chunk.readableBytes) }
                var reply = ByteBuffer()
                reply.writeInteger(count)
                try await stream.write(reply, finish: true)
                break
            }
            _ = await connection.closed()
            served += 1
            let cpu = processCPUSeconds()
            emit("SERVED connection=\(served) cpu=\(String(format: "%.3f", cpu))")
            if connections > 0 && served >= connections { break }
        }
        await endpoint.close()
    }
}

struct Client: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sends --bytes on one stream and times it.")

    @Option(help: "Server UDP address.") var connect = "127.0.0.1:4450"
    @Option(help: "Bytes to send.") var bytes = 1 << 30
    @Option(help: "Bytes per write call.") var writeSize = 256 * 1024
    @OptionGroup var tuning: Tuning

    func run() async throws {
        let (host, port) = try AddressText.hostPort(connect)
        let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0)
        let connection = try await endpoint.connect(
            host: host, port: port,
            configuration: QUICClientConfiguration(
                alpn: ["perf"], verification: .insecureNoVerification, transport: tuning.transport))
        let stream = try await connection.openBidirectionalStream()
        let chunk = ByteBuffer(repeating: 0x5a, count: writeSize)
        let start = ContinuousClock.now
        var lastReport = start
        var lastBytes = 0
        var sent = 0
        while sent < bytes {
            let size = min(writeSize, bytes - sent)
            try await stream.write(size == writeSize ? chunk : chunk.getSlice(at: 0, length: size)!)
            sent += size
            let now = ContinuousClock.now
            if now - lastReport >= .seconds(1) {
                let rate = Double(sent - lastBytes) / (now - lastReport).seconds / 1e6
                FileHandle.standardError.write(
                    Data("progress sent=\(sent) rate=\(String(format: "%.0f", rate)) MB/s\n".utf8))
                lastReport = now
                lastBytes = sent
            }
        }
        try await stream.finish()
        guard let reply = try await stream.readAll(limit: 64).getInteger(at: 0, as: UInt64.self) else {
            throw ValidationError("server sent no byte count")
        }
        let seconds = (ContinuousClock.now - start).seconds
        let stats = await endpoint.statistics()
        connection.close()
        _ = await connection.closed()
        guard reply == UInt64(bytes) else { throw ValidationError("server counted \(reply) bytes, sent \(bytes)") }
        emit(
            "RESULT bytes=\(bytes) seconds=\(String(format: "%.3f", seconds)) "
                + "mbps=\(String(format: "%.1f", Double(bytes) / seconds / 1e6)) "
                + "cpu=\(String(format: "%.3f", processCPUSeconds())) "
                + "datagrams=\(stats.datagramsSent) sendcalls=\(stats.sendCalls)")
        await endpoint.close()
    }
}

/// Transport knobs both roles accept, to compare settings in one place.
struct Tuning: ParsableArguments {
    @Option(help: "Congestion control: bbr, cubic or reno.") var cc = "bbr"
    @Option(help: "Initial stream receive window in bytes.") var streamWindow: UInt64 = 1 << 20
    @Option(help: "Initial connection receive window in bytes.") var connectionWindow: UInt64 = 4 << 20

    var transport: QUICTransportConfiguration {
        var transport = QUICTransportConfiguration()
        transport.congestionControl = cc == "bbr" ? .bbr : cc == "reno" ? .reno : .cubic
        transport.streamReceiveWindow = streamWindow
        transport.connectionReceiveWindow = connectionWindow
        return transport
    }
}

func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}


extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
