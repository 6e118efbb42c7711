import CNGTCP2

/// A QUIC connection ID held inline (up to 20 bytes), so routing a packet allocates nothing.
struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    private var head: UInt64 = 0
    private var middle: UInt64 = 0
    private var tail: UInt32 = 0
    private(set) var length: UInt8 = 0

    /// Length of every connection ID this endpoint issues; short-header packets are parsed with it.
    static let issuedLength = 16

    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= 20, "QUIC connection IDs are at most 20 bytes")
        length = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &self) { raw in
            // head, middle, tail are laid out first: copy the ID bytes over them.
            raw.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
    }

    init(_ cid: ngtcp2_cid) {
        var cid = cid
        self = withUnsafeBytes(of: &cid.data) {
            ConnectionID(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(cid.datalen)))
        }
    }

    init(pointer: UnsafePointer<UInt8>, length: Int) {
        self.init(bytes: UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// A random ID of `issuedLength` bytes. With `socket` (`index` of `count` sockets sharing a port), its
    /// first byte modulo `count` is `index`: the kernel's steering program (`cdatagram_socket_steer`) then
    /// hands every packet for it to that socket, whatever address the peer sends from.
    static func random(socket: (index: Int, count: Int) = (0, 1)) -> ConnectionID {
        var bytes = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) {
            _ = gnutls_rnd(GNUTLS_RND_NONCE, $0.baseAddress, issuedLength)
            let slots = 256 / socket.count
            $0[0] = UInt8(Int($0[0]) % slots * socket.count + socket.index)
        }
        return withUnsafeBytes(of: &bytes) {
            ConnectionID(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(issuedLength)))
        }
    }

    var ngtcp2: ngtcp2_cid {
        var cid = ngtcp2_cid()
        var copy = self
        withUnsafeBytes(of: &copy) { source in
            withUnsafeMutableBytes(of: &cid.data) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(Int(length))))
            }
        }
        cid.datalen = Int(length)
        return cid
    }

    var description: String {
        var copy = self
        return withUnsafeBytes(of: &copy) {
            $0.prefix(Int(length)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}
