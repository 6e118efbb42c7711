public import Logging
import NIOCore

/// Serves the echo protocol (Tests/Peers/README.md) on every connection an endpoint accepts: the quick
/// start's server, and the peer that interop tests drive from aioquic.
public struct QUICEchoService: Sendable {
    public let endpoint: QUICEndpoint
    let logger: Logger

    public init(endpoint: QUICEndpoint, logger: Logger = Logger(label: "quic.echo")) {
        self.endpoint = endpoint
        self.logger = logger
    }

    /// Runs until the endpoint closes.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await connection in endpoint.incomingConnections {
                group.addTask { await serve(connection) }
            }
        }
    }

    private func serve(_ connection: QUICConnection) async {
        logger.info(
            "connection",
            metadata: ["peer": "\(connection.remoteAddress)", "alpn": "\(connection.negotiatedALPN ?? "-")"])
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await datagram in connection.incomingDatagrams { connection.sendDatagram(datagram) }
            }
            for await stream in connection.incomingStreams {
                group.addTask { await echo(stream) }
            }
        }
        let reason = await connection.closed()
        logger.info("connection ended", metadata: ["reason": "\(reason)"])
    }

    private func echo(_ stream: QUICStream) async {
        do {
            if stream.isUnidirectional {
                let all = try await stream.readAll(limit: 64 << 20)
                let reply = try await stream.connection.openUnidirectionalStream()
                try await reply.write(all, finish: true)
                return
            }
            var head = ByteBuffer()
            var echoing = false
            while let chunk = try await stream.read() {
                if echoing {
                    try await stream.write(chunk)
                    continue
                }
                head.writeImmutableBuffer(chunk)
                // Hold back only what could still become a `!close` command.
                if head.readableBytes > 64
                    || head.getString(at: head.readerIndex, length: min(7, head.readableBytes)).map({
                        !"!close ".hasPrefix($0)
                    }) == true
                {
                    try await stream.write(head)
                    echoing = true
                }
            }
            if !echoing, let command = head.getString(at: head.readerIndex, length: head.readableBytes),
                command.hasPrefix("!close ")
            {
                let parts = command.dropFirst(7).split(separator: " ", maxSplits: 1)
                let code = parts.first.flatMap { UInt64($0) } ?? 0
                stream.connection.close(code: code, reason: parts.count > 1 ? String(parts[1]) : "")
                return
            }
            try await stream.write(echoing ? ByteBuffer() : head, finish: true)
        } catch QUICStreamError.reset(let code) {
            stream.reset(code: code)
        } catch {
            logger.debug("stream ended", metadata: ["stream": "\(stream.id)", "error": "\(error)"])
        }
    }
}
