public import NIOCore

/// Reads what a client sends after its request (NMEA lines, mostly `$G?GGA`), line by line within a
/// bound, and keeps the last GGA sentence: uplink bytes are never a protocol error.
public struct GGAReader: Sendable {
    public static let maxLineLength = 512

    public private(set) var lastGGA: String?
    public private(set) var lines = 0
    public private(set) var bytes = 0
    private var line: [UInt8] = []
    private var overlong = false

    public init(header: String? = nil) {
        if let header, Self.isGGA(header) { lastGGA = header }
    }

    public mutating func feed(_ buffer: ByteBuffer) {
        bytes += buffer.readableBytes
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                finishLine()
            } else if line.count < Self.maxLineLength {
                line.append(byte)
            } else {
                overlong = true
            }
        }
    }

    private mutating func finishLine() {
        defer {
            line.removeAll(keepingCapacity: true)
            overlong = false
        }
        guard !overlong else { return }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else { return }
        lines += 1
        let text = String(decoding: line, as: UTF8.self)
        if Self.isGGA(text) { lastGGA = text }
    }

    /// `$GPGGA,...`, `$GNGGA,...` and the other talkers.
    public static func isGGA(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(7))
        return bytes.count == 7 && bytes[0] == UInt8(ascii: "$") && bytes[1] == UInt8(ascii: "G")
            && bytes[3...6].elementsEqual("GGA,".utf8)
    }
}
