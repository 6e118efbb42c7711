import NIOConcurrencyHelpers

/// Which side ended a stream served by `readPeer(_:beside:)`.
enum ServedStreamEnd {
    /// The peer finished its side of the stream (for a subscription: it unsubscribed).
    case peerFinished
    /// The work beside the reading ended (the track or the announcements ended).
    case workEnded
}

extension MoQSession {
    /// Runs `work` (what this side sends on the stream) in a child task while this task reads the peer's
    /// side of the same stream with `reading`: one task fewer than a reader and a sender side by side,
    /// which is most of what an idle subscription costs. The first to end ends the other: the peer's FIN
    /// cancels `work`; the end of `work` stops the reading locally (nothing goes to the peer). An error of
    /// either is rethrown.
    func readPeer(
        _ reader: inout StreamReader,
        reading: (inout StreamReader) async throws -> Void,
        beside work: @escaping @Sendable () async throws -> Void
    ) async throws -> ServedStreamEnd {
        let stream = reader.stream
        let workEnded = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer {
                    workEnded.withLockedValue { $0 = true }
                    stream.stopReading()
                }
                try await work()
            }
            do {
                try await reading(&reader)
            } catch {
                // A read error after the work ended is the stopped reading; before, it is the peer's.
                guard workEnded.withLockedValue({ $0 }) else { throw error }
                _ = try await group.next()  // the work's own error, if it failed
                return .workEnded
            }
            group.cancelAll()  // the work's cancellation error, if any, is not the peer's concern
            return .peerFinished
        }
    }
}
