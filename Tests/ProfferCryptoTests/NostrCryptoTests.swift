import Foundation
import PropertyBased
import Testing

@testable import ProfferCrypto

/// The files of published vectors kept beside these tests, read as they were published.
enum VectorFile {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/\(name)")
        return Array(try Data(contentsOf: url))
    }
}

@Suite("secp256k1 and NIP-44, against the standards' own vectors")
struct NostrCryptoTests {
    /// One row of BIP-340's test-vectors.csv.
    struct SchnorrVector: CustomTestStringConvertible {
        let index: String
        let secretKey, publicKey, auxiliaryRandomness, message, signature: [UInt8]
        let verifies: Bool
        let comment: String
        var testDescription: String { "vector \(index)" + (comment.isEmpty ? "" : ": \(comment)") }
    }

    static func schnorrVectors(_ file: String) throws -> [SchnorrVector] {
        let text = String(decoding: try VectorFile.bytes(file), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).dropFirst().map { line in
            let columns = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return SchnorrVector(
                index: columns[0], secretKey: Hex.decode(columns[1])!, publicKey: Hex.decode(columns[2])!,
                auxiliaryRandomness: Hex.decode(columns[3])!, message: Hex.decode(columns[4])!,
                signature: Hex.decode(columns[5])!, verifies: columns[6] == "TRUE",
                comment: columns[7...].joined(separator: ","))
        }
    }

