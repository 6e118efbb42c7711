public import NIOCore

/// Encodes field sections with the static table and literals only (no dynamic table, so no encoder or
/// decoder stream traffic); a literal is Huffman-coded when that is shorter.
public enum QPACKEncoder {
    public static func encode(_ fields: HTTP3Fields) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(fields, into: &buffer)
        return buffer
    }

    public static func encode(_ fields: HTTP3Fields, into buffer: inout ByteBuffer) {
        buffer.writeBytes([0x00, 0x00])  // Required Insert Count 0, Base 0
        for (name, value) in fields {
            if let index = QPACKStaticTable.exact[name + "\u{0}" + value] {
                QPACKInteger.write(UInt64(index), prefix: 6, flags: 0xC0, into: &buffer)
            } else if let index = QPACKStaticTable.names[name] {
                QPACKInteger.write(UInt64(index), prefix: 4, flags: 0x50, into: &buffer)
                writeString(value, prefix: 7, flags: 0x00, into: &buffer)
            } else {
                writeString(name, prefix: 3, flags: 0x20, into: &buffer)
                writeString(value, prefix: 7, flags: 0x00, into: &buffer)
            }
        }
    }

    /// A string literal: the H flag is the bit just above the `prefix`-bit length.
    private static func writeString(_ text: String, prefix: Int, flags: UInt8, into buffer: inout ByteBuffer) {
        let bytes = Array(text.utf8)
        let huffmanLength = Huffman.encodedLength(of: bytes)
        if huffmanLength < bytes.count {
            QPACKInteger.write(UInt64(huffmanLength), prefix: prefix, flags: flags | UInt8(1 << prefix), into: &buffer)
            buffer.writeBytes(Huffman.encode(bytes))
        } else {
            QPACKInteger.write(UInt64(bytes.count), prefix: prefix, flags: flags, into: &buffer)
            buffer.writeBytes(bytes)
        }
    }
}
