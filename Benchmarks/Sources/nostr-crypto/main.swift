// Nostr's cryptography in ProfferCrypto and ProfferNostr, each operation per second on one core, beside its ceiling:
// the same libsecp256k1 and libsodium calls on the same bytes with nothing of Proffer's around them, measured in the
// same run. Run: cd Benchmarks && swift run -c release nostr-crypto
import CRawCrypto
import Foundation
import ProfferCrypto
import ProfferNostr

/// Runs `body` repeatedly for about `seconds`, five times, and returns the median rate in operations per second.
func rate(_ seconds: Double = 0.4, _ body: () -> Void) -> Double {
    var rates: [Double] = []
    for _ in 0..<5 {
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed: UInt64 = 0
        while elapsed < UInt64(seconds * 1e9) {
            for _ in 0..<16 { body() }
            count += 16
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        }
        rates.append(Double(count) / (Double(elapsed) / 1e9))
    }
    return rates.sorted()[2]
}

// MARK: The ceiling: libsecp256k1 and libsodium called directly

/// One libsecp256k1 context, as ProfferCrypto keeps one.
enum Raw {
    nonisolated(unsafe) static let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE))!
}
_ = sodium_init()

struct RawKey {
    var secret: [UInt8]
    var keypair = secp256k1_keypair()
    var xonly = secp256k1_xonly_pubkey()
    var xonlyBytes = [UInt8](repeating: 0, count: 32)

    init() {
        repeat {
            secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        } while secp256k1_ec_seckey_verify(
            Raw.context, secret) != 1
        _ = secp256k1_keypair_create(Raw.context, &keypair, secret)
        _ = secp256k1_keypair_xonly_pub(Raw.context, &xonly, nil, &keypair)
        _ = secp256k1_xonly_pubkey_serialize(Raw.context, &xonlyBytes, &xonly)
    }
}

func rawSign(_ key: inout RawKey, _ message: [UInt8]) -> [UInt8] {
    var signature = [UInt8](repeating: 0, count: 64)
    let aux = (0..<32).map { _ in UInt8(0) }
    _ = secp256k1_schnorrsig_sign32(Raw.context, &signature, message, &key.keypair, aux)
    return signature
}

func rawVerify(_ publicKey: [UInt8], _ signature: [UInt8], _ message: [UInt8]) -> Bool {
    var xonly = secp256k1_xonly_pubkey()
    guard secp256k1_xonly_pubkey_parse(Raw.context, &xonly, publicKey) == 1 else { return false }
    return secp256k1_schnorrsig_verify(Raw.context, signature, message, message.count, &xonly) == 1
}

func rawECDH(_ secret: [UInt8], _ publicKey: [UInt8]) -> [UInt8] {
    var point = secp256k1_pubkey()
    _ = secp256k1_ec_pubkey_parse(Raw.context, &point, [0x02] + publicKey, 33)
    var x = [UInt8](repeating: 0, count: 32)
    _ = secp256k1_ecdh(
        Raw.context, &x, &point, secret,
        { output, x, _, _ in
            output!.update(from: x!, count: 32)
            return 1
        }, nil)
    return x
}

func rawHMAC(_ key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
    var state = crypto_auth_hmacsha256_state()
    _ = crypto_auth_hmacsha256_init(&state, key, key.count)
    for part in parts { _ = crypto_auth_hmacsha256_update(&state, part, UInt64(part.count)) }
    var tag = [UInt8](repeating: 0, count: 32)
    _ = crypto_auth_hmacsha256_final(&state, &tag)
    return tag
}

func rawSHA256(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    _ = crypto_hash_sha256(&digest, bytes, UInt64(bytes.count))
    return digest
}

func rawConversationKey(_ secret: [UInt8], _ publicKey: [UInt8]) -> [UInt8] {
    rawHMAC(Array("nip44-v2".utf8), rawECDH(secret, publicKey))
}

func rawMessageKeys(_ conversation: [UInt8], _ nonce: [UInt8]) -> [UInt8] {
    let first = rawHMAC(conversation, nonce, [1])
    let second = rawHMAC(conversation, first, nonce, [2])
    let third = rawHMAC(conversation, second, nonce, [3])
    return first + second + third
}

func rawBase64Decode(_ text: String) -> [UInt8] {
    let bytes = Array(text.utf8)
    var output = [UInt8](repeating: 0, count: bytes.count)
    var length = 0
    bytes.withUnsafeBufferPointer { input in
        input.withMemoryRebound(to: CChar.self) {
            _ = sodium_base642bin(
                &output, output.count, $0.baseAddress, $0.count, nil, &length, nil, sodium_base64_VARIANT_ORIGINAL)
        }
    }
    return Array(output.prefix(length))
}

