import TestSupport
import Testing

extension RunningRelay {
    /// Starts `count` reference (moq-rs) subscribers of `broadcast`/`track`, each reading `frames` frames;
    /// if one cannot start, those already started are stopped.
    func referenceSubscribers(_ count: Int, broadcast: String, track: String, frames: Int, timeout: Int) throws
        -> [PeerProcess]
    {
        var subscribers: [PeerProcess] = []
        do {
            for _ in 0..<count {
                subscribers.append(
                    try reference(
                        "subscribe",
                        ["--broadcast", broadcast, "--track", track, "--count", "\(frames)", "--timeout", "\(timeout)"])
                )
            }
        } catch {
            subscribers.forEach { $0.terminate() }
            throw error
        }
        return subscribers
    }
}

/// Waits for each subscriber and expects it to exit 0 having read `frames` frames, every one byte-exact.
func expectEveryFrameByteExact(_ subscribers: [PeerProcess], frames: Int, within timeout: Duration) async throws {
    for subscriber in subscribers {
        #expect(
            try await subscriber.waitForExit(timeout: timeout) == 0,
            "\(subscriber.lines.suffix(3)) \(subscriber.stderr.suffix(800))")
        let read = subscriber.events.filter { $0["event"] as? String == "frame" }
        #expect(read.count == frames)
        #expect(read.allSatisfy { $0["ok"] as? Bool == true }, "byte-exact")
    }
}
