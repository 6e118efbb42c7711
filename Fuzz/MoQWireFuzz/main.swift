// libFuzzer entry point for MoQWire: every input goes to every decoder on every version, as a stream
// would deliver it. A crash, a sanitizer report or a broken invariant (below) is a finding.
// Built and run by scripts/fuzz-moqwire.
import MoQWire
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    for version in MoQVersion.allCases {
        drain(AnnounceRequest.self, input, version)
        drain(AnnounceOK.self, input, version)
        drain(Announce.self, input, version)
        drain(TrackRequest.self, input, version)
        drain(TrackInfo.self, input, version)
        drain(Subscribe.self, input, version)
        drain(SubscribeUpdate.self, input, version)
        drain(SubscribeResponse.self, input, version)
        drain(GroupHeader.self, input, version)
        drain(FrameHeader.self, input, version)
        drain(Fetch.self, input, version)
        drain(Probe.self, input, version)
        drain(Goaway.self, input, version)
        drain(Setup.self, input, version)
        decodeStreamTypes(input, version)
        decodeDatagram(input, version)
    }
    return 0
}

/// Decodes messages until the decoder needs more bytes or throws. Invariants: the reader index moves
/// only on success and then forward; a decoded message re-encodes to bytes that decode to it again.
private func drain<Message: MoQMessage>(_ type: Message.Type, _ input: ByteBuffer, _ version: MoQVersion) {
    var stream = input
    while true {
        let before = stream.readerIndex
        let decoded: Message?
        do {
            decoded = try Message.decode(from: &stream, version: version, limits: .standard)
        } catch {
            precondition(stream.readerIndex == before, "\(Message.self) moved the reader index and threw \(error)")
            return
        }
        guard let message = decoded else {
            precondition(stream.readerIndex == before, "\(Message.self) moved the reader index without a message")
            return
        }
        precondition(stream.readerIndex > before, "\(Message.self) decoded without consuming bytes")
        var reencoded = ByteBuffer()
        message.encode(into: &reencoded, version: version)
        let again = try? Message.decode(from: &reencoded, version: version, limits: .standard)
        precondition(
            again == message && reencoded.readableBytes == 0, "\(Message.self) does not round-trip on \(version)")
    }
}

private func decodeStreamTypes(_ input: ByteBuffer, _ version: MoQVersion) {
    var bidi = input
    if (try? BidiStreamType.decode(from: &bidi, version: version)) == nil {
        precondition(bidi.readerIndex == input.readerIndex, "BidiStreamType moved the reader index")
    }
    var uni = input
    if (try? UniStreamType.decode(from: &uni, version: version)) == nil {
        precondition(uni.readerIndex == input.readerIndex, "UniStreamType moved the reader index")
    }
}

private func decodeDatagram(_ input: ByteBuffer, _ version: MoQVersion) {
    guard let datagram = try? Datagram.decode(input, version: version) else { return }
    var reencoded = ByteBuffer()
    datagram.encode(into: &reencoded, version: version)
    precondition((try? Datagram.decode(reencoded, version: version)) == datagram, "Datagram does not round-trip")
}
