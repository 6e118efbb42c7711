import Foundation
import MoQ
import MoQRelay
import Testing

/// Tokens and scopes without sockets: signing, verification, and moq-relay's root/put/get rules.
@Suite struct RelayAuthTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func hs256TokensVerifyOnlyWithTheirKeyUntouchedAndUnexpired() throws {
        let key = RelayKey.generate(.hs256)
        let claims = RelayClaims(root: "demo", put: ["cam"], get: [""], exp: 1_800_000_060)
        let token = try key.sign(claims)
        #expect(try key.verify(token, now: 1_800_000_000) == claims)
        // The same key read back from its JWK verifies too.
        #expect(try RelayKey(jwk: Data(key.jwk.utf8)).verify(token, now: 1_800_000_000) == claims)
        #expect(throws: RelayTokenError("bad token signature")) {
            try RelayKey.generate(.hs256).verify(token, now: 1_800_000_000)
        }
        #expect(throws: RelayTokenError("token expired")) { try key.verify(token, now: 1_800_000_060) }
        // A changed payload (wider grant) breaks the signature.
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = try key.sign(RelayClaims(root: "", put: [""], get: [""])).split(separator: ".")[1].description
        #expect(throws: RelayTokenError("bad token signature")) {
            try key.verify(parts.joined(separator: "."), now: 1_800_000_000)
        }
        // alg "none" with no signature is refused whatever the payload.
        let none = "eyJhbGciOiJub25lIn0." + parts[1] + "."
        #expect(throws: RelayTokenError("token algorithm none does not match the key")) {
            try key.verify(none, now: 1_800_000_000)
        }
        #expect(throws: RelayTokenError("malformed token")) { try key.verify("abc", now: 0) }
    }

    @Test func es256TokensSignWithThePrivateKeyAndVerifyWithThePublicJWK() throws {
        let privateKey = RelayKey.generate(.es256)
        let publicKey = try RelayKey(jwk: Data(privateKey.publicKey.jwk.utf8))
        #expect(!publicKey.canSign)
        #expect(!publicKey.jwk.contains("\"d\""))
        let claims = RelayClaims(root: "rooms/1", get: ["alice"])
        let token = try privateKey.sign(claims)
        #expect(try publicKey.verify(token) == claims)
        #expect(throws: RelayTokenError("bad token signature")) {
            try RelayKey.generate(.es256).publicKey.verify(token)
        }
        #expect(throws: RelayTokenError("a public key cannot sign: use the private JWK")) {
            try publicKey.sign(claims)
        }
    }

    @Test func claimsAcceptOneStringOrAListAsMoqTokenWritesThem() throws {
        let one = try JSONDecoder().decode(
            RelayClaims.self, from: Data(#"{"root":"a","put":"x","get":["y","z"]}"#.utf8))
        #expect(one == RelayClaims(root: "a", put: ["x"], get: ["y", "z"]))
        let none = try JSONDecoder().decode(RelayClaims.self, from: Data("{}".utf8))
        #expect(none == RelayClaims())
    }

    @Test func tokenGrantsAreRebasedOntoTheConnectionPath() throws {
        let key = RelayKey.generate()
        let auth = RelayAuth(key: key)
        func admit(_ path: String, _ claims: RelayClaims) throws -> MoQAdmission {
            auth.admit(path + "?jwt=" + (try key.sign(claims)), now: now)
        }
        // The connection path is the token root: the grants as written.
        #expect(
            try admit("/demo", RelayClaims(root: "demo", put: ["cam"], get: [""]))
                == .granted(MoQSessionScope(root: "demo", publish: ["cam"], subscribe: [""])))
        // Below the root: grants narrow to what lies under the path.
        #expect(
            try admit("/demo/cam", RelayClaims(root: "demo", put: ["cam"], get: ["other"]))
                == .granted(MoQSessionScope(root: "demo/cam", publish: [""], subscribe: [])))
        // Above the root: grants are named from the connection path.
        #expect(
            try admit("/", RelayClaims(root: "demo", get: ["cam"]))
                == .granted(MoQSessionScope(root: "", publish: [], subscribe: ["demo/cam"])))
        // Disjoint paths, and a path where nothing is granted, are refused.
        #expect(
            try admit("/other", RelayClaims(root: "demo", get: [""]))
                == .refused("the token's root demo does not cover the path /other"))
        #expect(
            try admit("/demo/x", RelayClaims(root: "demo", put: ["cam"]))
                == .refused("the token grants nothing under /demo/x"))
        #expect(auth.admit("/demo", now: now) == .refused("a token is required: connect with ?jwt=<token>"))
        #expect(auth.admit("/demo?jwt=not.a.token", now: now) == .refused("malformed token"))
    }

    @Test func anonymousAccessFollowsThePublicPrefixes() {
        #expect(RelayAuth().admit(nil) == .granted(.unrestricted))
        #expect(RelayAuth().admit("/room") == .granted(MoQSessionScope(root: "room")))
        let keyed = RelayAuth(key: RelayKey.generate(), publicPrefixes: ["anon"])
        #expect(keyed.admit("/") == .granted(MoQSessionScope(root: "", publish: ["anon"], subscribe: ["anon"])))
        #expect(
            keyed.admit("/anon/room") == .granted(MoQSessionScope(root: "anon/room", publish: [""], subscribe: [""])))
        #expect(keyed.admit("/private") == .refused("a token is required: connect with ?jwt=<token>"))
        #expect(RelayAuth(publicPrefixes: []).admit("/") == .refused("a token is required: connect with ?jwt=<token>"))
        #expect(
            RelayAuth(key: RelayKey.generate()).admit(nil) == .refused("a token is required: connect with ?jwt=<token>")
        )
    }

    @Test func scopesMapPathsAndNarrowAnnouncementRequests() {
        let scope = MoQSessionScope(root: "demo", publish: ["cams/a", "cams/b"], subscribe: [""])
        #expect(scope.absolute("/cams/a/") == "demo/cams/a")
        #expect(scope.relative("demo/cams/a") == "cams/a")
        #expect(scope.relative("demonic/x") == nil)
        #expect(scope.mayPublish("cams/a/hd"))
        #expect(!scope.mayPublish("cams/c"))
        #expect(!scope.mayPublish("cams/ab"))
        #expect(scope.announceRequests(interest: "") == ["cams/a", "cams/b"])
        #expect(scope.announceRequests(interest: "cams/a/x") == ["cams/a/x"])
        #expect(scope.announceRequests(interest: nil) == [])
        #expect(MoQSessionScope(publish: ["", "x"]).announceRequests(interest: "") == [""])
    }

    @Test func configFilesUseTheOptionNamesWithSectionsAsPrefixes() throws {
        let file = try RelayConfigFile(
            text: """
                # relay.toml
                listen = "0.0.0.0:4443"   # UDP
                http_listen = "127.0.0.1:9090"
                tls-generate = ["relay.example", "127.0.0.1"]
                [auth]
                key = "keys/root.jwk"
                public = ["anon", "demo#1"]
                [cache]
                bytes = 1_048_576
                """)
        #expect(file["listen"] == .string("0.0.0.0:4443"))
        #expect(file["http-listen"] == .string("127.0.0.1:9090"))
        #expect(file["tls-generate"]?.list == ["relay.example", "127.0.0.1"])
        #expect(file["auth-key"] == .string("keys/root.jwk"))
        #expect(file["auth-public"] == .list(["anon", "demo#1"]))
        #expect(file["cache-bytes"] == .integer(1_048_576))
        #expect(throws: RelayConfigFile.ParseError.self) { try RelayConfigFile(text: "listen 1") }
        #expect(throws: RelayConfigFile.ParseError.self) { try RelayConfigFile(text: "a = \"open") }
        #expect(throws: RelayConfigFile.ParseError.self) { try RelayConfigFile(text: "a = 1\na = 2") }
    }
}
