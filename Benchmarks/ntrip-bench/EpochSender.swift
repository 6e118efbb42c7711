// The source side: one epoch every interval on its own thread, stamped with the monotonic clock the
// readers compare against.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes "EPOCH<19-digit monotonic ns>\n" padded with 'x' to `epochBytes`, every `interval` ms, until stopped.
final class EpochSender: Sendable {
    private let socket: Int32
    private let epochBytes: Int
    private let interval: Int
    private let thread = LoopThread()

    init(socket: Int32, epochBytes: Int, interval: Int) {
        self.socket = socket
        self.epochBytes = max(epochBytes, EpochMarker.length + 2)
        self.interval = interval
    }

    func start() { thread.start(name: "ntrip-bench source") { [self] in run() } }

    func stop() { thread.stop() }

    private func run() {
        var epoch = [UInt8](repeating: UInt8(ascii: "x"), count: epochBytes)
        epoch[EpochMarker.length] = UInt8(ascii: "\n")
        epoch[epochBytes - 1] = UInt8(ascii: "\n")
        epoch.replaceSubrange(0..<5, with: EpochMarker.prefix)
        while thread.isRunning {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var stamp = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
            for digit in (5..<EpochMarker.length).reversed() {
                epoch[digit] = UInt8(ascii: "0") + UInt8(stamp % 10)
                stamp /= 10
            }
            let complete = epoch.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(socket, bytes.baseAddress! + offset, bytes.count - offset)
                    guard written > 0 else { return false }
                    offset += written
                }
                return true
            }
            guard complete else {
                print("source: write failed (errno \(errno)); the caster closed the source connection")
                return
            }
            // Sleep in short steps so stop() returns promptly.
            var left = interval
            while left > 0, thread.isRunning {
                let step = min(left, 50)
                usleep(UInt32(step * 1000))
                left -= step
            }
        }
    }
}
