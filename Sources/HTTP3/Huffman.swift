/// The HPACK/QPACK Huffman string coding (RFC 7541 section 5.2 and Appendix B).
public enum Huffman {
    /// Bytes `input` takes once encoded.
    public static func encodedLength(of input: some Sequence<UInt8>) -> Int {
        var bits = 0
        for byte in input { bits += Int(HuffmanCode.table[Int(byte)].length) }
        return (bits + 7) / 8
    }

    /// Encodes `input`, padding the last byte with the most significant bits of EOS (all ones).
    public static func encode(_ input: some Sequence<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        var accumulator: UInt64 = 0
        var count = 0
        for byte in input {
            let (code, length) = HuffmanCode.table[Int(byte)]
            accumulator = (accumulator << UInt64(length)) | UInt64(code)
            count += Int(length)
            while count >= 8 {
                count -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt64(count)))
            }
        }
        if count > 0 {
            output.append(UInt8(truncatingIfNeeded: (accumulator << UInt64(8 - count)) | (0xFF >> UInt64(count))))
        }
        return output
    }

    /// Decodes `input`; throws on EOS in the data, padding over 7 bits, or padding that is not all ones.
    public static func decode(_ input: some Sequence<UInt8>) throws(HTTP3Error) -> [UInt8] {
        let tree = HuffmanTree.shared
        var output: [UInt8] = []
        var node = 0
        var depth = 0
        var allOnes = true
        for byte in input {
            for shift in stride(from: 7, through: 0, by: -1) {
                let bit = (byte >> UInt8(shift)) & 1
                node = Int(bit == 0 ? tree.zero[node] : tree.one[node])
                depth += 1
                allOnes = allOnes && bit == 1
                guard node > 0 else { throw HTTP3Error(.qpackDecompressionFailed, "invalid Huffman code") }
                let symbol = tree.symbol[node]
                if symbol >= 0 {
                    guard symbol < 256 else { throw HTTP3Error(.qpackDecompressionFailed, "EOS in a Huffman string") }
                    output.append(UInt8(symbol))
                    node = 0
                    depth = 0
                    allOnes = true
                }
            }
        }
        guard depth <= 7, allOnes else { throw HTTP3Error(.qpackDecompressionFailed, "bad Huffman padding") }
        return output
    }
}

/// The Huffman code as a binary tree (node 0 is the root; a child index of 0 means "no such code").
private struct HuffmanTree: Sendable {
    var zero: [Int32] = [0]
    var one: [Int32] = [0]
    var symbol: [Int16] = [-1]

    static let shared = HuffmanTree()

    private init() {
        for (value, entry) in HuffmanCode.table.enumerated() {
            var node = 0
            for position in stride(from: Int(entry.length) - 1, through: 0, by: -1) {
                let bit = (entry.code >> UInt32(position)) & 1
                var next = Int(bit == 0 ? zero[node] : one[node])
                if next == 0 {
                    next = symbol.count
                    zero.append(0)
                    one.append(0)
                    symbol.append(-1)
                    if bit == 0 { zero[node] = Int32(next) } else { one[node] = Int32(next) }
                }
                node = next
            }
            symbol[node] = Int16(value)
        }
    }
}
