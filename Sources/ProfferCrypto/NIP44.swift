import CSodium

/// NIP-44 version 2: the encryption of Nostr's private messages, between two secp256k1 keys. Built on libsodium's
/// SHA-256, HMAC-SHA256 and ChaCha20 (IETF, 12-byte nonce, counter 0), with HKDF over HMAC.
public enum NIP44 {
    public static let version: UInt8 = 2
    /// A plaintext is 1 to 65,535 bytes.
    public static let plaintextLengths = 1...65535
    public static let nonceByteCount = 32
    public static let macByteCount = 32
    /// The base64 payload's length bounds, and its decoded length's: from the smallest padded message (32 bytes) to
    /// the largest (65,536).
    static let payloadCharacters = 132...87472
    static let decodedBytes = 99...65603
    private static let salt = Array("nip44-v2".utf8)

    /// The key two parties share for all their messages: HKDF-extract of their ECDH x coordinate, salted
    /// `nip44-v2`. Either side computes the same key.
    public struct ConversationKey: Sendable, CustomStringConvertible {
        let secret: SecretBytes

        public init(_ mine: SchnorrKeyPair, _ theirs: SchnorrPublicKey) throws(CryptoError) {
            secret = try HKDF.extract(salt: NIP44.salt, inputKey: try mine.sharedX(with: theirs))
        }

        /// A conversation key given as its 32 bytes (test vectors).
        public init(secret: SecretBytes) throws(CryptoError) {
            guard secret.count == 32 else {
                throw .invalidLength("a NIP-44 conversation key", expected: 32, actual: secret.count)
            }
            self.secret = secret
        }

        public var description: String { "NIP44.ConversationKey(redacted)" }
    }

    /// The keys of one message, from the conversation key and the message's nonce. Given away, they open exactly
    /// that message and nothing else of the conversation: Proffer keeps them as evidence of a deal (spec §6.3).
    public struct MessageKeys: Sendable, CustomStringConvertible {
        public static let byteCount = 76
        /// chacha_key (32 bytes), chacha_nonce (12), hmac_key (32), in that order, as HKDF-expand gives them.
        let secret: SecretBytes

        public init(_ conversationKey: ConversationKey, nonce: [UInt8]) throws(CryptoError) {
            try NIP44.checkNonce(nonce)
            secret = try HKDF.expand(key: conversationKey.secret, info: nonce, count: Self.byteCount)
        }

        /// Message keys given as their 76 bytes, as kept in evidence.
        public init(secret: SecretBytes) throws(CryptoError) {
            guard secret.count >= Self.byteCount else {
                throw .invalidLength("NIP-44 message keys", expected: Self.byteCount, actual: secret.count)
            }
            self.secret = secret
        }

        /// The 76 bytes, to keep as evidence or to give to whoever checks a deal. Never to be logged.
        public func exportedBytes() -> [UInt8] { secret.withUnsafeBytes { Array($0.prefix(Self.byteCount)) } }

        public var description: String { "NIP44.MessageKeys(redacted)" }
    }

    /// The length a plaintext of `length` bytes is padded to: at least 32, then in chunks that grow with the length,
    /// so that the ciphertext tells little of the plaintext's exact size.
    public static func paddedLength(_ length: Int) -> Int {
        guard length > 32 else { return 32 }
        let nextPower = 1 << (Int.bitWidth - (length - 1).leadingZeroBitCount)
        let chunk = nextPower <= 256 ? 32 : nextPower / 8
        return chunk * ((length - 1) / chunk + 1)
    }

    /// The base64 payload of `plaintext` (1 to 65,535 bytes) encrypted with `key`, under a fresh random nonce unless
    /// `nonce` (32 bytes, for test vectors) is given.
    public static func encrypt(_ plaintext: [UInt8], with key: ConversationKey, nonce: [UInt8]? = nil)
        throws(CryptoError) -> String
    {
        let nonce = nonce ?? SecureRandom.bytes(nonceByteCount)
        try checkNonce(nonce)
        return try key.secret.withUnsafeBytes { (conversation) throws(CryptoError) in
            try withMessageKeys(conversation: conversation, nonce: nonce) { (keys) throws(CryptoError) in
                try seal(plaintext, nonce: nonce, keys: keys)
            }
        }
    }

    /// The payload of `plaintext` encrypted with the message keys of `nonce`.
    public static func encrypt(_ plaintext: [UInt8], with keys: MessageKeys, nonce: [UInt8]) throws(CryptoError)
        -> String
    {
        try checkNonce(nonce)
        return try keys.secret.withUnsafeBytes { (keys) throws(CryptoError) in
            try seal(plaintext, nonce: nonce, keys: keys)
        }
    }

    /// The payload of `plaintext` from `mine` to `theirs`: the shared point, the conversation key and the message
    /// keys are made in memory wiped as soon as the payload is written (``MessageKeys`` makes them again, kept, for
    /// evidence).
    public static func encrypt(_ plaintext: [UInt8], from mine: SchnorrKeyPair, to theirs: SchnorrPublicKey)
        throws(CryptoError) -> String
    {
        let nonce = SecureRandom.bytes(nonceByteCount)
        return try withMessageKeys(mine, theirs, nonce: nonce) { (keys) throws(CryptoError) in
            try seal(plaintext, nonce: nonce, keys: keys)
        }
    }

