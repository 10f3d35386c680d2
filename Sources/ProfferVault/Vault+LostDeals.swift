import Foundation
import ProfferWire

/// A deal the audit chain records a disclosure for, whose own record is gone: left out by a salvage (`export
/// --salvage` skips what does not authenticate) or damaged. The chain is the tamper-evident record, so every view of
/// who holds what counts it, from what the chain says, and says that the deal's record was lost.
public struct LostDeal: Hashable, Sendable {
    /// The accept's id, as the chain names the deal.
    public let id: MessageID
    /// The vendor the data went to, by the name it had then.
    public let vendor: String
    public let persona: String
    /// Every category the chain says was disclosed under the deal.
    public let categories: [DataCategory]
    public let terms: [TermsID]
    /// The first disclosure's time.
    public let disclosedAt: Date
    /// When a forget reached the vendor, and when the vendor confirmed it, as the chain records them.
    public let forgetAskedAt: Date?
    public let forgottenAt: Date?
    /// The identity labels of the vendor and persona, when the chain's entry kept them.
    public let vendorLabel: String?
    public let personaLabel: String?

    /// Whether the vendor may still hold the data: no forget confirmation is in the chain.
    public var vendorMayHoldData: Bool { forgottenAt == nil }

    /// The deals in `entries` with a disclosure and no record among `deals`, oldest first.
    public static func find(in entries: [NumberedAuditEntry], deals: [StoredDeal]) -> [LostDeal] {
        let kept = Set(deals.map(\.id))
        var order: [MessageID] = []
        var found: [MessageID: (first: AuditEntry, categories: [DataCategory], asked: Date?, confirmed: Date?)] = [:]
        for numbered in entries {
            let entry = numbered.entry
            guard let deal = entry.deal, !kept.contains(deal) else { continue }
            switch entry.kind {
            case .disclosure:
                if found[deal] == nil {
                    order.append(deal)
                    found[deal] = (entry, [], nil, nil)
                }
                for category in entry.categories where !found[deal]!.categories.contains(category) {
                    found[deal]!.categories.append(category)
                }
            case .forgetRequest where found[deal] != nil && found[deal]!.asked == nil:
                found[deal]!.asked = entry.at
            case .forgetConfirmed where found[deal] != nil:
                found[deal]!.confirmed = entry.at
            default: break
            }
        }
        return order.map { id in
            let lost = found[id]!
            return LostDeal(
                id: id, vendor: lost.first.vendor ?? "?", persona: lost.first.persona, categories: lost.categories,
                terms: lost.first.terms ?? [], disclosedAt: lost.first.at, forgetAskedAt: lost.asked,
                forgottenAt: lost.confirmed, vendorLabel: lost.first.vendorLabel, personaLabel: lost.first.personaLabel)
        }
    }
}

extension Vault {
    /// The deals the audit chain shows a disclosure for whose records are gone (see ``LostDeal``).
    public func lostDeals() throws -> [LostDeal] {
        try read { reader in try Vault.lostDeals(in: reader) }
    }

    static func lostDeals(in reader: RecordReader) throws -> [LostDeal] {
        let (entries, _) = try Vault.openAuditEntries(reader)
        return LostDeal.find(in: entries, deals: try reader.all(StoredDeal.self).records.map(\.record))
    }

    /// Makes a deal record again from what the audit chain says of a lost deal, so that the person can still ask the
    /// vendor to forget it: the forget needs only the deal's id, its vendor and its persona, which the chain keeps.
    /// The accept and the vendor's answer are gone; the record says so.
    ///
    /// The vendor and persona must be the very ones the deal was made with: found by the identity labels the chain's
    /// entry kept (a persona renamed since is found under its new name), or, for entries from before labels, by name
    /// and only when they existed before the disclosure (a vendor or persona removed and made again since is another
    /// party: signing a forget as it, or sending one to it, would be confirmed with nothing deleted).
    ///
    /// - Parameter id: The deal's id, or the start of it.
    /// - Throws: ``VaultError`` (`noSuchRecord`) when no lost deal has that id; `refused` when its vendor or persona
    ///   is not in the vault as it was.
    public func recoverLostDeal(id: String) throws -> StoredDeal {
        try write { transaction in
            let lost = try Vault.onlyMatch(
                id, in: try Vault.lostDeals(in: transaction.reader), kind: "deal", list: "deal list"
            ) { [$0.id.description] }
            let vendors = try transaction.reader.all(Vendor.self).records.map(\.record)
            let vendor = vendors.first { candidate in
                lost.vendorLabel.map { candidate.keyLabel == $0 }
                    ?? (candidate.name.lowercased() == lost.vendor.lowercased()
                        && candidate.addedAt <= lost.disclosedAt)
            }
            guard let vendor else {
                throw VaultError(
                    .refused(
                        "deal \(lost.id)'s record was lost, and the vendor it was made with (\(lost.vendor)) is no longer "
                            + "in the vault: your key toward it went with it, so no forget from you can reach it. Ask "
                            + "the vendor by other means, and keep this audit log as the record of what it holds"))
            }
            let personas = try transaction.reader.all(Persona.self).records.map(\.record)
            let persona = personas.first { candidate in
                lost.personaLabel.map { candidate.keyLabel == $0 }
                    ?? (candidate.name.lowercased() == lost.persona.lowercased()
                        && candidate.createdAt <= lost.disclosedAt)
            }
            // A persona removed since can still sign: its key is derived from the label the audit entry keeps.
            guard let personaLabel = persona?.keyLabel ?? lost.personaLabel else {
                throw VaultError(
                    .refused(
                        "deal \(lost.id)'s record was lost, and persona \(lost.persona), which made it, is no longer in "
                            + "the vault under that name: no forget can be signed as it"))
            }
            var deal = StoredDeal(
                id: lost.id, vendor: vendor.name, persona: persona?.name ?? lost.persona, offerID: MessageID(bits: 0),
                intentID: MessageID(bits: 0), acceptEnvelope: "", replyEnvelope: nil, disclosed: lost.categories,
                terms: lost.terms, createdAt: lost.disclosedAt, state: lost.forgottenAt == nil ? .confirmed : .forgotten
            )
            (deal.vendorLabel, deal.personaLabel) = (vendor.identityLabel, personaLabel)
            deal.problem = LostDeal.recoveredNote
            deal.forgetAskedAt = lost.forgetAskedAt
            deal.forgetDelivered = lost.forgetAskedAt == nil ? nil : true
            try transaction.insert(deal, duplicateName: deal.id.description)
            return deal
        }
    }
}

extension LostDeal {
    /// What a deal record made again from the chain says of itself.
    public static let recoveredNote =
        "recovered from the audit log after its record was lost: the accept and the vendor's answer are gone"
}
