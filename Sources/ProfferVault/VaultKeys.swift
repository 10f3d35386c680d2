import ProfferCrypto

/// The vault's keys: subkeys of one random master key, unwrapped by the passphrase, so no key serves two purposes;
/// and the identity seed, a random secret stored sealed, from which vendor-facing keys and the rollback anchor's key
/// are derived, so they survive re-keying and backups.
struct VaultKeys: Sendable {
    /// Seals record payloads, the vault state and the identity seed.
    let records: SymmetricKey
    /// Keyed hashes standing in for names in indexed columns ("blind indexes").
    let blindIndex: SymmetricKey
    /// MACs chaining the audit log.
    let audit: SymmetricKey
    /// Keys the per-record hashes summed into the vault-wide commitment.
    let commitment: SymmetricKey
    /// The seed of the per-vendor signing identities; `nil` when the header's copy does not open.
    let identity: SymmetricKey?

    init(master: SymmetricKey, identitySeed: SymmetricKey?) {
        records = KeyDerivation.subkey(of: master, id: 2, context: "records\0")
        blindIndex = KeyDerivation.subkey(of: master, id: 2, context: "blindidx")
        audit = KeyDerivation.subkey(of: master, id: 2, context: "auditlog")
        commitment = KeyDerivation.subkey(of: master, id: 2, context: "commitmt")
        identity = identitySeed
    }

    /// Format 1's keys, used only to read a format-1 vault while migrating it. Its identity seed was a subkey of the
    /// master key; migration keeps those bytes as the random seed, so vendors see the same keys afterwards.
    static func formatOne(master: SymmetricKey) -> (records: SymmetricKey, audit: SymmetricKey, identity: SymmetricKey)
    {
        (
            KeyDerivation.subkey(of: master, id: 1, context: "records\0"),
            KeyDerivation.subkey(of: master, id: 1, context: "auditlog"),
            KeyDerivation.subkey(of: master, id: 1, context: "identity")
        )
    }

    /// Runs `body` with the keys used per record readable throughout: one pair of `mprotect` calls per transaction
    /// instead of one per record. The keys are inaccessible again as soon as `body` returns.
    func whileReadable<T>(_ body: () throws -> T) throws -> T {
        try records.secret.withUnsafeBytes { _ in
            try blindIndex.secret.withUnsafeBytes { _ in
                try audit.secret.withUnsafeBytes { _ in
                    try commitment.secret.withUnsafeBytes { _ in try body() }
                }
            }
        }
    }

    /// The blind index of `value` in `space` (a table or field name), so equal values can be found without storing
    /// them.
    func blindIndex(_ value: String, in space: String) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(space.utf8.count + 1 + value.utf8.count)
        message += space.utf8
        message.append(0)
        message += value.utf8
        return KeyedHash.hash(message, key: blindIndex, length: 16)
    }

    func personaIndex(_ persona: String) -> [UInt8] { blindIndex(persona.lowercased(), in: "persona") }

    func preferenceIndex(persona: String, key: String) -> [UInt8] {
        blindIndex(persona.lowercased() + "\u{0}" + key.lowercased(), in: "preference")
    }

    /// The key that MACs the rollback anchor: from the identity seed, so it stays the same across re-keying.
    var anchor: SymmetricKey? {
        identity.map { KeyedHash.derivedKey(Array("proffer-rollback-anchor".utf8), key: $0) }
    }
}
