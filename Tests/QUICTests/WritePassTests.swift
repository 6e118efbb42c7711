import NIOCore
import Testing

@testable import QUIC

/// A reply written by several steps of tasks on the connection's executor (a relay's new group: the old
/// stream's FIN, a stream opened, its header, then the first frame from a child task) leaves in one packet.
@Suite(.timeLimit(.minutes(1)))
struct WritePassTests {
    static let rounds = 5

    @Test func aReplyOfSeveralTaskStepsLeavesInOneDatagram() async throws {
        let server = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, server: QUICServerConfiguration(alpn: ["echo"], identity: testIdentity))
        let client = try await makeClient()
        let connection = try await client.connect(
            host: "127.0.0.1", port: server.localAddress.port!, configuration: pinned())
        let accepted = try #require(await server.incomingConnections.first { _ in true })
        let replier = Task(executorPreference: accepted.taskExecutor) {
            var triggers = accepted.incomingStreams.makeAsyncIterator()
            for _ in 0..<Self.rounds {
                // Each round starts when the client asks, so no packet of the next round falls in its count.
                let start = try #require(await triggers.next())
                _ = try await start.readAll(limit: 16)
                let old = try await accepted.openUnidirectionalStream()
                try await old.write(ByteBuffer(string: "old"))
                let trigger = try #require(await triggers.next())
                _ = try await trigger.readAll(limit: 16)
                try await old.finish()
                let new = try await accepted.openUnidirectionalStream()
                try await new.write(ByteBuffer(string: "header;"))
                try await withThrowingTaskGroup(of: Void.self) { frames in
                    frames.addTask {
                        await Task.yield()
                        await Task.yield()
                        try await new.write(ByteBuffer(string: "frame"), finish: true)
                    }
                    try await frames.waitForAll()
                }
            }
        }
        var arriving = connection.incomingStreams.makeAsyncIterator()
        var datagramsPerReply: [Int] = []
        for _ in 0..<Self.rounds {
            let start = try await connection.openUnidirectionalStream()
            try await start.write(ByteBuffer(string: "start"), finish: true)
            let old = try #require(await arriving.next())
            #expect(try await old.read() == ByteBuffer(string: "old"))
            try await Task.sleep(for: .milliseconds(100))  // earlier packets and their ACKs are done
            let before = await client.statistics()

            let trigger = try await connection.openUnidirectionalStream()
            try await trigger.write(ByteBuffer(string: "go"), finish: true)
            #expect(try await old.readAll(limit: 16).readableBytes == 0)
            let new = try #require(await arriving.next())
            #expect(try await new.readAll(limit: 64) == ByteBuffer(string: "header;frame"))
            let after = await client.statistics()
            datagramsPerReply.append(after.datagramsReceived - before.datagramsReceived)
        }
        try await replier.value

        // Every reply is one datagram; one round may also catch a stray packet (a late ACK of an earlier one).
        #expect(
            datagramsPerReply.filter { $0 == 1 }.count >= Self.rounds - 1, "datagrams per reply: \(datagramsPerReply)")
        connection.close(code: 0)
        await client.close()
        await server.close()
    }
}
