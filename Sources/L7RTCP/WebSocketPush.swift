import Foundation
public import NIOCore
public import NIOWebSocket

/// Push mode (§3.11) on a WebSocket: each stream of a stateful transmission without the `pull` feature is
/// sent as binary `PushFrame`s from its next unserved packet on, through the same registry checks as pulls
/// (pause holds a stream, cancel and the last chunk end it); text frames carry JSON control, resend and ack.
extension L7RTCPGateway {
    /// Serves one upgraded WebSocket until the client closes it or the transmission ends.
    public func push(_ socket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, transmission id: String) async {
        let refusal: (code: UInt16, reason: String)?
        var starts: [(index: Int, stream: String, packet: UInt64)] = []
        if StatelessToken.looksStateless(id) {
            refusal = (4409, "push needs a stateful transmission")
        } else if let (transmission, _) = await registry.status(id: id) {
            if transmission.has(.pull) {
                refusal = (4409, "push needs a transmission without the pull feature")
            } else if transmission.isExpired(now: Date().timeIntervalSince1970) {
                refusal = (4410, "transmission expired")
            } else {
                refusal = nil
                starts = transmission.streams.enumerated().map { index, stream in
                    (index, stream.id, stream.served.max.map { $0 + 1 } ?? stream.epochStart)
                }
            }
        } else {
            refusal = (4404, "transmission not found")
        }
        try? await socket.executeThenClose { inbound, outbound in
            if let refusal {
                try await outbound.write(Self.closeFrame(code: refusal.code, reason: refusal.reason))
                return
            }
            let writer = PushWriter(outbound: outbound)
            await withTaskGroup(of: Void.self) { group in
                for start in starts {
                    group.addTask {
                        await self.pushStream(
                            id: id, index: start.index, stream: start.stream, from: start.packet, writer: writer)
                    }
                }
                do {
                    for try await frame in inbound {
                        guard try await self.answer(frame, id: id, writer: writer) else { break }
                    }
                } catch {}
                group.cancelAll()
            }
        }
    }

    /// Writes frames from any task (NIO's outbound writer is Sendable).
    struct PushWriter: Sendable {
        let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>

        func binary(_ frame: PushFrame) async throws {
            try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: frame.encode()))
        }

        func text(_ text: String) async throws {
            try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
        }
    }

    private func pushStream(id: String, index: Int, stream: String, from start: UInt64, writer: PushWriter) async {
        var packet = start
        var advice = BackpressureAdvice.low
        while !Task.isCancelled {
            let outcome = await registry.pull(
                id: id, stream: stream, packet: packet, now: Date().timeIntervalSince1970, waiting: true,
                globalRatios: loadRatios)
            switch outcome {
            case .wait(let feed, let feedID):
                await feed.wait(for: feedID, until: .now + .seconds(1))
            case .reply(.chunk(let chunk, let isLast, _, _), let newAdvice, _):
                // The advice travels as a text op when it changes (only with the backpressure feature).
                if newAdvice != advice {
                    advice = newAdvice
                    try? await writer.text(
                        JSONText.object([("op", "\"backpressure\""), ("advice", JSONText.string(advice.rawValue))]))
                }
                let frame = PushFrame(
                    kind: isLast ? .last : .data, streamIndex: UInt16(index), packet: packet, payload: chunk.bytes,
                    crc32c: chunk.crc32c)
                do { try await writer.binary(frame) } catch { return }
                metrics.served(bytes: chunk.bytes.readableBytes)
                if isLast { return }
                packet += 1
            case .reply(.notYet, _, _):
                try? await Task.sleep(for: .milliseconds(50))
            case .reply(.refused(.streamPaused), _, _):
                try? await Task.sleep(for: .milliseconds(100))
            case .reply(.refused(.chunkEvicted(let oldest)), _, _):
                packet = max(oldest, packet + 1)
            case .reply(.refused(.overloaded(let seconds)), _, _):
                try? await Task.sleep(for: .seconds(seconds))
            case .reply(.refused, _, _):
                return
            }
        }
    }

    /// Answers one client frame; false when the session should end.
    private func answer(_ frame: WebSocketFrame, id: String, writer: PushWriter) async throws -> Bool {
        switch frame.opcode {
        case .connectionClose:
            try await writer.outbound.write(Self.closeFrame(code: 1000, reason: ""))
            return false
        case .ping:
            try await writer.outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
            return true
        case .text:
            try await writer.text(await textReply(frame.unmaskedData, id: id, writer: writer))
            return true
        default:
            return true
        }
    }

    private struct ClientMessage: Decodable {
        struct Item: Decodable {
            var stream: String
            var command: StreamControl.Command
        }

        var op: String
        var items: [Item]?
        var stream: String?
        var chunks: [UInt64]?
        var upto: UInt64?
    }

    /// The JSON answer to a text frame (control, resend, ack), an `error` op for anything else.
    private func textReply(_ data: ByteBuffer, id: String, writer: PushWriter) async -> String {
        func error(_ error: L7RTCPError) -> String {
            JSONText.object([("op", "\"error\""), ("status", String(error.status)), ("body", error.jsonBody)])
        }
        guard let message = try? JSONDecoder().decode(ClientMessage.self, from: Data(data.readableBytesView)) else {
            return error(.invalidBody("expected a JSON op"))
        }
        let now = Date().timeIntervalSince1970
        switch message.op {
        case "control":
            let control = StreamControl(
                items: (message.items ?? []).map { .init(stream: $0.stream, command: $0.command) })
            switch await registry.control(id: id, control, now: now) {
            case .failure(let failure): return error(failure)
            case .success(let applied):
                let items = applied.map {
                    JSONText.object([
                        ("stream", JSONText.string($0.stream)), ("command", JSONText.string($0.command.rawValue)),
                        ("state", JSONText.string($0.status.rawValue)),
                    ])
                }
                return JSONText.object([("op", "\"control\""), ("applied", JSONText.array(items))])
            }
        case "resend":
            guard let stream = message.stream, let chunks = message.chunks else {
                return error(.invalidBody("resend needs stream and chunks"))
            }
            switch await registry.resend(id: id, stream: stream, chunks: chunks, now: now) {
            case .failure(let failure): return error(failure)
            case .success(let split):
                metrics.resend(chunks: chunks.count)
                guard let index = await registry.status(id: id)?.0.streamIndex(stream) else {
                    return error(.unknownStream(stream))
                }
                for packet in split.queued {
                    if case .reply(.chunk(let chunk, let isLast, _, _), _, _) = await registry.pull(
                        id: id, stream: stream, packet: packet, now: now, waiting: false, globalRatios: [])
                    {
                        try? await writer.binary(
                            PushFrame(
                                kind: isLast ? .last : .data, streamIndex: UInt16(index), packet: packet,
                                payload: chunk.bytes, crc32c: chunk.crc32c))
                    }
                }
                return JSONText.object([
                    ("op", "\"resend\""), ("chunks_queued", JSONText.array(split.queued.map { String($0) })),
                    ("unavailable", JSONText.array(split.unavailable.map { String($0) })),
                ])
            }
        case "ack":
            return JSONText.object([("op", "\"ack\""), ("upto", message.upto.map { String($0) } ?? "null")])
        default:
            return error(.invalidBody("unknown op \(message.op)"))
        }
    }

    static func closeFrame(code: UInt16, reason: String) -> WebSocketFrame {
        var data = ByteBuffer()
        data.writeInteger(code)
        data.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
    }
}
