import CSecp256k1
import CSodium

/// libsecp256k1, with one context made once and randomized (blinding the signing computations against side channels).
/// A context is read-only once randomized, so every thread shares it.
enum Secp256k1 {
    nonisolated(unsafe) private static let sharedContext: OpaquePointer = {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            preconditionFailure("secp256k1_context_create failed")
        }
        var seed = SecureRandom.bytes(32)
        defer { wipe(&seed) }
        precondition(secp256k1_context_randomize(context, seed) == 1, "secp256k1_context_randomize failed")
        return context
    }()

    static var context: OpaquePointer { sharedContext }
}

/// A BIP-340 x-only public key on secp256k1 (32 bytes): a Nostr identity. Only the x coordinate of a point on the
/// curve can be one; the constructor refuses anything else.
public struct SchnorrPublicKey: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]
    /// The key as 64 lowercase hex digits, as Nostr writes it: kept, as every event id hashes it.
    public let hex: String
    /// The parsed key, kept so that verifying costs no second parse.
    private let parsed: secp256k1_xonly_pubkey

    public init(_ bytes: [UInt8]) throws(CryptoError) {
        try self.init(bytes, hex: nil)
    }

    /// The key from 64 hex digits, as Nostr writes it (either case).
    public init(hex: String) throws(CryptoError) {
        guard let bytes = Hex.decode(hex), bytes.count == Self.byteCount else {
            throw .invalidInput("a secp256k1 public key is 64 hex digits")
        }
        let lowercase = hex.utf8.allSatisfy { !(0x41...0x46).contains($0) }
        try self.init(bytes, hex: lowercase ? hex : nil)
    }

    private init(_ bytes: [UInt8], hex: String?) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength("a secp256k1 x-only public key", expected: Self.byteCount, actual: bytes.count)
        }
        var parsed = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(Secp256k1.context, &parsed, bytes) == 1 else {
            throw .invalidKey("the public key is not the x coordinate of a point on secp256k1")
        }
        (self.bytes, self.hex, self.parsed) = (bytes, hex ?? Hex.encode(bytes), parsed)
    }
    public var description: String { hex }

    /// Whether `signature` is this key's BIP-340 signature of `message` (of any length).
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == SchnorrKeyPair.signatureByteCount else { return false }
        var key = parsed
        return message.withNonNullPointer { msg, count in
            secp256k1_schnorrsig_verify(Secp256k1.context, signature, msg, count, &key) == 1
        }
    }

    /// The compressed point with an even y coordinate: the one point BIP-340 makes of this x coordinate.
    fileprivate var evenPoint: secp256k1_pubkey {
        var point = secp256k1_pubkey()
        let compressed: [UInt8] = [0x02] + bytes
        // Cannot fail: the constructor checked that x is on the curve, and 0x02 picks its even y.
        precondition(secp256k1_ec_pubkey_parse(Secp256k1.context, &point, compressed, 33) == 1)
        return point
    }

    public static func == (lhs: SchnorrPublicKey, rhs: SchnorrPublicKey) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// A secp256k1 key pair for BIP-340 Schnorr signatures and ECDH, as Nostr uses; the secret lives in secure memory.
public struct SchnorrKeyPair: Sendable, CustomStringConvertible {
    public static let secretByteCount = 32
    public static let signatureByteCount = 64

    public let publicKey: SchnorrPublicKey
    /// libsecp256k1's key pair (the secret key and its point, so that signing does no scalar multiplication to
    /// recompute the public key), followed by the 32-byte secret key itself, which ECDH takes: one secure allocation.
    private let secrets: SecretBytes
    private static let keyPairSize = MemoryLayout<secp256k1_keypair>.size

    /// A fresh random key pair.
    public static func generate() throws(CryptoError) -> SchnorrKeyPair {
        // A random 32-byte string fails to be a secret key with probability about 2^-128.
        while true {
            if let pair = try SchnorrKeyPair(filling: { randombytes_buf($0.baseAddress!, $0.count) }) { return pair }
        }
    }