    /// The plaintext of a payload from `key`'s other party. The MAC is checked, in constant time, before anything is
    /// decrypted; a payload of another version, a bad length, a bad MAC or bad padding is refused.
    public static func decrypt(_ payload: String, with key: ConversationKey) throws(CryptoError)
        -> [UInt8]
    {
        let bytes = try decode(payload)
        return try key.secret.withUnsafeBytes { (conversation) throws(CryptoError) in
            try withMessageKeys(conversation: conversation, nonce: Array(bytes[1..<33])) {
                (keys) throws(CryptoError) in try open(bytes, keys: keys)
            }
        }
    }

    /// The plaintext of a payload, opened with its own message keys (evidence of one message).
    public static func decrypt(_ payload: String, with keys: MessageKeys) throws(CryptoError) -> [UInt8] {
        let bytes = try decode(payload)
        return try keys.secret.withUnsafeBytes { (keys) throws(CryptoError) in try open(bytes, keys: keys) }
    }

    /// The plaintext of a payload from `theirs` to `mine`, as ``encrypt(_:from:to:)`` makes it: the intermediate
    /// keys are wiped at once.
    public static func decrypt(_ payload: String, to mine: SchnorrKeyPair, from theirs: SchnorrPublicKey)
        throws(CryptoError) -> [UInt8]
    {
        let bytes = try decode(payload)
        return try withMessageKeys(mine, theirs, nonce: Array(bytes[1..<33])) { (keys) throws(CryptoError) in
            try open(bytes, keys: keys)
        }
    }

    /// The nonce a payload was made with, which names its message keys; nil when it is no version-2 payload.
    public static func nonce(of payload: String) -> [UInt8]? {
        (try? decode(payload)).map { Array($0[1..<33]) }
    }

    static func checkNonce(_ nonce: [UInt8]) throws(CryptoError) {
        guard nonce.count == nonceByteCount else {
            throw .invalidLength("a NIP-44 nonce", expected: nonceByteCount, actual: nonce.count)
        }
    }

    // MARK: Keys that live for one message

    /// Runs `body` with the message keys of `nonce` under `conversation`, in memory wiped when it returns.
    private static func withMessageKeys<R>(
        conversation: UnsafeRawBufferPointer, nonce: [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R
    ) throws(CryptoError) -> R {
        try withWipedScratch(byteCount: 3 * SHA256.byteCount) { (keys) throws(CryptoError) in
            HKDF.expand(key: conversation, info: nonce, into: keys)
            return try body(UnsafeRawBufferPointer(keys))
        }
    }

    /// Runs `body` with the message keys of `nonce` between `mine` and `theirs`: shared point, conversation key and
    /// message keys in one scratch area, wiped when it returns.
    private static func withMessageKeys<R>(
        _ mine: SchnorrKeyPair, _ theirs: SchnorrPublicKey, nonce: [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R
    ) throws(CryptoError) -> R {
        try checkNonce(nonce)
        return try withWipedScratch(byteCount: 5 * SHA256.byteCount) { (scratch) throws(CryptoError) in
            let shared = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<32])
            let conversation = UnsafeMutableRawBufferPointer(rebasing: scratch[32..<64])
            let keys = UnsafeMutableRawBufferPointer(rebasing: scratch[64..<160])
            try mine.writeSharedX(with: theirs, into: shared)
            HKDF.extract(salt: salt, inputKey: UnsafeRawBufferPointer(shared), into: conversation)
            HKDF.expand(key: UnsafeRawBufferPointer(conversation), info: nonce, into: keys)
            return try body(UnsafeRawBufferPointer(keys))
        }
    }

