import Testing

@testable import ProfferCrypto

@Suite("Misuse is refused")
struct MisuseTests {
    let key = try! SymmetricKey.random()
    let message = Array("my postal address".utf8)
    let associatedData = Array("preferences|p1|1".utf8)

    @Test("AEAD refuses a wrong key, altered nonce, ciphertext or tag, and other associated data")
    func aeadMisuse() throws {
        let sealed = AEAD.seal(message, key: key, associatedData: associatedData)
        #expect(try AEAD.open(sealed, key: key, associatedData: associatedData) == message)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(sealed, key: try SymmetricKey.random(), associatedData: associatedData)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(sealed, key: key, associatedData: Array("preferences|p2|1".utf8))
        }
        for position in [0, AEAD.nonceByteCount, sealed.count - 1] {
            var altered = sealed
            altered[position] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) {
                try AEAD.open(altered, key: key, associatedData: associatedData)
            }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(Array(sealed.prefix(10)), key: key, associatedData: associatedData)
        }
    }

    @Test("two seals of one message differ (fresh nonces)")
    func freshNonces() {
        #expect(
            AEAD.seal(message, key: key, associatedData: associatedData)
                != AEAD.seal(message, key: key, associatedData: associatedData))
    }

    @Test("subkeys for different purposes differ, and the same purpose gives the same key")
    func subkeysAreIndependent() {
        let records = KeyDerivation.subkey(of: key, id: 1, context: "records\0")
        let audit = KeyDerivation.subkey(of: key, id: 1, context: "auditlog")
        let recordsAgain = KeyDerivation.subkey(of: key, id: 1, context: "records\0")
        #expect(KeyedHash.hash(message, key: records) != KeyedHash.hash(message, key: audit))
        #expect(KeyedHash.hash(message, key: records) == KeyedHash.hash(message, key: recordsAgain))
    }

    @Test("a signature fails for another message, another key, or a flipped bit")
    func signatureMisuse() throws {
        let keys = try SigningKeyPair.generate()
        let signature = keys.signature(for: message)
        #expect(keys.publicKey.isValidSignature(signature, for: message))
        #expect(!keys.publicKey.isValidSignature(signature, for: message + [0]))
        #expect(!(try SigningKeyPair.generate()).publicKey.isValidSignature(signature, for: message))
        var flipped = signature
        flipped[10] ^= 0x80
        #expect(!keys.publicKey.isValidSignature(flipped, for: message))
        #expect(!keys.publicKey.isValidSignature(Array(signature.prefix(63)), for: message))
    }

    @Test("a sealed box opens only for its recipient")
    func sealedBoxMisuse() throws {
        let recipient = try BoxKeyPair.generate()
        let sealed = try recipient.publicKey.seal(message)
        #expect(try recipient.open(sealed) == message)
        #expect(throws: CryptoError.authenticationFailed) { try BoxKeyPair.generate().open(sealed) }
        var altered = sealed
        altered[altered.count / 2] ^= 1
        #expect(throws: CryptoError.authenticationFailed) { try recipient.open(altered) }
    }

    @Test("a secret stream refuses altered, reordered, foreign and truncated chunks")
    func secretStreamMisuse() throws {
        var writer = SecretStreamWriter(key: key)
        let chunks = [writer.push(Array("one".utf8)), writer.push(Array("two".utf8)), writer.push([], isFinal: true)]

        var reader = try SecretStreamReader(key: key, header: writer.header)
        #expect(try chunks.map { try reader.pull($0) } == [Array("one".utf8), Array("two".utf8), []])
        let finished = reader.isFinished
        #expect(finished)

        var reordered = try SecretStreamReader(key: key, header: writer.header)
        #expect(throws: CryptoError.authenticationFailed) { try reordered.pull(chunks[1]) }

        var wrongKey = try SecretStreamReader(key: try SymmetricKey.random(), header: writer.header)
        #expect(throws: CryptoError.authenticationFailed) { try wrongKey.pull(chunks[0]) }

        var altered = chunks[0]
        altered[altered.count - 1] ^= 1
        var tampered = try SecretStreamReader(key: key, header: writer.header)
        #expect(throws: CryptoError.authenticationFailed) { try tampered.pull(altered) }

        var truncated = try SecretStreamReader(key: key, header: writer.header)
        _ = try truncated.pull(chunks[0])
        _ = try truncated.pull(chunks[1])
        let truncatedFinished = truncated.isFinished
        #expect(!truncatedFinished, "a reader sees that a stream without its final chunk is incomplete")
    }

    @Test("padding hides the exact length and round-trips")
    func padding() throws {
        for length in [0, 1, 15, 16, 17, 500] {
            let bytes = [UInt8](repeating: 7, count: length)
            let padded = Padding.pad(bytes, blockSize: 64)
            #expect(padded.count % 64 == 0 && padded.count > length)
            #expect(try Padding.unpad(padded, blockSize: 64) == bytes)
        }
        #expect(throws: CryptoError.self) { try Padding.unpad([UInt8](repeating: 0, count: 64), blockSize: 64) }
    }

    @Test("secret material never shows in descriptions")
    func secretsAreRedacted() throws {
        let secretBytes = try SecretBytes.random(count: 32)
        let texts = [
            "\(secretBytes)", String(reflecting: secretBytes), "\(try SymmetricKey.random())",
            "\(try SigningKeyPair.generate())", "\(try BoxKeyPair.generate())",
        ]
        for text in texts { #expect(text.contains("redacted")) }
        secretBytes.withUnsafeBytes { bytes in
            let hex = Array(bytes).hex
            #expect(!texts.contains { $0.contains(hex) })
        }
    }

    @Test("moving bytes into secure memory wipes the source")
    func wipingInit() throws {
        var bytes: [UInt8] = Array(repeating: 0xAB, count: 32)
        let secret = try SecretBytes(wiping: &bytes)
        #expect(bytes.allSatisfy { $0 == 0 })
        secret.withUnsafeBytes { #expect($0.allSatisfy { $0 == 0xAB }) }
    }

    /// The X25519 points of small order (little-endian u-coordinates): 0, 1, the two of order 8, and p − 1, p, p + 1.
    static let smallOrderPoints = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ].map { text in
        stride(from: 0, to: text.count, by: 2).map { offset -> UInt8 in
            let start = text.index(text.startIndex, offsetBy: offset)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    @Test("a box key of small order is refused where it is read, and sealing to one throws instead of sending zeros")
    func smallOrderBoxKeys() throws {
        for point in Self.smallOrderPoints {
            #expect(throws: CryptoError.self) { try BoxPublicKey(point) }
            let pinned = try BoxPublicKey(storedBytes: point)
            #expect(throws: CryptoError.self) { try pinned.seal(self.message) }
        }
        let real = try BoxKeyPair.generate()
        #expect(try BoxPublicKey(real.publicKey.bytes) == real.publicKey)
        #expect(try real.open(try real.publicKey.seal(message)) == message)
    }

    @Test("an Ed25519 key that is not a valid point is told apart, and verifies nothing")
    func invalidSigningKeys() throws {
        let zero = try SigningPublicKey([UInt8](repeating: 0, count: 32))
        #expect(!zero.isValidPoint)
        #expect(!zero.isValidSignature([UInt8](repeating: 0, count: 64), for: message))
        let identity = try SigningPublicKey([1] + [UInt8](repeating: 0, count: 31))
        #expect(!identity.isValidPoint)
        #expect(try SigningKeyPair.generate().publicKey.isValidPoint)
    }
}
