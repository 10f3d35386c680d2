import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

extension Vault {
    /// The seed from which the person's pairwise signing identities are derived (one per persona and vendor).
    ///
    /// - Throws: ``VaultError`` when the header's copy of the seed does not authenticate.
    package func identitySeed() throws -> SymmetricKey {
        guard let seed = keys.identity else { throw VaultError(.damaged(integrityProblems)) }
        return seed
    }

    // MARK: - Offers

    /// Stores the offers of one answer (a vendor's reply to an intent or a counter), in one transaction: all of them,
    /// or none when one is refused.
    ///
    /// An offer id stays bound to the vendor, intent and persona it first came with (PROTOCOL.md §4.1): an offer
    /// identical to the one kept under its (vendor, id) is a duplicate and skipped; one that differs, or answers another
    /// intent, is refused, never merged and never replacing the offer it names.
    ///
    /// - Returns: How many were new.
    /// - Throws: ``VaultError`` (`refused`) naming the offer whose id is taken.
    @discardableResult
    public func addOffers(_ offers: [StoredOffer]) throws -> Int {
        let outcome = try addOfferAnswers([offers])[0]
        if let refusal = outcome.refusal { throw VaultError(.refused(refusal)) }
        return outcome.added
    }

    /// What became of one answer's offers (``addOfferAnswers(_:)``).
    public struct OfferAnswerStorage: Sendable {
        /// How many offers were new and stored.
        public let added: Int
        /// Why the answer was refused (nothing of it stored): an offer reused an id the vendor gave another offer.
        public let refusal: String?
    }

    /// Stores several answers' offers in one transaction, each answer whole or not at all, so publishing to many
    /// vendors costs one commit and one vendor's refused answer costs the others nothing.
    public func addOfferAnswers(_ answers: [[StoredOffer]]) throws -> [OfferAnswerStorage] {
        try write { transaction in
            var outcomes: [OfferAnswerStorage] = []
            for offers in answers {
                var fresh: [StoredOffer] = []
                var refusal: String?
                for unlabelled in offers {
                    // Kept under its vendor as it is now, when the caller did not say which one that is.
                    let offer =
                        unlabelled.vendorLabel != nil
                        ? unlabelled
                        : unlabelled.labelled(
                            try transaction.reader.require(Vendor.named(unlabelled.vendor), listedBy: "vendor list")
                                .record.keyLabel)
                    if fresh.contains(where: { $0.key == offer.key }) {
                        refusal = "sent offer \(offer.id) twice in one answer"
                        break
                    }
                    guard let kept = try transaction.reader.one(StoredOffer.withKey(offer.key))?.record else {
                        fresh.append(offer)
                        continue
                    }
                    if kept.canonical == offer.canonical && kept.intentID == offer.intentID { continue }
                    refusal =
                        "sent offer \(offer.id), an id it already gave "
                        + (kept.intentID == offer.intentID
                            ? "another offer (\(kept.canonical))" : "an offer for another of your intents")
                        + ": an offer id names one offer only, so the answer was refused"
                    break
                }
                guard refusal == nil else {
                    outcomes.append(OfferAnswerStorage(added: 0, refusal: refusal))
                    continue
                }
                for offer in fresh { try transaction.insert(offer, duplicateName: offer.name) }
                outcomes.append(OfferAnswerStorage(added: fresh.count, refusal: nil))
            }
            return outcomes
        }
    }

    /// Every offer that opens, oldest first, or those answering one intent.
    public func offers(intentID: String? = nil) throws -> [StoredOffer] {
        guard let intentID else { return try listAll(StoredOffer.self) }
        guard let id = MessageID(intentID) else { return [] }
        return try listAll(StoredOffer.self, StoredOffer.answering(id))
    }

    /// The offer kept under `key`.
    public func offer(_ key: OfferKey) throws -> StoredOffer {
        try read { reader in try fetchOffer(key, in: reader).record }
    }

    /// The offer named `name` (`vendor/id`), with id `name`, or whose name or id starts with `name`. Offers of the
    /// vendors in the vault come first: an offer of a vendor since removed, whose name another vendor now has, is
    /// found only when no offer of a present vendor matches.
    public func offer(named name: String) throws -> StoredOffer {
        let (offers, vendors) = try read { reader in
            (try reader.all(StoredOffer.self), try reader.all(Vendor.self).records.map(\.record))
        }
        noteDamage(offers.damaged)
        let all = offers.records.map(\.record)
        let present = all.filter { offer in vendors.contains { offer.isFrom($0) } }
        let names: (StoredOffer) -> [String] = { [$0.name, $0.id.description] }
        do {
            return try Vault.onlyMatch(name, in: present, kind: "offer", list: "offer list --all", names: names)
        } catch let error as VaultError where error.code == .noSuchRecord {
            return try Vault.onlyMatch(name, in: all, kind: "offer", list: "offer list --all", names: names)
        }
    }

    /// Moves an offer to `state`, or, with `onlyFrom`, only when it is in one of those states now: a check and a
    /// change in one transaction, so two processes cannot both act on one open offer.
    ///
    /// - Returns: Whether the offer was moved.
    @discardableResult
    public func setOfferState(_ key: OfferKey, to state: OfferState, onlyFrom current: Set<OfferState>? = nil) throws
        -> Bool
    {
        try write { transaction in
            var stored = try fetchOffer(key, in: transaction.reader)
            if let current, !current.contains(stored.record.state) { return false }
            stored.record.state = state
            try transaction.update(stored)
            return true
        }
    }

    private func fetchOffer(_ key: OfferKey, in reader: RecordReader) throws -> Stored<StoredOffer> {
        try reader.require(StoredOffer.withKey(key), listedBy: "offer list --all")
    }

    // MARK: - Deals