    /// The key pair of a 32-byte secret key, refused when it is zero or not below the curve's order.
    public init(secretKey: SecretBytes) throws(CryptoError) {
        guard secretKey.count == Self.secretByteCount else {
            throw .invalidLength("a secp256k1 secret key", expected: Self.secretByteCount, actual: secretKey.count)
        }
        let made = try SchnorrKeyPair { destination in
            secretKey.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
        guard let made else { throw .invalidKey("a secp256k1 secret key must be between 1 and the curve order - 1") }
        self = made
    }

    /// The key pair whose secret `fill` writes (32 bytes) straight into secure memory; nil when it is not a valid
    /// secret key.
    private init?(filling fill: (UnsafeMutableRawBufferPointer) -> Void) throws(CryptoError) {
        let secrets = try SecretBytes(zeroedCount: Self.keyPairSize + Self.secretByteCount)
        var xOnly = secp256k1_xonly_pubkey()
        let created = secrets.withUnsafeMutableBytes { buffer in
            let secret = UnsafeMutableRawBufferPointer(rebasing: buffer[Self.keyPairSize...])
            fill(secret)
            let pair = buffer.baseAddress!.assumingMemoryBound(to: secp256k1_keypair.self)
            guard
                secp256k1_keypair_create(
                    Secp256k1.context, pair, secret.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
            else { return false }
            precondition(secp256k1_keypair_xonly_pub(Secp256k1.context, &xOnly, nil, pair) == 1)
            return true
        }
        guard created else { return nil }
        var serialized = [UInt8](repeating: 0, count: SchnorrPublicKey.byteCount)
        precondition(secp256k1_xonly_pubkey_serialize(Secp256k1.context, &serialized, &xOnly) == 1)
        self.publicKey = try SchnorrPublicKey(serialized)
        self.secrets = secrets
    }

    /// Runs `body` with the secret kept readable throughout, so the several operations inside it (the two ECDH of
    /// opening a gift wrap) cost no page protection change each. The key is inaccessible again after.
    public func whileSecretReadable<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try secrets.withUnsafeBytes { (_) throws(E) -> R in try body() }
    }

    /// Runs `body` (a listener's whole life, say) with the secret kept readable (see
    /// ``SecretBytes/whileReadable(_:)``).
    public func keepingSecretReadable<R>(during body: () async throws -> R) async rethrows -> R {
        try await secrets.whileReadable(body)
    }

    /// Runs `body` with libsecp256k1's key pair and the secret key, readable only meanwhile.
    private func withSecrets<R>(
        _ body: (UnsafePointer<secp256k1_keypair>, UnsafePointer<UInt8>) -> R
    ) -> R {
        secrets.withUnsafeBytes { buffer in
            body(
                buffer.baseAddress!.assumingMemoryBound(to: secp256k1_keypair.self),
                buffer.baseAddress!.advanced(by: Self.keyPairSize).assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The BIP-340 signature (64 bytes) of `message`, with fresh auxiliary randomness unless `auxiliaryRandomness`
    /// (32 bytes, for test vectors) is given.
    public func signature(for message: [UInt8], auxiliaryRandomness: [UInt8]? = nil) -> [UInt8] {
        precondition(auxiliaryRandomness == nil || auxiliaryRandomness?.count == 32, "auxiliary randomness is 32 bytes")
        var auxiliary = auxiliaryRandomness ?? SecureRandom.bytes(32)
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        auxiliary.withUnsafeMutableBytes { aux in
            var parameters = secp256k1_schnorrsig_extraparams(
                magic: (0xda, 0x6f, 0xb3, 0x8c), noncefp: nil, ndata: aux.baseAddress)
            message.withNonNullPointer { msg, count in
                withSecrets { pair, _ in
                    precondition(
                        secp256k1_schnorrsig_sign_custom(Secp256k1.context, &signature, msg, count, pair, &parameters)
                            == 1, "secp256k1_schnorrsig_sign_custom failed")
                }
            }
        }
        wipe(&auxiliary)
        return signature
    }

    /// The x coordinate of the ECDH shared point with `other` (unhashed, as NIP-44 needs it), in secure memory.
    public func sharedX(with other: SchnorrPublicKey) throws(CryptoError) -> SecretBytes {
        let shared = try SecretBytes(zeroedCount: 32)
        try shared.withUnsafeMutableBytes { (output) throws(CryptoError) in try writeSharedX(with: other, into: output)
        }
        return shared
    }

    /// Writes the ECDH x coordinate with `other` into `output` (32 bytes), which the caller wipes.
    func writeSharedX(with other: SchnorrPublicKey, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(output.count >= 32)
        var point = other.evenPoint
        let status = withSecrets { _, secret in
            secp256k1_ecdh(
                Secp256k1.context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &point, secret,
                { output, x, _, _ in
                    output!.update(from: x!, count: 32)
                    return 1
                }, nil)
        }
        guard status == 1 else { throw .invalidKey("the ECDH shared point is at infinity") }
    }

    public var description: String { "SchnorrKeyPair(public: \(publicKey.hex), secret redacted)" }
}