    @Test("BIP-340: every signing and verification vector of test-vectors.csv, messages of any length included")
    func schnorrVectors() throws {
        let vectors =
            try Self.schnorrVectors("bip340-test-vectors.csv")
            + Self.schnorrVectors("bip340-variable-length-vectors.csv")
        #expect(
            Hex.encode(SHA256.hash(try VectorFile.bytes("bip340-test-vectors.csv")))
                == "a17adbd2c19032ddc12e63b5f35d5224a9295e9f82397d2632a301696b3cac9f")
        #expect(vectors.count == 19)
        #expect(Set(vectors.map(\.message.count)) == [0, 1, 17, 32, 100])
        for vector in vectors {
            if !vector.secretKey.isEmpty {
                let pair = try SchnorrKeyPair(secretKey: secret(vector.secretKey))
                #expect(pair.publicKey.bytes == vector.publicKey, "\(vector.testDescription)")
                let signature = pair.signature(for: vector.message, auxiliaryRandomness: vector.auxiliaryRandomness)
                #expect(signature == vector.signature, "\(vector.testDescription)")
            }
            // A key that is not on the curve is refused when it is read, so it verifies nothing.
            let verifies = (try? SchnorrPublicKey(vector.publicKey))?.isValidSignature(
                vector.signature, for: vector.message)
            #expect((verifies ?? false) == vector.verifies, "\(vector.testDescription)")
        }
    }

    @Test("Schnorr: fresh signatures verify, differ each time (auxiliary randomness), and fail once changed")
    func schnorrRoundTrip() throws {
        let pair = try SchnorrKeyPair.generate()
        let message = Array("an event id".utf8)
        let first = pair.signature(for: message)
        let second = pair.signature(for: message)
        #expect(first != second)
        #expect(pair.publicKey.isValidSignature(first, for: message))
        #expect(pair.publicKey.isValidSignature(second, for: message))
        var forged = first
        forged[10] ^= 1
        #expect(!pair.publicKey.isValidSignature(forged, for: message))
        #expect(!pair.publicKey.isValidSignature(first, for: message + [0]))
        #expect(!pair.publicKey.isValidSignature(Array(first.prefix(63)), for: message))
        #expect("\(pair)".contains("secret redacted"))
    }

    @Test("secret keys of zero or not below the curve order are refused; keys parse from hex")
    func keyLimits() throws {
        #expect(throws: CryptoError.self) { try SchnorrKeyPair(secretKey: secret([UInt8](repeating: 0, count: 32))) }
        #expect(throws: CryptoError.self) { try SchnorrKeyPair(secretKey: secret([UInt8](repeating: 0xFF, count: 32))) }
        #expect(throws: CryptoError.self) { try SchnorrKeyPair(secretKey: secret([1, 2, 3])) }
        let pair = try SchnorrKeyPair.generate()
        #expect(try SchnorrPublicKey(hex: pair.publicKey.hex.uppercased()) == pair.publicKey)
        #expect(throws: CryptoError.self) { try SchnorrPublicKey(hex: "zz" + pair.publicKey.hex.dropFirst(2)) }
    }

    @Test("ECDH: both sides get the same x coordinate")
    func sharedSecret() throws {
        let alice = try SchnorrKeyPair.generate()
        let bob = try SchnorrKeyPair.generate()
        #expect(try alice.sharedX(with: bob.publicKey).hasSameBytes(as: try bob.sharedX(with: alice.publicKey)))
    }

    @Test("HKDF-SHA256 matches RFC 5869 test case 1")
    func hkdf() throws {
        let inputKey = try secret([UInt8](repeating: 0x0b, count: 22))
        let key = try HKDF.extract(salt: Array(0...12), inputKey: inputKey)
        #expect(
            key.withUnsafeBytes { Hex.encode($0) }
                == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        let output = try HKDF.expand(key: key, info: Array(0xf0...0xf9), count: 42)
        #expect(
            output.withUnsafeBytes { Hex.encode($0.prefix(42)) }
                == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    // MARK: NIP-44

    static let nip44VectorsHash = "269ed0f69e4c192512cc779e78c555090cebc7c785b609e338a62afc3ce25040"

    static func nip44Vectors() throws -> [String: Any] {
        let bytes = try VectorFile.bytes("nip44.vectors.json")
        #expect(Hex.encode(SHA256.hash(bytes)) == nip44VectorsHash, "nip44.vectors.json is not the published file")
        let root = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
        return root["v2"] as! [String: Any]
    }

    @Test("NIP-44 v2: the vector file is the published one, and every valid and invalid vector passes")
    func nip44Vectors() throws {
        let v2 = try Self.nip44Vectors()
        let valid = v2["valid"] as! [String: Any]
        let invalid = v2["invalid"] as! [String: Any]
        var checked = 0

        for vector in valid["get_conversation_key"] as! [[String: String]] {
            let key = try conversationKey(vector["sec1"]!, vector["pub2"]!)
            #expect(key.secret.withUnsafeBytes { Hex.encode($0) } == vector["conversation_key"], "\(vector)")
            checked += 1
        }

        let messageKeys = valid["get_message_keys"] as! [String: Any]
        let base = try NIP44.ConversationKey(secret: secret(Hex.decode(messageKeys["conversation_key"] as! String)!))
        for vector in messageKeys["keys"] as! [[String: String]] {
            let keys = try NIP44.MessageKeys(base, nonce: Hex.decode(vector["nonce"]!)!).exportedBytes()
            #expect(Hex.encode(keys[0..<32]) == vector["chacha_key"], "\(vector)")
            #expect(Hex.encode(keys[32..<44]) == vector["chacha_nonce"], "\(vector)")
            #expect(Hex.encode(keys[44..<76]) == vector["hmac_key"], "\(vector)")
            checked += 1
        }

        for pair in valid["calc_padded_len"] as! [[Int]] {
            #expect(NIP44.paddedLength(pair[0]) == pair[1], "\(pair)")
            checked += 1
        }

        for vector in valid["encrypt_decrypt"] as! [[String: String]] {
            let sender = try SchnorrKeyPair(secretKey: secret(Hex.decode(vector["sec1"]!)!))
            let recipient = try SchnorrKeyPair(secretKey: secret(Hex.decode(vector["sec2"]!)!))
            let key = try NIP44.ConversationKey(sender, recipient.publicKey)
            #expect(key.secret.withUnsafeBytes { Hex.encode($0) } == vector["conversation_key"], "\(vector)")
            let plaintext = Array(vector["plaintext"]!.utf8)
            let payload = try NIP44.encrypt(plaintext, with: key, nonce: Hex.decode(vector["nonce"]!)!)
            #expect(payload == vector["payload"], "\(vector)")
            // The other side opens it with the key it computes from its own secret.
            let theirs = try NIP44.ConversationKey(recipient, sender.publicKey)
            #expect(try NIP44.decrypt(vector["payload"]!, with: theirs) == plaintext, "\(vector)")
            checked += 1
        }

        for vector in valid["encrypt_decrypt_long_msg"] as! [[String: Any]] {
            let key = try NIP44.ConversationKey(secret: secret(Hex.decode(vector["conversation_key"] as! String)!))
            let pattern = Array((vector["pattern"] as! String).utf8)
            let plaintext = Array(repeating: pattern, count: vector["repeat"] as! Int).flatMap { $0 }
            #expect(Hex.encode(SHA256.hash(plaintext)) == vector["plaintext_sha256"] as? String)
            let payload = try NIP44.encrypt(plaintext, with: key, nonce: Hex.decode(vector["nonce"] as! String)!)
            #expect(Hex.encode(SHA256.hash(Array(payload.utf8))) == vector["payload_sha256"] as? String)
            #expect(try NIP44.decrypt(payload, with: key) == plaintext)
            checked += 1
        }

        let anyKey = try NIP44.ConversationKey(secret: secret([UInt8](repeating: 7, count: 32)))
        for length in invalid["encrypt_msg_lengths"] as! [Int] {
            #expect(throws: CryptoError.self, "length \(length)") {
                try NIP44.encrypt([UInt8](repeating: 0x61, count: length), with: anyKey)
            }
            checked += 1
        }

        for vector in invalid["get_conversation_key"] as! [[String: String]] {
            #expect(throws: CryptoError.self, "\(vector["note"] ?? "")") {
                try conversationKey(vector["sec1"]!, vector["pub2"]!)
            }
            checked += 1
        }

        for vector in invalid["decrypt"] as! [[String: String]] {
            let key = try NIP44.ConversationKey(secret: secret(Hex.decode(vector["conversation_key"]!)!))
            #expect(throws: CryptoError.self, "\(vector["note"] ?? "")") {
                try NIP44.decrypt(vector["payload"]!, with: key)
            }
            checked += 1
        }
        #expect(checked > 100)
    }

    @Test("NIP-44: random messages of 1 to 65,535 bytes round-trip, and any flipped bit is refused")
    func nip44RoundTrip() async throws {
        let alice = try SchnorrKeyPair.generate()
        let bob = try SchnorrKeyPair.generate()
        let sending = try NIP44.ConversationKey(alice, bob.publicKey)
        let receiving = try NIP44.ConversationKey(bob, alice.publicKey)
        // The property library makes (and on failure shrinks and replays) the messages and which bit to flip.
        let byte = Gen.uint8(in: 0...255)
        let plaintexts = Gen.frequency(
            (3, byte.array(of: 1...300)), (2, byte.array(of: 1...65535)), (1, byte.array(of: 65535)),
            (1, byte.array(of: 1)))
        await propertyCheck(count: 200, input: plaintexts, Gen.int(in: 0...Int.max), Gen.uint8(in: 0...7)) {
            plaintext, position, bit in
            let payload = try NIP44.encrypt(plaintext, with: sending)
            #expect(try NIP44.decrypt(payload, with: receiving) == plaintext)
            var bytes = Base64.decode(payload)!
            bytes[1 + position % (bytes.count - 1)] ^= 1 << bit
            #expect(throws: CryptoError.self) { try NIP44.decrypt(Base64.encode(bytes), with: receiving) }
        }
    }

    @Test("NIP-44: a payload opens with its own message keys (evidence), and with nothing else of the conversation")
    func messageKeysOpenOneMessage() throws {
        let alice = try SchnorrKeyPair.generate()
        let bob = try SchnorrKeyPair.generate()
        let key = try NIP44.ConversationKey(alice, bob.publicKey)
        let first = try NIP44.encrypt(Array("offer".utf8), with: key)
        let second = try NIP44.encrypt(Array("accept".utf8), with: key)
        let keys = try NIP44.MessageKeys(key, nonce: NIP44.nonce(of: first)!)
        let given = try NIP44.MessageKeys(secret: secret(keys.exportedBytes()))
        #expect(try NIP44.decrypt(first, with: given) == Array("offer".utf8))
        #expect(throws: CryptoError.authenticationFailed) { try NIP44.decrypt(second, with: given) }
        #expect(!"\(key) \(keys)".contains(Hex.encode(keys.exportedBytes())))
    }

    private func conversationKey(_ secretHex: String, _ publicHex: String) throws -> NIP44.ConversationKey {
        let mine = try SchnorrKeyPair(secretKey: secret(Hex.decode(secretHex)!))
        return try NIP44.ConversationKey(mine, try SchnorrPublicKey(hex: publicHex))
    }
}
