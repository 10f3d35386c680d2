import CSodium
import Synchronization

/// XChaCha20-Poly1305 (IETF) authenticated encryption with associated data, with a random 24-byte nonce per message.
///
/// A sealed box is `nonce ‖ ciphertext ‖ tag`. Opening fails unless key, associated data and every byte match.
public enum AEAD {
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// What sealing adds to the plaintext's length.
    public static let overhead = nonceByteCount + tagByteCount

    /// Encrypts and authenticates `plaintext`, binding it to `associatedData`.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, associatedData: [UInt8]) -> [UInt8]
    {
        seal(plaintext, key: key, associatedData: associatedData, nonce: RandomNonces.shared.next())
    }

    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, associatedData: [UInt8]) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, key: key, associatedData: associatedData) }
    }

    /// Sealing with a chosen nonce, for known-answer tests only: a nonce must never repeat under one key.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, associatedData: [UInt8], nonce: [UInt8])
        -> [UInt8]
    {
        var sealed = [UInt8](repeating: 0, count: nonceByteCount + plaintext.count + tagByteCount)
        sealed.replaceSubrange(0..<nonceByteCount, with: nonce)
        sealed.withUnsafeMutableBufferPointer { output in
            key.secret.withUnsafeBytes { keyBytes in
                associatedData.withNonNullPointer { ad, adCount in
                    plaintext.withNonNullPointer { message, messageCount in
                        Sodium.check(
                            crypto_aead_xchacha20poly1305_ietf_encrypt(
                                output.baseAddress! + nonceByteCount, nil, message, UInt64(messageCount), ad,
                                UInt64(adCount), nil, output.baseAddress!,
                                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                            "crypto_aead_xchacha20poly1305_ietf_encrypt")
                    }
                }
            }
        }
        return sealed
    }

    /// Verifies and decrypts a sealed box.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` when anything differs from what was sealed.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, associatedData: [UInt8]) throws(CryptoError)
        -> [UInt8]
    {
        let result = sealed.withUnsafeBytes { bytes in
            Result { () throws(CryptoError) in try open(bytes, key: key, associatedData: associatedData) }
        }
        return try result.get()
    }

    /// Verifies and decrypts a sealed box read in place (say, from a database row), without copying it first.
    public static func open(_ sealed: UnsafeRawBufferPointer, key: SymmetricKey, associatedData: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        guard sealed.count >= overhead, let input = sealed.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .authenticationFailed
        }
        var plaintext = [UInt8](repeating: 0, count: sealed.count - overhead)
        let status = plaintext.withUnsafeMutableBufferPointer { output in
            decrypt(
                UnsafeBufferPointer(start: input, count: sealed.count), key: key, associatedData: associatedData,
                into: output.baseAddress)
        }
        guard status == 0 else { throw .authenticationFailed }
        return plaintext
    }

    /// Verifies and decrypts a sealed box straight into secure memory, for secrets such as a wrapped key.
    public static func openSecret(_ sealed: [UInt8], key: SymmetricKey, associatedData: [UInt8]) throws(CryptoError)
        -> SecretBytes
    {
        guard sealed.count >= overhead else { throw .authenticationFailed }
        let secret = try SecretBytes(zeroedCount: sealed.count - overhead)
        let status = secret.withUnsafeMutableBytes { output in
            sealed.withUnsafeBufferPointer { input in
                decrypt(
                    input, key: key, associatedData: associatedData,
                    into: output.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else { throw .authenticationFailed }
        return secret
    }

    private static func decrypt(
        _ input: UnsafeBufferPointer<UInt8>, key: SymmetricKey, associatedData: [UInt8],
        into output: UnsafeMutablePointer<UInt8>?
    ) -> Int32 {
        var scratch: UInt8 = 0
        return key.secret.withUnsafeBytes { keyBytes in
            associatedData.withNonNullPointer { ad, adCount in
                withUnsafeMutablePointer(to: &scratch) { placeholder in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        output ?? placeholder, nil, nil, input.baseAddress! + nonceByteCount,
                        UInt64(input.count - nonceByteCount), ad, UInt64(adCount), input.baseAddress!,
                        keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
    }
}

/// Random 24-byte nonces, drawn from the system 170 at a time: one `getrandom` call per nonce was a tenth of the cost
/// of sealing a small record. Nonces are public, so holding the next ones in memory reveals nothing; what matters is
/// that they never repeat, which 192 random bits ensure.
final class RandomNonces: Sendable {
    static let shared = RandomNonces()
    private static let batch = 170 * AEAD.nonceByteCount

    private let pool = Mutex<(bytes: [UInt8], offset: Int)>(([], 0))

    func next() -> [UInt8] {
        pool.withLock { pool in
            if pool.offset == pool.bytes.count {
                pool.bytes = SecureRandom.bytes(RandomNonces.batch)
                pool.offset = 0
            }
            defer { pool.offset += AEAD.nonceByteCount }
            return Array(pool.bytes[pool.offset..<pool.offset + AEAD.nonceByteCount])
        }
    }
}
