import Foundation
import NIOCore
import NIOPosix
import TestSupport

/// Sends `request` on a fresh TCP connection to the caster and returns everything it answers until it
/// closes (or `maxBytes`, or 10 s).
func rawExchange(port: Int, _ request: String, maxBytes: Int = 1 << 20) async throws -> String {
    try await withTimeout(.seconds(15), "raw exchange") {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            // The caster may answer and close before a large request is fully written: that is fine.
            try? await outbound.write(ByteBuffer(string: request))
            var reply = ByteBuffer()
            do {
                for try await var chunk in inbound {
                    reply.writeBuffer(&chunk)
                    if reply.readableBytes >= maxBytes { break }
                }
            } catch {}
            return String(buffer: reply)
        }
    }
}
