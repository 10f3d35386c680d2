import ProfferCrypto

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
