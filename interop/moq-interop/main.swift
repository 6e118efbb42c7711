// moq-interop: the moq-lite interop pair, mirroring gomoqt's cmd/interop. `moq-interop server` publishes
// `interop/server` and checks every client; `moq-interop client` checks a server (ours or anyone's).
// Both print one `PASS <step>` or `FAIL <step>: <why>` line per step and exit non-zero on any FAIL.
import ArgumentParser

struct MoQInterop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moq-interop",
        abstract: "moq-lite interop checks: a server and a client that test each other (or any peer).",
        subcommands: [InteropServer.self, InteropClient.self])
}

/// Parses the command line and runs the chosen subcommand. (Inside an async function: at the top level of
/// main.swift, `MoQInterop.main()` resolves to ParsableCommand's synchronous entry point.)
func runInterop() async { await MoQInterop.main() }

await runInterop()
