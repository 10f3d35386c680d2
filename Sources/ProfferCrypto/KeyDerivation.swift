import CSodium

/// Subkeys from a master key (libsodium `crypto_kdf`, BLAKE2b): one independent key per purpose.
public enum KeyDerivation {
    public static let contextByteCount = Int(crypto_kdf_CONTEXTBYTES)

    /// The subkey numbered `id` for `context`, an 8-character ASCII label naming the purpose (e.g. `"records\0"`).
    public static func subkey(of master: SymmetricKey, id: UInt64, context: StaticString) -> SymmetricKey {
        precondition(context.utf8CodeUnitCount == contextByteCount, "a KDF context is exactly 8 bytes")
        let subkey = try! SecretBytes(zeroedCount: SymmetricKey.byteCount)
        subkey.withUnsafeMutableBytes { output in
            master.secret.withUnsafeBytes { masterBytes in
                context.withUTF8Buffer { label in
                    label.withMemoryRebound(to: CChar.self) { contextBytes in
                        Sodium.check(
                            crypto_kdf_derive_from_key(
                                output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count, id,
                                contextBytes.baseAddress!, masterBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                            "crypto_kdf_derive_from_key")
                    }
                }
            }
        }
        return SymmetricKey(unchecked: subkey)
    }
}

/// Keyed BLAKE2b (libsodium `crypto_generichash`): blind indexes and the audit chain's MACs.
public enum KeyedHash {
    /// A `length`-byte keyed hash of `message` (16 to 64 bytes).
    public static func hash(_ message: [UInt8], key: SymmetricKey, length: Int = 32) -> [UInt8] {
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(length))
        var output = [UInt8](repeating: 0, count: length)
        output.withUnsafeMutableBufferPointer { out in
            message.withNonNullPointer { input, inputCount in
                key.secret.withUnsafeBytes { keyBytes in
                    Sodium.check(
                        crypto_generichash(
                            out.baseAddress!, length, input, UInt64(inputCount),
                            keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count),
                        "crypto_generichash")
                }
            }
        }
        return output
    }

    /// The unkeyed 32-byte BLAKE2b digest of `message`: a fingerprint of public data.
    public static func digest(_ message: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var output = [UInt8](repeating: 0, count: 32)
        message.withNonNullPointer { input, inputCount in
            Sodium.check(crypto_generichash(&output, 32, input, UInt64(inputCount), nil, 0), "crypto_generichash")
        }
        return output
    }

    /// A 32-byte keyed hash of `message`, written straight into secure memory: a seed derived from a secret key
    /// and a public label, such as a pairwise signing identity.
    public static func derivedSecret(_ message: [UInt8], key: SymmetricKey) -> SecretBytes {
        let secret = try! SecretBytes(zeroedCount: 32)
        secret.withUnsafeMutableBytes { out in
            message.withNonNullPointer { input, inputCount in
                key.secret.withUnsafeBytes { keyBytes in
                    Sodium.check(
                        crypto_generichash(
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, input, UInt64(inputCount),
                            keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count),
                        "crypto_generichash")
                }
            }
        }
        return secret
    }
}

extension KeyedHash {
    /// A 32-byte key derived from a secret key and a public label, in secure memory.
    public static func derivedKey(_ label: [UInt8], key: SymmetricKey) -> SymmetricKey {
        SymmetricKey(unchecked: derivedSecret(label, key: key))
    }
}

/// Keyed BLAKE2b over several pieces without joining them first: the vault hashes every record's table, id, version
/// and ciphertext for its commitment, and building one array per record cost more than the hash.
public struct KeyedHasher: ~Copyable {
    // libsodium declares the state 64-byte aligned, which Swift imports only as an opaque pointer.
    private let state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
    private var opaqueState: OpaquePointer { OpaquePointer(state) }
    private let length: Int

    /// Starts a `length`-byte keyed hash (16 to 64 bytes).
    public init(key: SymmetricKey, length: Int = 32) {
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(length))
        Sodium.ensureInitialized()
        self.length = length
        let hashState = opaqueState
        key.secret.withUnsafeBytes { keyBytes in
            Sodium.check(
                crypto_generichash_init(
                    hashState, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count, length),
                "crypto_generichash_init")
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        Sodium.check(
            crypto_generichash_update(opaqueState, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count)),
            "crypto_generichash_update")
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public mutating func update(bigEndian number: UInt64) {
        withUnsafeBytes(of: number.bigEndian) { update($0) }
    }

    /// The hash of everything given so far.
    public consuming func finalize() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        Sodium.check(crypto_generichash_final(opaqueState, &output, length), "crypto_generichash_final")
        return output
    }

    deinit {
        sodium_memzero(state, crypto_generichash_statebytes())
        state.deallocate()
    }
}
