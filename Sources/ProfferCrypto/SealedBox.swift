import CSodium

/// An X25519 public key for sealed boxes (32 bytes).
public struct BoxPublicKey: Hashable, Sendable, Codable {
    public static let byteCount = Int(crypto_box_PUBLICKEYBYTES)
    /// How many bytes sealing adds: an ephemeral public key and a MAC.
    public static let sealOverhead = Int(crypto_box_sealbytes())
    public let bytes: [UInt8]

    /// A key a peer presents: 32 bytes that are not a point of small order (such as 32 zero bytes), for which every
    /// shared secret is zero and a sealed box would be readable by anyone.
    ///
    /// - Throws: ``CryptoError`` when the length is wrong or the point has small order.
    public init(_ bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength("an X25519 public key", expected: Self.byteCount, actual: bytes.count)
        }
        guard Self.hasLargeOrder(bytes) else {
            throw .invalidKey("the X25519 public key is a point of small order: nothing can be sealed to it")
        }
        self.bytes = bytes
    }

    /// A key read back from the person's own sealed records, kept as stored: a key pinned before keys were checked is
    /// still shown, and ``seal(_:)`` refuses it.
    package init(storedBytes bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength("an X25519 public key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// Whether a shared secret with `point` can be non-zero: libsodium's scalar multiplication refuses (−1) exactly
    /// the points of small order, whatever the scalar.
    static func hasLargeOrder(_ point: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        var shared = [UInt8](repeating: 0, count: Int(crypto_scalarmult_BYTES))
        defer { wipe(&shared) }
        let scalar = [UInt8](repeating: 0x5A, count: Int(crypto_scalarmult_SCALARBYTES))
        return crypto_scalarmult(&shared, scalar, point) == 0
    }

    /// Anonymously encrypts `message` so only the holder of the matching secret key can open it
    /// (`crypto_box_seal`: an ephemeral key pair, so the sender cannot open it either).
    ///
    /// - Throws: ``CryptoError`` when libsodium refuses the key (a point of small order): nothing was sealed.
    public func seal(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        Sodium.ensureInitialized()
        var sealed = [UInt8](repeating: 0, count: message.count + Int(crypto_box_sealbytes()))
        let status = message.withNonNullPointer { msg, msgCount in
            bytes.withUnsafeBufferPointer { key in
                crypto_box_seal(&sealed, msg, UInt64(msgCount), key.baseAddress!)
            }
        }
        guard status == 0 else {
            throw .invalidKey("libsodium could not seal to this X25519 key (a point of small order): nothing was sent")
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
                Sodium.check(
                    crypto_box_seed_keypair(
                        &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)), "crypto_box_seed_keypair")
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
