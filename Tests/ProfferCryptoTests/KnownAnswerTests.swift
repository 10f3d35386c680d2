import Testing

@testable import ProfferCrypto

extension [UInt8] {
    init(hex: String) {
        let digits = Array(hex.utf8)
        self = stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
    }

    var hex: String {
        map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

func secret(_ bytes: [UInt8]) throws -> SecretBytes {
    var copy = bytes
    return try SecretBytes(wiping: &copy)
}

/// Published test vectors, each also checked against an independent implementation when it was added.
@Suite("Known answers")
struct KnownAnswerTests {
    struct Ed25519Vector: Sendable, CustomTestStringConvertible {
        let seed, publicKey, message, signature: String
        let testDescription: String
    }

    @Test(
        "Ed25519 signatures match RFC 8032 §7.1",
        arguments: [
            Ed25519Vector(
                seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", message: "",
                signature:
                    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
                testDescription: "TEST 1"),
            Ed25519Vector(
                seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", message: "72",
                signature:
                    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
                testDescription: "TEST 2"),
        ])
    func ed25519(_ vector: Ed25519Vector) throws {
        let keys = try SigningKeyPair(seed: try secret([UInt8](hex: vector.seed)))
        #expect(keys.publicKey.bytes.hex == vector.publicKey)
        let message = [UInt8](hex: vector.message)
        #expect(keys.signature(for: message).hex == vector.signature)
        #expect(keys.publicKey.isValidSignature([UInt8](hex: vector.signature), for: message))
    }

    @Test("XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha §A.3.1")
    func xchacha20Poly1305() throws {
        let key = try SymmetricKey(try secret(Array(0x80...0x9F)))
        let nonce = [UInt8](0x40...0x57)
        let associatedData = [UInt8](hex: "50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
                .utf8)
        let sealed = plaintext.withUnsafeBytes { AEAD.seal($0, key: key, associatedData: associatedData, nonce: nonce) }
        let expected =
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
            + "c0875924c1c7987947deafd8780acf49"
        #expect(Array(sealed.dropFirst(AEAD.nonceByteCount)).hex == expected)
        #expect(try AEAD.open(sealed, key: key, associatedData: associatedData) == plaintext)
    }

    @Test("crypto_kdf subkeys match libsodium's test/default/kdf.exp")
    func subkeyDerivation() throws {
        let master = try SymmetricKey(try secret(Array(0..<32)))
        let subkey = KeyDerivation.subkey(of: master, id: 32, context: "KDF test")
        subkey.secret.withUnsafeBytes { bytes in
            #expect(Array(bytes).hex == "154b291f11196737f8b7f491e4ca11764e0227d34f94295408a869f007aa8618")
        }
    }

    @Test("keyed BLAKE2b-256 matches an independent BLAKE2 implementation")
    func keyedHash() throws {
        let key = try SymmetricKey(try secret(Array(0..<32)))
        #expect(
            KeyedHash.hash(Array("abc".utf8), key: key).hex
                == "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f")
    }

    @Test("Argon2id matches the reference implementation (argon2-cffi, t=2, m=8 MiB, p=1)")
    func argon2id() throws {
        let passphrase = try secret(Array("correct horse battery staple".utf8))
        let key = try PasswordHashing.deriveKey(
            passphrase: passphrase, salt: Array(0..<16),
            parameters: Argon2Parameters(operations: 2, memoryBytes: 8 << 20))
        key.secret.withUnsafeBytes { bytes in
            #expect(Array(bytes).hex == "a891dd91a3d123add6ea78ceedcc94a7f1dc1e4ca480e57e6f240a113662ea2f")
        }
    }
}
