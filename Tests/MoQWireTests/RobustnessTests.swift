import MoQWire
import NIOCore
import Testing

/// Random bytes and mutated valid encodings, fed to every decoder on every version: nothing crashes,
/// the reader index only moves on success, and whatever decodes re-encodes to the same value.
struct RobustnessTests {
    static let requiredAttempts = 1_000_000

    @Test func randomAndMutatedInputNeverBreaksADecoder() {
        var random = SplitMix64(seed: 0x6d6f_712d_6c69_7465)
        let corpus = MoQVersion.allCases.flatMap { version in
            Samples.messages(for: version).map { encoded($0, version) }
        }
        var harness = DecoderHarness()
        let clock = ContinuousClock()
        let started = clock.now
        var inputs = 0
        while harness.attempts < Self.requiredAttempts {
            let input =
                inputs.isMultiple(of: 2)
                ? randomBytes(using: &random)
                : mutate(corpus.randomElement(using: &random)!, using: &random)
            harness.decodeEverything(input)
            inputs += 1
        }
        let elapsed = clock.now - started
        print(
            "robustness: \(harness.attempts) decode attempts on \(inputs) inputs in \(elapsed), \(harness.decoded) decoded"
        )
        #expect(harness.decoded > 1000, "mutated encodings should often still decode")
    }

    private func randomBytes(using random: inout SplitMix64) -> ByteBuffer {
        let count = Int.random(in: 0...48, using: &random)
        return ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    /// One to three byte-level edits: flip a bit, overwrite with a varint length prefix, insert, cut.
    private func mutate(_ original: ByteBuffer, using random: inout SplitMix64) -> ByteBuffer {
        var bytes = Array(original.readableBytesView.prefix(256))
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty: bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[index] = [0x00, 0x3f, 0x40, 0x80, 0xc0, 0xff].randomElement(using: &random)!
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
            case 3: bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            default: if !bytes.isEmpty { bytes.remove(at: index) }
            }
        }
        return ByteBuffer(bytes: bytes)
    }
}

/// Runs every decoder on every version over one input, as a stream would: decode messages until the
/// decoder needs more bytes or throws, checking the invariants after each call.
struct DecoderHarness {
    private(set) var attempts = 0
    private(set) var decoded = 0

    mutating func decodeEverything(_ input: ByteBuffer) {
        for version in MoQVersion.allCases {
            for type in allMessageTypes {
                drain(type, input, version)
            }
            var bidi = input
            attempts += 1
            _ = try? BidiStreamType.decode(from: &bidi, version: version)
            var uni = input
            attempts += 1
            _ = try? UniStreamType.decode(from: &uni, version: version)
            attempts += 1
            if let datagram = try? Datagram.decode(input, version: version) {
                decoded += 1
                var buffer = ByteBuffer()
                datagram.encode(into: &buffer, version: version)
                #expect((try? Datagram.decode(buffer, version: version)) == datagram)
            }
        }
    }

    private mutating func drain<Message: MoQMessage>(_ type: Message.Type, _ input: ByteBuffer, _ version: MoQVersion) {
        var stream = input
        while true {
            attempts += 1
            let before = stream.readerIndex
            let message: Message
            do {
                guard let next = try Message.decode(from: &stream, version: version, limits: .standard) else {
                    #expect(stream.readerIndex == before, "\(Message.self) moved the reader index without a message")
                    return
                }
                message = next
            } catch {
                #expect(stream.readerIndex == before, "\(Message.self) moved the reader index on \(error)")
                return
            }
            #expect(stream.readerIndex > before, "\(Message.self) decoded without consuming")
            decoded += 1
            var reencoded = encoded(message, version)
            #expect((try? Message.decode(from: &reencoded, version: version, limits: .standard)) == message)
            #expect(reencoded.readableBytes == 0)
        }
    }
}

/// A small, seedable generator so a failing run can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }
}
