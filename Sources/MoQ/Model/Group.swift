import NIOConcurrencyHelpers
public import NIOCore

/// The shared state of one group: its frames so far, and whether it is complete.
///
/// Frames are kept (the group is the unit of caching): a consumer that starts late reads from frame 0.
final class GroupState: Sendable {
    struct State: WaiterHolding {
        var frames: [Frame] = []
        /// Each frame's header, encoded once for every subscriber (`FrameHeaders.shared`).
        var headers: [ByteBuffer] = []
        var bytes = 0
        var finished = false
        var error: MoQStreamError?
        var waiters = Waiters()
    }

    let sequence: UInt64
    /// A single-frame group meant for a QUIC DATAGRAM (lite-05+) rather than a stream.
    let isDatagram: Bool
    let state = NIOLockedValueBox(State())

    init(sequence: UInt64, isDatagram: Bool = false) {
        self.sequence = sequence
        self.isDatagram = isDatagram
    }

    var byteCount: Int { state.withLockedValue { $0.bytes } }
    var isFinished: Bool { state.withLockedValue { $0.finished || $0.error != nil } }

    /// Waits until frame `index` exists or the group ended (or the task is cancelled).
    func waitForFrame(_ index: Int) async {
        await waitUntil(state) { index < $0.frames.count || $0.finished || $0.error != nil }
    }

    func update(_ body: (inout State) -> Void) {
        let waiters = state.withLockedValue { state -> WokenWaiters in
            body(&state)
            return state.waiters.takeAll()
        }
        waiters.resumeAll()
    }
}

/// Writes the frames of one group. Finish it (FIN) or abort it (RESET with a code).
public struct GroupProducer: Sendable {
    let state: GroupState

    init(state: GroupState) { self.state = state }

    public var sequence: UInt64 { state.sequence }

    public func write(_ frame: Frame) {
        state.update { state in
            guard !state.finished, state.error == nil else { return }
            state.bytes += frame.payload.readableBytes
            state.headers.append(
                FrameHeaders.shared(for: frame, previousTimestamp: state.frames.last?.timestamp ?? 0))
            state.frames.append(frame)
        }
    }

    public func write(_ payload: ByteBuffer, timestamp: UInt64 = 0) {
        write(Frame(payload: payload, timestamp: timestamp))
    }

    /// The group is complete.
    public func finish() { state.update { $0.finished = true } }

    /// The group ends without all its frames.
    public func abort(_ error: MoQStreamError) {
        state.update { state in
            if !state.finished, state.error == nil { state.error = error }
        }
    }

    public func consume() -> GroupConsumer { GroupConsumer(state: state) }
}

/// Reads the frames of one group in order; ends at the group's end, throws if it was aborted.
public struct GroupConsumer: AsyncSequence, Sendable {
    public typealias Element = Frame
    let state: GroupState
    /// First frame to read (lite-06 frame bounds).
    var startFrame = 0

    init(state: GroupState, startFrame: Int = 0) {
        self.state = state
        self.startFrame = startFrame
    }

    public var sequence: UInt64 { state.sequence }
    /// Sent as one DATAGRAM frame when the session allows it.
    public var isDatagram: Bool { state.isDatagram }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let state: GroupState
        var index: Int

        public mutating func next() async throws -> Frame? { try await nextWithHeader()?.frame }

        /// The next frame and its shared lite-05 header (`FrameHeaders`).
        mutating func nextWithHeader() async throws -> (frame: Frame, header: ByteBuffer)? {
            while true {
                let outcome = state.state.withLockedValue {
                    state -> Result<(frame: Frame, header: ByteBuffer)?, MoQStreamError>? in
                    if index < state.frames.count { return .success((state.frames[index], state.headers[index])) }
                    if let error = state.error { return .failure(error) }
                    if state.finished { return .success(nil) }
                    return nil
                }
                switch outcome {
                case .success(let entry?):
                    index += 1
                    return entry
                case .success(nil):
                    return nil
                case .failure(let error):
                    throw error
                case nil:
                    try Task.checkCancellation()
                    await state.waitForFrame(index)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(state: state, index: startFrame) }

    /// All frames, once the group is complete.
    public func collect() async throws -> [Frame] {
        var frames: [Frame] = []
        for try await frame in self { frames.append(frame) }
        return frames
    }
}
