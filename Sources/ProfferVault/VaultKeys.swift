import ProfferCrypto

/// The vault's keys: one random master key, unwrapped by the passphrase, and a subkey per purpose derived from it, so
/// no key serves two purposes.
struct VaultKeys: Sendable {
    /// Seals record payloads.
    let records: SymmetricKey
    /// Keyed hashes standing in for names in indexed columns ("blind indexes").
    let blindIndex: SymmetricKey
    /// MACs chaining the audit log.
    let audit: SymmetricKey
    /// The seed from which the per-vendor signing identities are derived.
    let identity: SymmetricKey

    init(master: SymmetricKey) {
        records = KeyDerivation.subkey(of: master, id: 1, context: "records\0")
        blindIndex = KeyDerivation.subkey(of: master, id: 1, context: "blindidx")
        audit = KeyDerivation.subkey(of: master, id: 1, context: "auditlog")
        identity = KeyDerivation.subkey(of: master, id: 1, context: "identity")
    }

    /// Runs `body` with the record, blind-index and audit keys readable throughout: one pair of `mprotect` calls per
    /// transaction instead of one per record. The keys are inaccessible again as soon as `body` returns.
    func whileReadable<T>(_ body: () throws -> T) throws -> T {
        try records.secret.withUnsafeBytes { _ in
            try blindIndex.secret.withUnsafeBytes { _ in
                try audit.secret.withUnsafeBytes { _ in try body() }
            }
        }
    }

    /// The blind index of `value` in `space` (a table or field name), so equal values can be found without storing
    /// them.
    func blindIndex(_ value: String, in space: String) -> [UInt8] {
        KeyedHash.hash(Array((space + "\u{0}" + value).utf8), key: blindIndex, length: 16)
    }
}

/// What a sealed payload is bound to: moving it to another row, table or format version makes it fail to open.
func associatedData(table: String, recordID: [UInt8], formatVersion: Int) -> [UInt8] {
    var data = Array(table.utf8)
    data.append(0)
    data.append(contentsOf: recordID)
    data.append(contentsOf: withUnsafeBytes(of: UInt32(formatVersion).bigEndian, Array.init))
    return data
}
