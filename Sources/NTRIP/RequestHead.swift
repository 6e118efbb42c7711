public import NIOCore

/// The first line and header fields of a request, as sent (NTRIP v1 is not HTTP: no validation
/// beyond what the caster needs).
public struct RequestHead: Sendable, Equatable {
    /// Request line tokens split on spaces (`SOURCE pw mount`, `GET /m HTTP/1.0`).
    public var tokens: [String]
    public var headers: [(name: String, value: String)]

    public init(tokens: [String], headers: [(name: String, value: String)]) {
        self.tokens = tokens
        self.headers = headers
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    public static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.tokens == rhs.tokens && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// Collects a request head from a connection's first bytes, within a size limit: a value-type state
/// machine that says what to do next and keeps the bytes that follow the head (a source's first data).
public struct RequestHeadParser: Sendable {
    public enum Action: Sendable, Equatable {
        /// Not a complete head yet: read more.
        case needMore
        /// The head, and the bytes after it.
        case head(RequestHead, rest: ByteBuffer)
        /// Not a request this caster can read (reason for the log); reply 400 and close.
        case malformed(String)
        /// The head is larger than the limit; reply 431 and close.
        case tooLarge
    }

    public let maxHeadBytes: Int
    private var buffer = ByteBuffer()
    private var done = false

    public init(maxHeadBytes: Int = 8192) { self.maxHeadBytes = maxHeadBytes }

    /// Adds bytes; returns what to do.
    public mutating func feed(_ bytes: ByteBuffer) -> Action {
        guard !done else { return .malformed("head already parsed") }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        let view = buffer.readableBytesView
        // Binary garbage fails at once rather than after the size limit or the header timeout.
        let firstLineEnd = view.firstIndex(of: UInt8(ascii: "\n")) ?? view.endIndex
        if view[view.startIndex..<firstLineEnd].contains(where: {
            ($0 < 0x20 && $0 != 0x0D && $0 != 0x09) || $0 >= 0x7F
        }) {
            done = true
            return .malformed("binary data in the request line")
        }
        guard let end = Self.endOfHead(view) else {
            if buffer.readableBytes > maxHeadBytes {
                done = true
                return .tooLarge
            }
            return .needMore
        }
        let headLength = end - view.startIndex
        guard headLength <= maxHeadBytes else {
            done = true
            return .tooLarge
        }
        done = true
        // Split bytes, not Characters: "\r\n" is a single Character in Swift.
        var lines = view[view.startIndex..<end].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map {
                String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0, as: UTF8.self)
            }
        buffer.moveReaderIndex(forwardBy: headLength)
        let rest = buffer.readSlice(length: buffer.readableBytes)!
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first, !requestLine.isEmpty else { return .malformed("empty request line") }
        let tokens = requestLine.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("header line without ':'") }
            let name = line[..<colon].trimmingSpaces()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            headers.append((name, value))
        }
        return .head(RequestHead(tokens: tokens, headers: headers), rest: rest)
    }

    /// Index just past the blank line (`\r\n\r\n` or `\n\n`) that ends the head, if present.
    static func endOfHead(_ view: ByteBufferView) -> Int? {
        var previousNewline: Int?
        var index = view.startIndex
        while index < view.endIndex {
            let byte = view[index]
            if byte == UInt8(ascii: "\n") {
                if let previous = previousNewline {
                    let between = view[(previous + 1)..<index]
                    if between.isEmpty || (between.count == 1 && between.first == UInt8(ascii: "\r")) {
                        return index + 1
                    }
                }
                previousNewline = index
            }
            index += 1
        }
        return nil
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
