import CSodium

/// An X25519 public key for sealed boxes (32 bytes).
public struct BoxPublicKey: Hashable, Sendable, Codable {
    public static let byteCount = Int(crypto_box_PUBLICKEYBYTES)
    /// How many bytes sealing adds: an ephemeral public key and a MAC.
    public static let sealOverhead = Int(crypto_box_sealbytes())
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength("an X25519 public key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// Anonymously encrypts `message` so only the holder of the matching secret key can open it
    /// (`crypto_box_seal`: an ephemeral key pair, so the sender cannot open it either).
    public func seal(_ message: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var sealed = [UInt8](repeating: 0, count: message.count + Int(crypto_box_sealbytes()))
        message.withNonNullPointer { msg, msgCount in
            bytes.withUnsafeBufferPointer { key in
                _ = crypto_box_seal(&sealed, msg, UInt64(msgCount), key.baseAddress!)
            }
        }
        return sealed
    }
}

/// An X25519 key pair for opening sealed boxes; the secret half lives in secure memory.
public struct BoxKeyPair: Sendable, CustomStringConvertible {
    public let publicKey: BoxPublicKey
    private let secretKey: SecretBytes

    public static func generate() throws(CryptoError) -> BoxKeyPair {
        try BoxKeyPair(seed: try SecretBytes.random(count: Int(crypto_box_SEEDBYTES)))
    }

    /// The key pair a 32-byte seed determines.
    public init(seed: SecretBytes) throws(CryptoError) {
        guard seed.count == Int(crypto_box_SEEDBYTES) else {
            throw .invalidLength("an X25519 seed", expected: Int(crypto_box_SEEDBYTES), actual: seed.count)
        }
        let secret = try SecretBytes(zeroedCount: Int(crypto_box_SECRETKEYBYTES))
        var publicBytes = [UInt8](repeating: 0, count: BoxPublicKey.byteCount)
        secret.withUnsafeMutableBytes { secretBytes in
            seed.withUnsafeBytes { seedBytes in
                _ = crypto_box_seed_keypair(
                    &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        publicKey = try BoxPublicKey(publicBytes)
        secretKey = secret
    }

    /// Opens a sealed box addressed to this key pair.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` when it was sealed to another key or altered.
    public func open(_ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= Int(crypto_box_sealbytes()) else { throw .authenticationFailed }
        var message = [UInt8](repeating: 0, count: sealed.count - Int(crypto_box_sealbytes()))
        let status = sealed.withUnsafeBufferPointer { input in
            publicKey.bytes.withUnsafeBufferPointer { pub in
                secretKey.withUnsafeBytes { secret in
                    crypto_box_seal_open(
                        &message, input.baseAddress!, UInt64(input.count), pub.baseAddress!,
                        secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard status == 0 else { throw .authenticationFailed }
        return message
    }

    public var description: String { "BoxKeyPair(secret redacted)" }
}
