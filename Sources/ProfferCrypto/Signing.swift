import CSodium

/// An Ed25519 public key (32 bytes).
public struct SigningPublicKey: Hashable, Sendable, Codable {
    public static let byteCount = Int(crypto_sign_PUBLICKEYBYTES)
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength("an Ed25519 public key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// Whether the key is a canonical point of the main subgroup, not of small order: only such a key can be a
    /// signer's. Verification refuses the others anyway; a profile presenting one is refused when it is first read.
    public var isValidPoint: Bool {
        Sodium.ensureInitialized()
        return crypto_core_ed25519_is_valid_point(bytes) == 1
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard signature.count == Int(crypto_sign_BYTES) else { return false }
        return signature.withUnsafeBufferPointer { sig in
            message.withNonNullPointer { msg, msgCount in
                bytes.withUnsafeBufferPointer { key in
                    crypto_sign_verify_detached(sig.baseAddress!, msg, UInt64(msgCount), key.baseAddress!) == 0
                }
            }
        }
    }
}

/// An Ed25519 key pair; the secret half lives in secure memory.
public struct SigningKeyPair: Sendable, CustomStringConvertible {
    public static let seedByteCount = Int(crypto_sign_SEEDBYTES)
    public static let signatureByteCount = Int(crypto_sign_BYTES)

    public let publicKey: SigningPublicKey
    private let secretKey: SecretBytes

    /// A fresh random key pair.
    public static func generate() throws(CryptoError) -> SigningKeyPair {
        try SigningKeyPair(seed: try SecretBytes.random(count: seedByteCount))
    }

    /// The key pair a 32-byte seed determines: the same seed always gives the same keys.
    public init(seed: SecretBytes) throws(CryptoError) {
        guard seed.count == Self.seedByteCount else {
            throw .invalidLength("an Ed25519 seed", expected: Self.seedByteCount, actual: seed.count)
        }
        let secret = try SecretBytes(zeroedCount: Int(crypto_sign_SECRETKEYBYTES))
        var publicBytes = [UInt8](repeating: 0, count: SigningPublicKey.byteCount)
        secret.withUnsafeMutableBytes { secretBytes in
            seed.withUnsafeBytes { seedBytes in
                Sodium.check(
                    crypto_sign_seed_keypair(
                        &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)), "crypto_sign_seed_keypair")
            }
        }
        self.publicKey = try SigningPublicKey(publicBytes)
        self.secretKey = secret
    }

    /// The detached Ed25519 signature (64 bytes) of `message`.
    public func signature(for message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        message.withNonNullPointer { msg, msgCount in
            secretKey.withUnsafeBytes { secret in
                Sodium.check(
                    crypto_sign_detached(
                        &signature, nil, msg, UInt64(msgCount), secret.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                    "crypto_sign_detached")
            }
        }
        return signature
    }

    /// Runs `body` with the secret key kept readable throughout, so the signatures made inside it cost no page
    /// protection changes each (two `mprotect` calls per signature otherwise). The key is inaccessible again after.
    public func whileSecretReadable<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try secretKey.withUnsafeBytes { (_) throws(E) -> R in try body() }
    }

    /// Runs `body` (a server's whole life, say) with the secret key kept readable, so the signatures made meanwhile
    /// cost no page protection changes each (see ``SecretBytes/whileReadable(_:)``).
    public func keepingSecretReadable<R>(during body: () async throws -> R) async rethrows -> R {
        try await secretKey.whileReadable(body)
    }

    public var description: String { "SigningKeyPair(public: \(publicKey.bytes.count) bytes, secret redacted)" }
}