func rawBase64Encode(_ bytes: [UInt8]) -> String {
    var output = [CChar](repeating: 0, count: sodium_base64_encoded_len(bytes.count, sodium_base64_VARIANT_ORIGINAL))
    _ = sodium_bin2base64(&output, output.count, bytes, bytes.count, sodium_base64_VARIANT_ORIGINAL)
    return String(cString: output)
}

/// NIP-44 decryption as the raw calls do it: base64, message keys, MAC, ChaCha20.
func rawNIP44Decrypt(_ payload: String, _ conversation: [UInt8]) -> [UInt8] {
    let bytes = rawBase64Decode(payload)
    let nonce = Array(bytes[1..<33])
    let keys = rawMessageKeys(conversation, nonce)
    let mac = rawHMAC(Array(keys[44..<76]), nonce, Array(bytes[33..<(bytes.count - 32)]))
    precondition(sodium_memcmp(mac, Array(bytes.suffix(32)), 32) == 0)
    var plain = [UInt8](repeating: 0, count: bytes.count - 65)
    let cipher = Array(bytes[33..<(bytes.count - 32)])
    _ = crypto_stream_chacha20_ietf_xor(&plain, cipher, UInt64(cipher.count), Array(keys[32..<44]), Array(keys[0..<32]))
    return plain
}

func rawNIP44Encrypt(_ padded: [UInt8], _ conversation: [UInt8]) -> String {
    var nonce = [UInt8](repeating: 0, count: 32)
    randombytes_buf(&nonce, 32)
    let keys = rawMessageKeys(conversation, nonce)
    var cipher = [UInt8](repeating: 0, count: padded.count)
    _ = crypto_stream_chacha20_ietf_xor(
        &cipher, padded, UInt64(padded.count), Array(keys[32..<44]), Array(keys[0..<32]))
    let mac = rawHMAC(Array(keys[44..<76]), nonce, cipher)
    return rawBase64Encode([2] + nonce + cipher + mac)
}

// MARK: The same work through Proffer

let sender = try SchnorrKeyPair.generate()
let recipient = try SchnorrKeyPair.generate()
let message = SHA256.hash(Array("an event id".utf8))
let signature = sender.signature(for: message)
let conversation = try NIP44.ConversationKey(sender, recipient.publicKey)
let plaintext = [UInt8](repeating: 0x61, count: 300)
let payload = try NIP44.encrypt(plaintext, with: conversation)
let offerText =
    "#offer id:v9a1b2c3 re:k7f3q2ab price:1149EUR item:\"X-T5 body, silver, with the 18-55 kit lens\" eta:3d "
    + "exp:2026-12-30 terms:sd-base needs:name,postal note:\"boxed, two year warranty, delivery by courier\""
let now = Int64(Date().timeIntervalSince1970)
let rumor = GiftWrap.rumor(offerText, from: sender.publicKey, to: recipient.publicKey, createdAt: now)
let wrapped = try GiftWrap.wrap(rumor, from: sender, to: recipient.publicKey, expiration: now + 86400 * 31, now: now)
let wrapJSON = NostrJSON.object(wrapped.wrap)

// The raw side works on the same keys and bytes.
var rawSender = RawKey()
var rawRecipient = RawKey()
let rawConversation = rawConversationKey(rawSender.secret, rawRecipient.xonlyBytes)
var padded = [UInt8](repeating: 0, count: 2 + NIP44.paddedLength(300))
padded[0] = 1
padded[1] = 44
let rawPayload = rawNIP44Encrypt(padded, rawConversation)
let sealJSON = NostrJSON.object(wrapped.seal)
let rumorJSON = NostrJSON.object(wrapped.rumor)
let idBytes = (wrap: wrapJSON.count / 2, seal: sealJSON.count / 2, rumor: rumorJSON.count)
let wrapPayload = wrapped.wrap.content
let wrapperRaw = RawKey()
let rawWrapPayload = rawNIP44Encrypt(
    sealJSON + [UInt8](repeating: 0, count: NIP44.paddedLength(sealJSON.count) + 2 - sealJSON.count),
    rawConversationKey(wrapperRaw.secret, rawRecipient.xonlyBytes))
let rawSealPayload = rawNIP44Encrypt(
    rumorJSON + [UInt8](repeating: 0, count: NIP44.paddedLength(rumorJSON.count) + 2 - rumorJSON.count),
    rawConversation)
