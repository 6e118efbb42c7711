// moq-relay: the relay node. moq-lite over QUIC on UDP, its HTTP API on TCP, one origin for all sessions.
// Defaults run with no configuration: UDP 127.0.0.1:4443, HTTP 127.0.0.1:8080, state in ./data.
import ArgumentParser

@main
struct MoQRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moq-relay",
        abstract: "A moq-lite relay: publishers and subscribers meet in one origin (moq-lite 04/05/06 over QUIC).",
        subcommands: [ServeCommand.self, TokenCommand.self],
        defaultSubcommand: ServeCommand.self)
}
