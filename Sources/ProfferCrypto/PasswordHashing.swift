import CSodium

/// Argon2id cost parameters, stored beside the salt so a vault opens with exactly the costs it was made with.
public struct Argon2Parameters: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Passes over memory (libsodium's `opslimit`).
    public let operations: UInt64
    /// Memory in bytes (libsodium's `memlimit`).
    public let memoryBytes: UInt64

    public init(operations: UInt64, memoryBytes: UInt64) {
        self.operations = operations
        self.memoryBytes = memoryBytes
    }

    /// For frequent, interactive unlocking (64 MiB, 2 passes).
    public static let interactive = Argon2Parameters(
        operations: UInt64(crypto_pwhash_opslimit_interactive()),
        memoryBytes: UInt64(crypto_pwhash_memlimit_interactive()))
    /// The default: a balance for a personal vault (256 MiB, 3 passes).
    public static let moderate = Argon2Parameters(
        operations: UInt64(crypto_pwhash_opslimit_moderate()), memoryBytes: UInt64(crypto_pwhash_memlimit_moderate()))
    /// For secrets worth seconds of waiting (1 GiB, 4 passes).
    public static let sensitive = Argon2Parameters(
        operations: UInt64(crypto_pwhash_opslimit_sensitive()), memoryBytes: UInt64(crypto_pwhash_memlimit_sensitive()))
    /// The lowest costs libsodium accepts. Only for tests: it offers little protection against guessing.
    public static let weakForTests = Argon2Parameters(
        operations: UInt64(crypto_pwhash_opslimit_min()), memoryBytes: UInt64(crypto_pwhash_memlimit_min()))

    public var description: String { "Argon2id(\(operations) passes, \(memoryBytes / 1024) KiB)" }
}

/// Argon2id key derivation from a passphrase (libsodium `crypto_pwhash`).
public enum PasswordHashing {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// Derives a 32-byte key from `passphrase` and `salt` at the given costs.
    ///
    /// - Throws: ``CryptoError/passwordHashingFailed`` when the costs cannot be met (usually memory).
    public static func deriveKey(passphrase: SecretBytes, salt: [UInt8], parameters: Argon2Parameters)
        throws(CryptoError) -> SymmetricKey
    {
        guard salt.count == saltByteCount else {
            throw .invalidLength("an Argon2id salt", expected: saltByteCount, actual: salt.count)
        }
        let key = try SecretBytes(zeroedCount: SymmetricKey.byteCount)
        let status = passphrase.withUnsafeBytes { password in
            key.withUnsafeMutableBytes { output in
                salt.withUnsafeBufferPointer { saltBytes in
                    crypto_pwhash(
                        output.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(output.count),
                        password.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(password.count),
                        saltBytes.baseAddress!, parameters.operations, Int(parameters.memoryBytes),
                        crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard status == 0 else { throw .passwordHashingFailed }
        return SymmetricKey(unchecked: key)
    }
}
