import Foundation
import GRDB

/// A step that brings a vault written by an earlier version up to this one, run once, in order, with the others
/// still due, in one write transaction when the vault is first opened for writing. The sealed state counts the steps
/// applied (``VaultState/revision``), so a step never runs twice, and a vault that has them all is never touched.
///
/// Adding a record type is one declaration (at the end of ``sealedRecordTypes``) and one step here that makes its
/// table (``createTable(for:)``); a changed lookup is one step that rewrites the records (``update(_:)`` re-indexes).
struct VaultMigration: Sendable {
    /// What the step does, for messages.
    let name: String
    let apply: @Sendable (VaultTransaction) throws -> Void

    /// Every step, in order. Append only: a vault's revision is a count of these.
    static let all: [VaultMigration] = [offersKeptByVendor]

    /// Offers are kept under (vendor, id), not their id alone (PROTOCOL.md §4.1): each offer stored before gets its
    /// vendor's identity label and is indexed under it. The vendor is the one of that name added before the offer
    /// came, else the one its deal names, else a label of its own for a vendor since removed (`removed:NAME`, which no
    /// vendor's label can be: names hold no colon). A deal that names no label gets that of the vendor of its name
    /// added before it, so it finds its offer.
    static let offersKeptByVendor = VaultMigration(name: "offers kept by vendor") { transaction in
        let vendors = try transaction.reader.all(Vendor.self).records.map(\.record)
        for var stored in try transaction.reader.all(StoredDeal.self).records where stored.record.vendorLabel == nil {
            guard
                let vendor = vendors.first(where: {
                    $0.name.lowercased() == stored.record.vendor.lowercased() && $0.addedAt <= stored.record.createdAt
                }), let label = vendor.identityLabel
            else { continue }
            stored.record.vendorLabel = label
            try transaction.update(stored)
        }
        let deals = try transaction.reader.all(StoredDeal.self).records.map(\.record)
        for var stored in try transaction.reader.all(StoredOffer.self).records where stored.record.vendorLabel == nil {
            let offer = stored.record
            let label =
                vendors.first { $0.name.lowercased() == offer.vendor.lowercased() && $0.addedAt <= offer.receivedAt }?
                .keyLabel
                ?? deals.first { $0.offerID == offer.id && $0.vendor == offer.vendor }?.vendorLabel
                ?? "removed:" + offer.vendor.lowercased()
            stored.record = offer.labelled(label)
            try transaction.update(stored)
        }
    }

    /// Makes the table of a record type added since the vault was written, as a new vault has it.
    static func createTable<Record: SealedRecord>(for type: Record.Type, in transaction: VaultTransaction) throws {
        try transaction.db.execute(sql: VaultSchema.createTable(Record.table))
    }
}

extension Vault {
    /// Applies the migration steps this vault has not had yet, all in one transaction; nothing when it has them all,
    /// when it is opened read-only, or when it is damaged (nothing is written to a damaged vault).
    func migrateIfDue(from revision: UInt64) throws {
        guard revision < UInt64(VaultMigration.all.count), !isReadOnly, integrityProblems.isEmpty else { return }
        try write { transaction in
            // Read again in the transaction: another process may have migrated it meanwhile.
            for step in VaultMigration.all.dropFirst(Int(transaction.state.revision)) { try step.apply(transaction) }
            if transaction.state.revision < UInt64(VaultMigration.all.count) {
                transaction.state.revision = UInt64(VaultMigration.all.count)
                transaction.markChanged()
            }
        }
    }
}
