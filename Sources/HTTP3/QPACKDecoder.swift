public import NIOCore

/// Decodes QPACK field sections (RFC 9204 section 4.5) with the static table only: this side advertises
/// a dynamic table capacity of 0, so any dynamic-table reference is QPACK_DECOMPRESSION_FAILED.
public struct QPACKDecoder: Sendable {
    /// The most a decoded section may hold (RFC 9114 section 4.2.2 size); more is `tooLarge`.
    public var maxFieldSectionSize: Int

    public init(maxFieldSectionSize: Int = 64 << 10) { self.maxFieldSectionSize = maxFieldSectionSize }

    public enum Failure: Error, Equatable, Sendable {
        /// Malformed or dynamic-table input: a connection error.
        case protocolError(HTTP3Error)
        /// The decoded section exceeds `maxFieldSectionSize`: answer 431 and drop the request.
        case tooLarge
    }

    public func decode(_ block: ByteBuffer) throws(Failure) -> HTTP3Fields {
        do {
            return try decodeThrowingHTTP3Error(block)
        } catch let error as Failure {
            throw error
        } catch let error as HTTP3Error {
            throw .protocolError(error)
        } catch {
            throw .protocolError(HTTP3Error(.qpackDecompressionFailed, "\(error)"))
        }
    }

    private func decodeThrowingHTTP3Error(_ block: ByteBuffer) throws -> HTTP3Fields {
        var buffer = block
        let requiredInsertCount = try QPACKInteger.read(prefix: 8, from: &buffer)
        guard requiredInsertCount == 0 else { throw dynamic }
        _ = try QPACKInteger.read(prefix: 7, from: &buffer)  // sign + delta base: meaningless without a table
        var fields = HTTP3Fields()
        var size = 0
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            let name: String
            let value: String
            if first & 0x80 != 0 {
                // Indexed field line: 1 T index(6)
                guard first & 0x40 != 0 else { throw dynamic }
                let entry = try Self.staticEntry(try QPACKInteger.read(prefix: 6, from: &buffer))
                (name, value) = (entry.name, entry.value)
            } else if first & 0x40 != 0 {
                // Literal with name reference: 0 1 N T index(4), value
                guard first & 0x10 != 0 else { throw dynamic }
                name = try Self.staticEntry(try QPACKInteger.read(prefix: 4, from: &buffer)).name
                value = try Self.readString(prefix: 7, from: &buffer)
            } else if first & 0x20 != 0 {
                // Literal with literal name: 0 0 1 N H length(3), name, value
                name = try Self.readString(prefix: 3, from: &buffer)
                value = try Self.readString(prefix: 7, from: &buffer)
            } else {
                // Post-base index or post-base name reference: dynamic table only.
                throw dynamic
            }
            size += name.utf8.count + value.utf8.count + 32
            guard size <= maxFieldSectionSize else { throw Failure.tooLarge }
            fields.append(name, value)
        }
        return fields
    }

    private var dynamic: HTTP3Error {
        HTTP3Error(.qpackDecompressionFailed, "dynamic table reference (capacity is 0)")
    }

    private static func staticEntry(_ index: UInt64) throws(HTTP3Error) -> (name: String, value: String) {
        guard index < QPACKStaticTable.entries.count else {
            throw HTTP3Error(.qpackDecompressionFailed, "static table index \(index) out of range")
        }
        return QPACKStaticTable.entries[Int(index)]
    }

    /// A string literal whose H flag sits just above the `prefix`-bit length.
    private static func readString(prefix: Int, from buffer: inout ByteBuffer) throws(HTTP3Error) -> String {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            throw HTTP3Error(.qpackDecompressionFailed, "truncated field section")
        }
        let huffman = first & UInt8(1 << prefix) != 0
        let length = try QPACKInteger.read(prefix: prefix, from: &buffer)
        guard length <= buffer.readableBytes, let bytes = buffer.readBytes(length: Int(length)) else {
            throw HTTP3Error(.qpackDecompressionFailed, "string literal past the end of the field section")
        }
        return String(decoding: huffman ? try Huffman.decode(bytes) : bytes, as: UTF8.self)
    }
}
