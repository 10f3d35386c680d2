import CSodium

/// A keyed permutation of the numbers below 2^40, the size of a message id: a balanced Feistel network of eight
/// rounds over two 20-bit halves, each round's function keyed SipHash-2-4 (libsodium `crypto_shorthash`).
///
/// A store that numbers what it keeps in order, so that new rows append to the end of one B-tree, gives each row the
/// id `encrypt(number)` and finds the row again from the id with `decrypt`. Ids look random to whoever lacks the key,
/// so they tell no one how many numbers came before.
///
/// The key is ordinary memory, not ``SecretBytes``: it is consulted sixteen times per intent answered, and it guards
/// no person's data, only a count the vendor keeps, in the same file as the numbers it hides.
public struct FortyBitCipher: Sendable {
    public static let keyByteCount = Int(crypto_shorthash_KEYBYTES)
    /// The numbers permuted: `0..<limit`.
    public static let limit: UInt64 = 1 << 40
    private static let halfMask: UInt64 = (1 << 20) - 1
    private static let rounds: UInt8 = 8
    private let key: [UInt8]

    /// `nil` unless `key` is ``keyByteCount`` bytes.
    public init?(key: [UInt8]) {
        guard key.count == FortyBitCipher.keyByteCount else { return nil }
        Sodium.ensureInitialized()
        self.key = key
    }

    /// A fresh random key.
    public static func randomKey() -> [UInt8] {
        Sodium.ensureInitialized()
        var key = [UInt8](repeating: 0, count: keyByteCount)
        randombytes_buf(&key, keyByteCount)
        return key
    }

    /// The image of `number`, which must be below ``limit``.
    public func encrypt(_ number: UInt64) -> UInt64 {
        precondition(number < FortyBitCipher.limit, "FortyBitCipher permutes numbers below 2^40")
        var left = number >> 20
        var right = number & FortyBitCipher.halfMask
        for round in 0..<FortyBitCipher.rounds {
            (left, right) = (right, left ^ function(round, right))
        }
        return left << 20 | right
    }

    /// The number whose image is `value`, which must be below ``limit``.
    public func decrypt(_ value: UInt64) -> UInt64 {
        precondition(value < FortyBitCipher.limit, "FortyBitCipher permutes numbers below 2^40")
        var left = value >> 20
        var right = value & FortyBitCipher.halfMask
        for round in (0..<FortyBitCipher.rounds).reversed() {
            (left, right) = (right ^ function(round, left), left)
        }
        return left << 20 | right
    }

    private func function(_ round: UInt8, _ half: UInt64) -> UInt64 {
        // The round number and the 20-bit half, big-endian, in four bytes on the stack.
        var input = (UInt32(round) << 24 | UInt32(truncatingIfNeeded: half)).bigEndian
        var output: UInt64 = 0
        withUnsafeBytes(of: &input) { inputBytes in
            withUnsafeMutableBytes(of: &output) { outputBytes in
                Sodium.check(
                    crypto_shorthash(
                        outputBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        inputBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), 4, key), "crypto_shorthash")
            }
        }
        return UInt64(littleEndian: output) & FortyBitCipher.halfMask
    }
}
