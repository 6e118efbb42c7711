import ArgumentParser
import Foundation
import MoQRelay

/// `moq-relay token`: keys and tokens for the relay's auth (the moq-token workflow).
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Generate keys and sign or verify relay tokens (JWT).",
        discussion: """
            moq-relay token generate --key root.jwk                 # HS256 secret (the relay and signers share it)
            moq-relay token generate --key private.jwk --algorithm ES256 --public public.jwk
            moq-relay token sign --key root.jwk --root demo --put cam --get "" --expires-in 3600
            Clients connect with moqt://relay:4443/demo?jwt=<token>; the relay runs with --auth-key root.jwk
            (or public.jwk for ES256).
            """,
        subcommands: [Generate.self, Sign.self, Verify.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new signing key (JWK).")

        @Option(help: "Where to write the key (JWK, mode 0600).")
        var key: String

        @Option(help: "HS256 (shared secret) or ES256 (P-256 key pair).")
        var algorithm: String = "HS256"

        @Option(help: "ES256: also write the public key here (what the relay's --auth-key needs).")
        var `public`: String?

        func run() throws {
            guard let algorithm = RelayKey.Algorithm(rawValue: algorithm.uppercased()) else {
                throw ValidationError("unknown algorithm \(algorithm): use HS256 or ES256")
            }
            let generated = RelayKey.generate(algorithm)
            try write(generated.jwk, to: key, private: true)
            if let path = `public` { try write(generated.publicKey.jwk, to: path, private: false) }
            print("wrote \(algorithm.rawValue) key to \(key)" + (`public`.map { ", public key to \($0)" } ?? ""))
        }

        private func write(_ text: String, to path: String, private: Bool) throws {
            let attributes: [FileAttributeKey: Any] = `private` ? [.posixPermissions: 0o600] : [:]
            guard
                FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8), attributes: attributes)
            else { throw ValidationError("cannot write \(path)") }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a token granting paths under a root.")

        @Option(help: "The signing key (JWK).")
        var key: String

        @Option(help: "The path the token is scoped to (clients connect to it or below it).")
        var root: String = ""

        @Option(help: "Prefix under the root the holder may publish (repeatable; \"\" is everything).")
        var put: [String] = []

        @Option(help: "Prefix under the root the holder may subscribe to (repeatable; \"\" is everything).")
        var get: [String] = []

        @Option(help: "Seconds until the token expires (default: never).")
        var expiresIn: Int64?

        @Option(help: "Absolute expiry, Unix seconds (overrides --expires-in).")
        var expiresAt: Int64?

        func run() throws {
            guard !put.isEmpty || !get.isEmpty else {
                throw ValidationError("a token needs --put or --get (else it grants nothing)")
            }
            let now = Int64(Date().timeIntervalSince1970)
            let claims = RelayClaims(
                root: root, put: put, get: get, exp: expiresAt ?? expiresIn.map { now + $0 }, iat: now)
            print(try RelayKey(file: key).sign(claims))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a token (from stdin) and print its claims.")

        @Option(help: "The verifying key (JWK).")
        var key: String

        func run() throws {
            let token = (readLine() ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let claims = try RelayKey(file: key).verify(token)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(claims), as: UTF8.self))
        }
    }
}
