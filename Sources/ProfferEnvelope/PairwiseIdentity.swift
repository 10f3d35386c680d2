import ProfferCrypto
import ProfferWire

/// The signing key a person uses toward one vendor (PROTOCOL.md §3, "pairwise keys"): derived from the vault's
/// identity seed and the (persona, vendor) pair, so the same person shows each vendor a different, stable key, and
/// no vendor can link them by key.
public enum PairwiseIdentity {
    /// The key pair for `persona` toward the vendor known by `vendorLabel` (a random label fixed when the vendor was
    /// added, so renaming a vendor or re-pinning its key keeps the identity).
    public static func keyPair(identitySeed: SymmetricKey, persona: String, vendorLabel: String) -> SigningKeyPair {
        var label = Array("proffer-pairwise/1".utf8)
        for part in [persona, vendorLabel] {
            label.append(0)
            label.append(contentsOf: part.utf8)
        }
        return try! SigningKeyPair(seed: KeyedHash.derivedSecret(label, key: identitySeed))
    }
}

/// The key of a public intent (PROTOCOL.md §6.1): a secp256k1 key pair for that intent alone, derived from the vault's
/// identity seed and the intent's public id, so a restored backup still reads the answers, and two public intents
/// never share a key.
public enum CastKey {
    public static func keyPair(identitySeed: SymmetricKey, publicID: MessageID) -> SchnorrKeyPair {
        // A derived 32-byte string fails to be a secret key with probability about 2^-128; the counter moves on.
        var attempt: UInt8 = 0
        while true {
            var label = Array("proffer-cast/1".utf8)
            label.append(0)
            label.append(contentsOf: publicID.description.utf8)
            label.append(0)
            label.append(attempt)
            if let pair = try? SchnorrKeyPair(secretKey: KeyedHash.derivedSecret(label, key: identitySeed)) {
                return pair
            }
            attempt &+= 1
        }
    }
}