let rawWrapSignature = rawSign(&rawSender, rawSHA256(Array(repeating: 1, count: idBytes.wrap)))
let rawSignature = rawSign(&rawSender, message)
let rawSealSignature = rawSign(&rawSender, rawSHA256(Array(repeating: 2, count: idBytes.seal)))

struct Row {
    let name: String
    let ours: Double
    let ceiling: Double
}

var rows: [Row] = []
FileHandle.standardError.write(Data("measuring (about 30 s)…\n".utf8))

rows.append(
    Row(
        name: "Schnorr sign", ours: rate { _ = sender.signature(for: message) },
        ceiling: rate { _ = rawSign(&rawSender, message) }))
rows.append(
    Row(
        name: "Schnorr verify", ours: rate { _ = sender.publicKey.isValidSignature(signature, for: message) },
        ceiling: rate { precondition(rawVerify(rawSender.xonlyBytes, rawSignature, message)) }))
rows.append(
    Row(
        name: "NIP-44 encrypt, 300 bytes", ours: rate { _ = try! NIP44.encrypt(plaintext, with: conversation) },
        ceiling: rate { _ = rawNIP44Encrypt(padded, rawConversation) }))
rows.append(
    Row(
        name: "NIP-44 decrypt, 300 bytes", ours: rate { _ = try! NIP44.decrypt(payload, with: conversation) },
        ceiling: rate { _ = rawNIP44Decrypt(rawPayload, rawConversation) }))
rows.append(
    Row(
        name: "gift wrap made (seal and wrap)",
        ours: rate {
            _ = try! GiftWrap.wrap(rumor, from: sender, to: recipient.publicKey, expiration: now + 86400 * 31, now: now)
        },
        ceiling: rate {
            // Rumor id; seal: conversation key, encryption, id, signature; wrap: a fresh key, the same again.
            _ = rawSHA256(Array(repeating: 3, count: idBytes.rumor))
            _ = rawNIP44Encrypt(
                rumorJSON + [UInt8](repeating: 0, count: NIP44.paddedLength(rumorJSON.count) + 2 - rumorJSON.count),
                rawConversationKey(rawSender.secret, rawRecipient.xonlyBytes))
            _ = rawSign(&rawSender, rawSHA256(Array(repeating: 2, count: idBytes.seal)))
            var wrapper = RawKey()
            _ = rawNIP44Encrypt(
                sealJSON + [UInt8](repeating: 0, count: NIP44.paddedLength(sealJSON.count) + 2 - sealJSON.count),
                rawConversationKey(wrapper.secret, rawRecipient.xonlyBytes))
            _ = rawSign(&wrapper, rawSHA256(Array(repeating: 1, count: idBytes.wrap)))
        }))
rows.append(
    Row(
        name: "gift wrap opened (read, checked, opened)",
        // As a listener opens them: its key kept readable while it reads.
        ours: recipient.whileSecretReadable {
            rate {
                let wrap = try! NostrJSON.event(from: wrapJSON)
                _ = try! GiftWrap.open(wrap, with: recipient, now: now)
            }
        },
        ceiling: rate {
            // The wrap's id and signature; its payload; the seal's id and signature; its payload; the rumor's id.
            _ = rawSHA256(Array(repeating: 1, count: idBytes.wrap))
            _ = rawVerify(rawSender.xonlyBytes, rawWrapSignature, rawSHA256(Array(repeating: 1, count: idBytes.wrap)))
            let seal = rawNIP44Decrypt(rawWrapPayload, rawConversationKey(rawRecipient.secret, wrapperRaw.xonlyBytes))
            _ = rawSHA256(Array(repeating: 2, count: idBytes.seal))
            _ = rawVerify(rawSender.xonlyBytes, rawSealSignature, rawSHA256(Array(repeating: 2, count: idBytes.seal)))
            _ = rawNIP44Decrypt(rawSealPayload, rawConversationKey(rawRecipient.secret, rawSender.xonlyBytes))
            _ = rawSHA256(Array(seal.prefix(idBytes.rumor)))
        }))

func format(_ value: Double) -> String { String(format: "%9.0f", value) }
print("operation                                   ours/s  ceiling/s  ceiling÷ours")
for row in rows {
    let name = row.name.padding(toLength: 40, withPad: " ", startingAt: 0)
    print("\(name) \(format(row.ours))  \(format(row.ceiling))  \(String(format: "%11.2f", row.ceiling / row.ours))")
}