    /// Runs `body` with `byteCount` bytes of scratch memory, wiped when it returns however it returns: keys that live
    /// for one message are kept as libsodium keeps its own intermediate keys, briefly and then erased, rather than
    /// in a guarded allocation of their own (a secure allocation and its page protections cost more than the
    /// cipher).
    private static func withWipedScratch<R>(
        byteCount: Int, _ body: (UnsafeMutableRawBufferPointer) throws(CryptoError) -> R
    ) throws(CryptoError) -> R {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16)
        defer {
            wipe(scratch)
            scratch.deallocate()
        }
        return try body(scratch)
    }

    // MARK: The cipher

    /// version, nonce, the padded plaintext with its 2-byte length (encrypted in place), MAC; in base64.
    private static func seal(_ plaintext: [UInt8], nonce: [UInt8], keys: UnsafeRawBufferPointer) throws(CryptoError)
        -> String
    {
        guard plaintextLengths.contains(plaintext.count) else {
            throw .invalidInput("a NIP-44 plaintext is 1 to 65535 bytes, not \(plaintext.count)")
        }
        let padded = paddedLength(plaintext.count)
        var payload = [UInt8](repeating: 0, count: 1 + nonceByteCount + 2 + padded + macByteCount)
        payload[0] = version
        payload.replaceSubrange(1..<33, with: nonce)
        payload[33] = UInt8(plaintext.count >> 8)
        payload[34] = UInt8(plaintext.count & 0xFF)
        payload.replaceSubrange(35..<35 + plaintext.count, with: plaintext)
        let macStart = payload.count - macByteCount
        let (chachaKey, chachaNonce, hmacKey) = split(keys)
        payload.withUnsafeMutableBytes { payload in
            let body = payload.baseAddress!.assumingMemoryBound(to: UInt8.self) + 33
            Sodium.check(
                crypto_stream_chacha20_ietf_xor(body, body, UInt64(macStart - 33), chachaNonce, chachaKey),
                "crypto_stream_chacha20_ietf_xor")
            var hmac = HMACSHA256(key: hmacKey)
            hmac.update(UnsafeRawBufferPointer(rebasing: payload[1..<macStart]))
            hmac.finalize(into: UnsafeMutableRawBufferPointer(rebasing: payload[macStart...]))
        }
        return Base64.encode(payload)
    }

    /// chacha_key, chacha_nonce and hmac_key within message keys.
    private static func split(_ keys: UnsafeRawBufferPointer)
        -> (chachaKey: UnsafePointer<UInt8>, chachaNonce: UnsafePointer<UInt8>, hmacKey: UnsafeRawBufferPointer)
    {
        let base = keys.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return (base, base + 32, UnsafeRawBufferPointer(rebasing: keys[44..<76]))
    }

    private static func decode(_ payload: String) throws(CryptoError) -> [UInt8] {
        if payload.utf8.first == UInt8(ascii: "#") {
            throw .invalidInput("the NIP-44 payload is of a version this does not read")
        }
        guard payloadCharacters.contains(payload.utf8.count) else {
            throw .invalidInput("a NIP-44 payload is 132 to 87472 characters, not \(payload.utf8.count)")
        }
        guard let bytes = Base64.decode(payload), decodedBytes.contains(bytes.count) else {
            throw .invalidInput("the NIP-44 payload is not valid base64 of 99 to 65603 bytes")
        }
        guard bytes[0] == version else { throw .invalidInput("the NIP-44 payload is of version \(bytes[0]), not 2") }
        return bytes
    }

    /// Checks the MAC (in constant time), then decrypts and unpads.
    private static func open(_ bytes: [UInt8], keys: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        let macStart = bytes.count - macByteCount
        var padded = [UInt8](repeating: 0, count: macStart - 33)
        let (chachaKey, chachaNonce, hmacKey) = split(keys)
        let authentic = bytes.withUnsafeBytes { bytes in
            var hmac = HMACSHA256(key: hmacKey)
            hmac.update(UnsafeRawBufferPointer(rebasing: bytes[1..<macStart]))
            let expected = hmac.finalize()
            let given = UnsafeRawBufferPointer(rebasing: bytes[macStart...])
            guard crypto_verify_32(expected, given.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0 else {
                return false
            }
            let body = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + 33
            Sodium.check(
                crypto_stream_chacha20_ietf_xor(&padded, body, UInt64(padded.count), chachaNonce, chachaKey),
                "crypto_stream_chacha20_ietf_xor")
            return true
        }
        guard authentic else { throw .authenticationFailed }
        let length = Int(padded[0]) << 8 | Int(padded[1])
        guard plaintextLengths.contains(length), padded.count == 2 + paddedLength(length) else {
            throw .invalidInput("the NIP-44 plaintext's padding is invalid")
        }
        return Array(padded[2..<2 + length])
    }
}

/// Standard base64 with padding (RFC 4648 §4), libsodium's.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Sodium.ensureInitialized()
        let variant = sodium_base64_VARIANT_ORIGINAL
        var output = [CChar](repeating: 0, count: sodium_base64_encoded_len(bytes.count, variant))
        bytes.withNonNullPointer { input, count in
            _ = sodium_bin2base64(&output, output.count, input, count, variant)
        }
        return output.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The bytes of padded standard base64, or nil when it is anything else (whitespace included).
    public static func decode(_ text: String) -> [UInt8]? {
        Sodium.ensureInitialized()
        guard !text.isEmpty else { return [] }
        var text = text
        return text.withUTF8 { input -> [UInt8]? in
            var output = [UInt8](repeating: 0, count: input.count / 4 * 3 + 3)
            var length = 0
            var end: UnsafePointer<CChar>?
            let status = input.withMemoryRebound(to: CChar.self) { chars in
                sodium_base642bin(
                    &output, output.count, chars.baseAddress, chars.count, nil, &length, &end,
                    sodium_base64_VARIANT_ORIGINAL)
            }
            guard status == 0, let end, end == input.withMemoryRebound(to: CChar.self, { $0.baseAddress! + $0.count })
            else { return nil }
            output.removeLast(output.count - length)
            return output
        }
    }
}
