// quic-perf: single-connection bulk transfer through our QUIC stack, for `just bench-quic`.
import ArgumentParser
import QUIC

@main
struct QUICPerf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quic-perf", abstract: "QUIC bulk transfer benchmark.")
    func run() async throws {}
}