    /// Writes a new deal as ``DealState/sending`` together with the audit entry of what it discloses, in one
    /// transaction, before anything leaves: a process killed mid-send leaves a deal that says so, never an audit entry
    /// naming a deal that does not exist.
    ///
    /// The checks that make the deal allowed run again in the same transaction, so two processes accepting at once
    /// cannot both pass them: the offer is open, no other deal (not declined) exists for the same offer, and, unless
    /// `allowAnother`, none for the same intent.
    public func beginDeal(_ newDeal: StoredDeal, allowAnother: Bool = false) throws {
        try write { transaction in
            var deal = newDeal
            if deal.vendorLabel == nil {
                // Made with the vendor of that name as it is now, when the caller did not say which one.
                deal.vendorLabel =
                    try transaction.reader.require(Vendor.named(deal.vendor), listedBy: "vendor list").record
                    .identityLabel
            }
            let offer = try fetchOffer(deal.offerKey, in: transaction.reader).record
            guard offer.state == .open else {
                throw VaultError(.refused("offer \(offer.name) is \(offer.state.rawValue): nothing was sent"))
            }
            let others = try transaction.reader.all(StoredDeal.self).records.map(\.record).filter {
                $0.intentID == deal.intentID && $0.state != .declined
            }
            if let same = others.first(where: { $0.offerID == deal.offerID }) {
                throw VaultError(
                    .refused(
                        "offer \(offer.name) already has deal \(same.id) (\(same.state.rawValue)): nothing was sent; "
                            + "see `proffer deal show \(same.id)`"))
            }
            if let other = others.first, !allowAnother {
                throw VaultError(
                    .refused(
                        "intent \(deal.intentID) already has deal \(other.id) with \(other.vendor) "
                            + "(\(other.state.rawValue)): nothing was sent. To make another deal for it, pass --another"
                    ))
            }
            try transaction.insert(deal, duplicateName: deal.id.description)
            if !deal.disclosed.isEmpty {
                try transaction.appendAudit(AuditEntry.disclosure(of: deal, at: deal.createdAt))
            }
        }
    }

    /// Changes a stored deal in one transaction: `change` sees the deal as stored now (another process may have
    /// moved it since it was read) and returns the audit entries to append with the change.
    @discardableResult
    public func updateDeal(id: MessageID, _ change: (inout StoredDeal) throws -> [AuditEntry]) throws -> StoredDeal {
        try write { transaction in
            var stored = try transaction.reader.require(StoredDeal.withID(id), listedBy: "deal list")
            let audit = try change(&stored.record)
            try transaction.update(stored)
            for entry in audit { try transaction.appendAudit(entry) }
            return stored.record
        }
    }

    /// Records that what a deal bought arrived on `date`, so `proffer due` stops asking and the vendor's record
    /// counts whether its eta was met.
    ///
    /// - Throws: ``VaultError`` when no such deal exists, the vendor never confirmed it, or the date is before the
    ///   deal or in the future.
    @discardableResult
    public func markReceived(dealID: String, on date: Date, now: Date = Date()) throws -> StoredDeal {
        let deal = try deal(id: dealID)
        guard deal.state == .confirmed || deal.state == .forgetPending || deal.state == .forgotten else {
            throw VaultError(
                .refused(
                    "deal \(deal.id) is \(deal.state.rawValue): the vendor never confirmed it, so nothing is due to "
                        + "arrive (see `proffer deal show \(deal.id)`)"))
        }
        guard date <= now else {
            throw VaultError(.invalidInput("the date is in the future (days are UTC): give the day it arrived"))
        }
        guard date.dayText >= deal.createdAt.dayText else {
            throw VaultError(
                .invalidInput("deal \(deal.id) was made on \(deal.createdAt.dayText): it cannot have arrived before"))
        }
        return try updateDeal(id: deal.id) { stored in
            stored.receivedAt = date
            return []
        }
    }

    /// Every deal that opens, oldest first.
    public func deals() throws -> [StoredDeal] { try listAll(StoredDeal.self) }

    /// The deal whose accept id is `id`, or whose id starts with `id`.
    public func deal(id: String) throws -> StoredDeal {
        let exact = try read { reader in
            try MessageID(id).flatMap { try reader.one(StoredDeal.withID($0)) }?.record
        }
        if let exact { return exact }
        return try Vault.onlyMatch(id, in: try deals(), kind: "deal", list: "deal list") { [$0.id.description] }
    }

    // MARK: - Replies already seen

    /// Records replies by (sender key, nonce) so the same reply is never accepted twice, even across runs.
    ///
    /// - Parameters:
    ///   - replies: Each reply's sender key, nonce, and the time after which a copy would be stale anyway.
    ///   - now: Entries older than this are dropped first.
    /// - Returns: For each reply, whether it is new.
    public func admitReplies(_ replies: [(sender: [UInt8], nonce: [UInt8], freshUntil: Int64)], now: Int64) throws
        -> [Bool]
    {
        try write { transaction in
            let (seen, damaged) = try transaction.reader.all(SeenReply.self)
            guard damaged.isEmpty else { throw VaultError(.damaged(damaged.map(\.description))) }
            for stale in seen where stale.record.freshUntil < now { try transaction.delete(stale) }
            var admitted: [Bool] = []
            for reply in replies {
                let token = transaction.keys.blindIndex(
                    Hex.encode(reply.sender) + ":" + Hex.encode(reply.nonce), in: "reply")
                if try transaction.reader.one(SeenReply.withToken(token)) != nil {
                    admitted.append(false)
                } else {
                    try transaction.insert(SeenReply(token: token, freshUntil: reply.freshUntil), duplicateName: "")
                    admitted.append(true)
                }
            }
            return admitted
        }
    }
}
