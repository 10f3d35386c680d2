import CSodium

/// SHA-256 (libsodium's), as Nostr hashes events and NIP-44 derives keys.
public enum SHA256 {
    public static let byteCount = Int(crypto_hash_sha256_BYTES)

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.ensureInitialized()
        var digest = [UInt8](repeating: 0, count: byteCount)
        bytes.withNonNullPointer { input, count in
            Sodium.check(crypto_hash_sha256(&digest, input, UInt64(count)), "crypto_hash_sha256")
        }
        return digest
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { hash($0) } }
}

/// SHA-256 fed in parts; a copy carries on from where the original stood, so a common prefix is hashed once.
public struct SHA256Hasher: Sendable {
    private var state = crypto_hash_sha256_state()

    public init() {
        Sodium.ensureInitialized()
        Sodium.check(crypto_hash_sha256_init(&state), "crypto_hash_sha256_init")
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        bytes.withNonNullPointer { input, count in
            Sodium.check(crypto_hash_sha256_update(&state, input, UInt64(count)), "crypto_hash_sha256_update")
        }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: SHA256.byteCount)
        Sodium.check(crypto_hash_sha256_final(&state, &digest), "crypto_hash_sha256_final")
        return digest
    }
}

/// HMAC-SHA256 with a key of any length (RFC 2104), incrementally: NIP-44 keys it with a secret and a public salt.
/// The state holds the key's pads; finalizing wipes it.
struct HMACSHA256 {
    private var state: crypto_auth_hmacsha256_state

    /// Keyed in place: the state holds the key's pads, so no copy of it is left behind.
    init(key: UnsafeRawBufferPointer) {
        Sodium.ensureInitialized()
        state = crypto_auth_hmacsha256_state()
        key.withNonNullPointer { key, count in
            Sodium.check(crypto_auth_hmacsha256_init(&state, key, count), "crypto_auth_hmacsha256_init")
        }
    }

    init(key: [UInt8]) {
        Sodium.ensureInitialized()
        state = crypto_auth_hmacsha256_state()
        key.withNonNullPointer { key, count in
            Sodium.check(crypto_auth_hmacsha256_init(&state, key, count), "crypto_auth_hmacsha256_init")
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        bytes.withNonNullPointer { input, count in
            Sodium.check(crypto_auth_hmacsha256_update(&state, input, UInt64(count)), "crypto_auth_hmacsha256_update")
        }
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Writes the 32-byte tag to `output` and wipes the state.
    mutating func finalize(into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= SHA256.byteCount)
        Sodium.check(
            crypto_auth_hmacsha256_final(&state, output.baseAddress!.assumingMemoryBound(to: UInt8.self)),
            "crypto_auth_hmacsha256_final")
        withUnsafeMutableBytes(of: &state) { wipe($0) }
    }

    mutating func finalize() -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: SHA256.byteCount)
        tag.withUnsafeMutableBytes { finalize(into: $0) }
        return tag
    }
}

/// HKDF over HMAC-SHA256 (RFC 5869), which libsodium 1.0.18 lacks.
enum HKDF {
    /// The pseudorandom key of `inputKey` and `salt`, in secure memory.
    static func extract(salt: [UInt8], inputKey: SecretBytes) throws(CryptoError) -> SecretBytes {
        let key = try SecretBytes(zeroedCount: SHA256.byteCount)
        key.withUnsafeMutableBytes { output in
            inputKey.withUnsafeBytes { extract(salt: salt, inputKey: $0, into: output) }
        }
        return key
    }

    /// Writes the pseudorandom key of `inputKey` and `salt` (32 bytes) into `output`.
    static func extract(salt: [UInt8], inputKey: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        var hmac = HMACSHA256(key: salt)
        hmac.update(inputKey)
        hmac.finalize(into: output)
    }

    /// `count` bytes (at most 255 blocks) expanded from the pseudorandom key `key` and `info`, into secure memory.
    static func expand(key: SecretBytes, info: [UInt8], count: Int) throws(CryptoError) -> SecretBytes {
        // Whole blocks are written into the output, which is then at least as long as they are.
        let output = try SecretBytes(zeroedCount: blocks(count) * SHA256.byteCount)
        key.withUnsafeBytes { key in output.withUnsafeMutableBytes { expand(key: key, info: info, into: $0) } }
        return output
    }

    /// The number of 32-byte blocks that hold `count` bytes.
    static func blocks(_ count: Int) -> Int { (count + SHA256.byteCount - 1) / SHA256.byteCount }

    /// Fills `output` (whole 32-byte blocks, at most 255) with what `key` and `info` expand to.
    static func expand(key: UnsafeRawBufferPointer, info: [UInt8], into output: UnsafeMutableRawBufferPointer) {
        let blockCount = output.count / SHA256.byteCount
        precondition(
            output.count % SHA256.byteCount == 0 && blockCount <= 255, "HKDF expands whole blocks, at most 255")
        for block in 0..<blockCount {
            var hmac = HMACSHA256(key: key)
            if block > 0 {
                hmac.update(UnsafeRawBufferPointer(rebasing: output[(block - 1) * 32..<block * 32]))
            }
            hmac.update(info)
            hmac.update([UInt8(block + 1)])
            hmac.finalize(into: UnsafeMutableRawBufferPointer(rebasing: output[block * 32..<(block + 1) * 32]))
        }
    }
}
