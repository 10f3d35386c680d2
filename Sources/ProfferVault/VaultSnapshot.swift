import Foundation

/// What the audit views are computed from, read in one transaction, so a write by another process cannot show a
/// deal without its audit entry, or the other way round.
public struct VaultSnapshot: Sendable {
    public let vendors: [Vendor]
    public let offers: [StoredOffer]
    public let intents: [StoredIntent]
    public let deals: [StoredDeal]
    public let entries: [NumberedAuditEntry]
    public let chain: AuditVerification
    /// The whole-vault settings and personal data of every persona, without values unless asked for.
    public let preferences: [Preference]
}

extension Vault {
    /// Every vendor, offer, intent, deal, preference and audit entry that opens, and the chain's verification, from
    /// one read. Records that do not open are left out and named in ``damagedRecords``.
    public func snapshot() throws -> VaultSnapshot {
        let (snapshot, damaged) = try read { reader -> (VaultSnapshot, [DamagedRecord]) in
            let vendors = try reader.all(Vendor.self)
            let offers = try reader.all(StoredOffer.self)
            let intents = try reader.all(StoredIntent.self)
            let deals = try reader.all(StoredDeal.self)
            let preferences = try reader.all(Preference.self)
            let (entries, damagedEntries, chain) = try verifiedAuditEntries(reader)
            let snapshot = VaultSnapshot(
                vendors: vendors.records.map(\.record).sorted { $0.name < $1.name },
                offers: offers.records.map(\.record), intents: intents.records.map(\.record),
                deals: deals.records.map(\.record), entries: entries, chain: chain,
                preferences: preferences.records.map(\.record))
            return (
                snapshot,
                vendors.damaged + offers.damaged + intents.damaged + deals.damaged + preferences.damaged
                    + damagedEntries
            )
        }
        noteDamage(damaged)
        return snapshot
    }
}

extension StoredDeal {
    /// Whether the deal was made with this vendor: a vendor removed and added again under the same name is another
    /// party, known by the identity label fixed when it was added. Deals from before labels trust the name.
    public func wasMade(with vendor: Vendor) -> Bool {
        vendor.name.lowercased() == self.vendor.lowercased()
            && (vendorLabel == nil || vendorLabel == vendor.identityLabel)
    }

    /// Whether the deal was made by this persona: one removed before, whose name this persona took, is another party.
    /// Deals from before labels trust the name.
    public func wasMade(by persona: Persona) -> Bool {
        self.persona == persona.name && (personaLabel ?? persona.keyLabel) == persona.keyLabel
    }
}
