public import NIOCore

/// Splits a source's byte stream into whole RTCM3 messages (0xD3, 6 reserved bits, 10-bit length,
/// payload, CRC-24Q) and runs of other bytes, so each frame of the track is one message or one raw read.
///
/// Before the first good message a bad candidate is just raw data (a stray 0xD3 in NMEA or binary);
/// once the stream has proved to be RTCM3, a message with a bad CRC is counted and dropped.
public struct RTCM3Framer: Sendable {
    /// One unit of output.
    public enum Output: Sendable, Equatable {
        /// A whole, CRC-checked RTCM3 message (header and CRC included).
        case message(ByteBuffer)
        /// Bytes that are not RTCM3.
        case raw(ByteBuffer)
    }

    /// The largest message: 3 header bytes, 1023 payload bytes, 3 CRC bytes.
    public static let maxMessageSize = 1029

    private var pending = ByteBuffer()
    /// True once a message passed its CRC: from then on bad candidates are dropped, not passed raw.
    public private(set) var synced = false
    public private(set) var messages = 0
    public private(set) var badCRC = 0
    public private(set) var rawBytes = 0
    /// Bytes of messages dropped for a bad CRC.
    public private(set) var droppedBytes = 0

    public init() {}

    /// Appends `bytes` and returns every complete unit; an incomplete message waits for more bytes
    /// (at most `maxMessageSize` are ever held).
    public mutating func feed(_ bytes: ByteBuffer) -> [Output] {
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            var bytes = bytes
            pending.writeBuffer(&bytes)
        }
        var outputs: [Output] = []
        while pending.readableBytes > 0 {
            guard let first = pending.getInteger(at: pending.readerIndex, as: UInt8.self), first == 0xD3 else {
                let view = pending.readableBytesView
                let end = view.firstIndex(of: 0xD3).map { $0 - view.startIndex } ?? view.count
                emitRaw(length: end, into: &outputs)
                continue
            }
            guard pending.readableBytes >= 3 else { break }
            let high = pending.getInteger(at: pending.readerIndex + 1, as: UInt8.self)!
            let low = pending.getInteger(at: pending.readerIndex + 2, as: UInt8.self)!
            guard high & 0xFC == 0 else {
                emitRaw(length: 1, into: &outputs)
                continue
            }
            let total = 3 + (Int(high & 0x03) << 8 | Int(low)) + 3
            guard pending.readableBytes >= total else { break }
            let view = pending.readableBytesView
            let body = view.prefix(total - 3)
            let crc = view.dropFirst(total - 3).prefix(3).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if CRC24Q.checksum(body) == crc {
                synced = true
                messages += 1
                outputs.append(.message(pending.readSlice(length: total)!))
            } else if synced {
                badCRC += 1
                droppedBytes += total
                pending.moveReaderIndex(forwardBy: total)
            } else {
                emitRaw(length: 1, into: &outputs)
            }
        }
        if pending.readableBytes == 0 { pending = ByteBuffer() }
        return outputs
    }

    /// Passes `length` bytes on as raw data, joined to a raw output just before it.
    private mutating func emitRaw(length: Int, into outputs: inout [Output]) {
        var slice = pending.readSlice(length: length)!
        rawBytes += length
        if case .raw(var previous) = outputs.last {
            previous.writeBuffer(&slice)
            outputs[outputs.count - 1] = .raw(previous)
        } else {
            outputs.append(.raw(slice))
        }
    }
}
