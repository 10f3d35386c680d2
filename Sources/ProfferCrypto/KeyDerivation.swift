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
                        _ = crypto_kdf_derive_from_key(
                            output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count, id,
                            contextBytes.baseAddress!, masterBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
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
                    _ = crypto_generichash(
                        out.baseAddress!, length, input, UInt64(inputCount),
                        keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count)
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
            _ = crypto_generichash(&output, 32, input, UInt64(inputCount), nil, 0)
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
                    _ = crypto_generichash(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, input, UInt64(inputCount),
                        keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count)
                }
            }
        }
        return secret
    }
}
