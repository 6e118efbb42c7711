@testable import Store
import Testing

/// Stored password hashes: the format stays readable, wrong passwords stay wrong, and the cache of
/// successful checks never lets a different password or hash through.
struct PasswordHashTests {
    /// Made by an independent implementation (Python hashlib) of `sha256$<iterations>$<salt>$<hash>`.
    static let stored = "sha256$4096$000102030405060708090a0b0c0d0e0f$3d3d8c20be325ff2df3613b4e515f4b7655144e2ecb15b916280209ffe3f0490"

    @Test func storedHashesVerifyAndWrongPasswordsDoNot() {
        #expect(PasswordHash.verifySlowly("password", against: Self.stored))
        #expect(!PasswordHash.verifySlowly("passwore", against: Self.stored))
        #expect(!PasswordHash.verifySlowly("password", against: "sha256$4096$00$zz"))
        let made = PasswordHash.make("s3cret")
        #expect(made.hasPrefix("sha256$\(PasswordHash.iterations)$") && made != PasswordHash.make("s3cret"), "salted")
        #expect(PasswordHash.verify("s3cret", against: made))
    }

    @Test func theCacheOfSuccessfulChecksIsExact() {
        #expect(PasswordHash.verify("password", against: Self.stored))
        #expect(PasswordHash.verify("password", against: Self.stored), "again, from the cache")
        #expect(!PasswordHash.verify("Password", against: Self.stored), "a cached success is for that password only")
        let other = PasswordHash.make("password")
        #expect(!PasswordHash.verify("other", against: other), "and for that stored hash only")
        #expect(PasswordHash.verify("password", against: other))
    }
}
