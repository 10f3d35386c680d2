import Foundation
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// Everything the audit views are computed from, read from the vault in one transaction (``Vault/snapshot()``):
/// holdings, the kept-promise record, follow-ups, consent records and the report all derive from it, so they agree
/// with each other and no record is read twice.
public struct AuditFacts: Sendable {
    public let now: Date
    public let vendors: [Vendor]
    public let deals: [DealFacts]
    public let offers: [StoredOffer]
    public let intents: [StoredIntent]
    public let entries: [NumberedAuditEntry]
    public let chain: AuditVerification
    /// Every preference, personal data with its value: the report shows values only when asked to.
    public let preferences: [Preference]
    /// `forget.after`: how long a vendor may hold data before `due` asks for a forget; `nil` when not set.
    public let forgetAfter: TimeSpan?

    /// Reads the snapshot. Nothing here touches the network.
    public init(vault: Vault, now: Date = Date()) throws {
        let snapshot = try vault.snapshot()
        self.now = now
        (vendors, offers, intents) = (snapshot.vendors, snapshot.offers, snapshot.intents)
        (entries, chain, preferences) = (snapshot.entries, snapshot.chain, snapshot.preferences)
        forgetAfter = snapshot.preferences.first {
            $0.key == AgentSetting.forgetAfter.rawValue && $0.persona.lowercased() == Persona.defaultName
        }.flatMap { TimeSpan($0.value) }
        let etaByOffer = Dictionary(offers.map { ($0.id, $0.message.eta) }, uniquingKeysWith: { first, _ in first })
        var forgetTimes: [MessageID: (asked: Date?, confirmed: Date?)] = [:]
        for numbered in entries {
            guard let deal = numbered.entry.deal else { continue }
            switch numbered.entry.kind {
            // The first request: a forget asked for again is still the one asked for then.
            case .forgetRequest where forgetTimes[deal]?.asked == nil:
                forgetTimes[deal, default: (nil, nil)].asked = numbered.entry.at
            case .forgetConfirmed: forgetTimes[deal, default: (nil, nil)].confirmed = numbered.entry.at
            default: break
            }
        }
        let vendors = snapshot.vendors
        deals = snapshot.deals.map { deal in
            DealFacts(
                deal, vendor: vendors.first(where: deal.wasMade(with:)), offerETA: etaByOffer[deal.offerID] ?? nil,
                forgetLogged: forgetTimes[deal.id])
        }
        lostDeals = LostDeal.find(in: snapshot.entries, deals: snapshot.deals)
        problems = vault.integrityProblems + vault.damagedRecords.map(\.description)
    }

    /// Deals the audit chain records a disclosure for whose records are gone (a salvage left them out): every view
    /// of who holds what counts them, from the chain, and says the record was lost.
    public let lostDeals: [LostDeal]

    /// What the vault's checks found wrong (rows deleted, swapped or altered); empty when it is intact. Views built
    /// on a damaged vault may leave things out, and must say so.
    public let problems: [String]

    /// The vendor record of that name, when it is still in the vault.
    public func vendor(named name: String) -> Vendor? {
        vendors.first { $0.name.lowercased() == name.lowercased() }
    }
}

/// A deal with what its envelopes say, decoded once: when each step happened and when delivery is due.
public struct DealFacts: Sendable {
    public let deal: StoredDeal
    /// The vendor the deal was made with, while it is still in the vault; `nil` once it was removed (even if
    /// another vendor now has its name).
    public let vendor: Vendor?
    /// The name to show for the deal's vendor: its name, marked when that vendor was removed.
    public var vendorName: String { vendor == nil ? RemovedName.of(deal.vendor) : deal.vendor }
    /// When the vendor confirmed the accept (its `#confirm`'s signed time).
    public let confirmedAt: Date?
    /// When delivery is due: the confirm's `eta` (else the offer's) counted from the confirmation.
    public let dueAt: Date?
    /// When the person first asked for a forget, and when the vendor's confirmation arrived, by this machine's clock.
    public let forgetAskedAt: Date?
    public let forgottenAt: Date?

    init(_ deal: StoredDeal, vendor: Vendor?, offerETA: TimeSpan?, forgetLogged: (asked: Date?, confirmed: Date?)?) {
        (self.deal, self.vendor) = (deal, vendor)
        let reply = DealFacts.decode(deal.replyEnvelope)
        let confirm = reply.flatMap { try? Message.parse($0.message) }.flatMap { $0.kind == .confirm ? $0 : nil }
        confirmedAt = confirm == nil ? nil : reply?.timestamp.date
        if let confirmedAt, let eta = confirm?.eta ?? offerETA {
            dueAt = confirmedAt.addingTimeInterval(TimeInterval(eta.seconds))
        } else {
            dueAt = nil
        }
        // Envelope times are set back at random, so the vault's own times come first; vaults from before they were
        // kept fall back to the audit log (written when the forget reached the vendor), then the envelopes.
        forgetAskedAt =
            deal.forgetEnvelope == nil
            ? nil : deal.forgetAskedAt ?? forgetLogged?.asked ?? DealFacts.decode(deal.forgetEnvelope)?.timestamp.date
        forgottenAt =
            deal.state == .forgotten
            ? forgetLogged?.confirmed ?? DealFacts.decode(deal.forgetReplyEnvelope)?.timestamp.date : nil
    }

    /// A kept message (a §3 envelope, or Nostr evidence) read back: its text and when it was signed.
    private static func decode(_ envelope: String?) -> (message: String, timestamp: Timestamp)? {
        envelope.flatMap(KeptMessage.init).map { ($0.canonical, $0.signedAt) }
    }

    /// Whether the delivery is overdue: confirmed, due before `now`, and not marked received.
    public func isOverdue(at now: Date) -> Bool {
        guard deal.state == .confirmed, deal.receivedAt == nil, let dueAt else { return false }
        return dueAt < now
    }
}

// MARK: - Holdings

/// Whether a vendor holds a piece of data now, as far as the vault knows.
public enum HoldingState: String, Codable, Sendable, CaseIterable {
    /// Disclosed under a deal and not forgotten (whatever the vendor answered: it had the data in hand).
    case held
    /// A forget was asked for; the vendor has not confirmed it.
    case pending
    /// The vendor confirmed it deleted the data.
    case forgotten
}

/// One data category disclosed to one vendor under one deal, and where it stands.
public struct Holding: Codable, Hashable, Sendable {
    public let category: String
    public let vendor: String
    public let persona: String
    public let deal: String
    public let terms: [String]
    /// When it was disclosed.
    public let since: Date
    public let state: HoldingState
    /// When a forget was first asked for, by the vault's clock.
    public let forgetAsked: Date?
    /// Whether the forget reached the vendor (it answered, even without confirming).
    public let forgetDelivered: Bool
    /// When the vendor confirmed the deletion.
    public let forgotten: Date?
    /// Whether the deal's record was lost and this comes from the audit chain alone.
    public let recordLost: Bool

    init(_ lost: LostDeal, category: DataCategory) {
        (self.category, vendor, persona, deal) = (category.rawValue, lost.vendor, lost.persona, lost.id.description)
        (terms, since, recordLost) = (lost.terms.map(\.description), lost.disclosedAt, true)
        state = lost.forgottenAt != nil ? .forgotten : lost.forgetAskedAt != nil ? .pending : .held
        (forgetAsked, forgetDelivered, forgotten) = (lost.forgetAskedAt, lost.forgetAskedAt != nil, lost.forgottenAt)
    }

    init(_ facts: DealFacts, category: DataCategory) {
        recordLost = false
        let deal = facts.deal
        (self.category, vendor, persona, self.deal) = (
            category.rawValue, facts.vendorName, deal.persona, deal.id.description
        )
        (terms, since) = (deal.terms.map(\.description), deal.createdAt)
        state =
            switch deal.state {
            case .forgotten: .forgotten
            case .forgetPending: .pending
            default: .held
            }
        (forgetAsked, forgetDelivered, forgotten) = (
            facts.forgetAskedAt, deal.forgetDelivered ?? false, facts.forgottenAt
        )
    }
}

extension AuditFacts {
    /// Every category disclosed under every deal, oldest disclosure first, or those of one vendor.
    public func holdings(vendor: String? = nil) -> [Holding] {
        let kept = (vendor.map(deals(with:)) ?? deals).flatMap { facts in
            facts.deal.disclosed.map { Holding(facts, category: $0) }
        }
        let lost = lostDeals.filter { vendor == nil || $0.vendor.lowercased() == vendor?.lowercased() }.flatMap {
            deal in
            deal.categories.map { Holding(deal, category: $0) }
        }
        return kept + lost
    }
}

// MARK: - The kept-promise record

/// How a vendor kept its word, computed from the vault: deals it confirmed, deliveries on time, forgets confirmed.
public struct PromiseRecord: Codable, Hashable, Sendable {
    /// Accepts sent to the vendor (every deal, whatever came of it).
    public var accepted = 0
    public var confirmed = 0
    public var declined = 0
    /// Accepts still without a valid answer (sending or unconfirmed).
    public var unanswered = 0
    /// Deliveries marked received by their eta, and after it.
    public var etasMet = 0
    public var etasMissed = 0
    /// Confirmed deals past their eta and not marked received.
    public var overdue = 0
    public var forgetsAsked = 0
    public var forgetsConfirmed = 0

    init(_ deals: [DealFacts], now: Date) {
        for facts in deals {
            let deal = facts.deal
            accepted += 1
            switch deal.state {
            case .declined: declined += 1
            case .sending, .unconfirmed: unanswered += 1
            case .confirmed, .forgetPending, .forgotten: confirmed += 1
            }
            if let received = deal.receivedAt, let due = facts.dueAt {
                // A delivery marked on its due day counts as on time: people give the day, not the hour.
                if received.dayText <= due.dayText { etasMet += 1 } else { etasMissed += 1 }
            }
            if facts.isOverdue(at: now) { overdue += 1 }
            if deal.forgetEnvelope != nil { forgetsAsked += 1 }
            if deal.state == .forgotten { forgetsConfirmed += 1 }
        }
    }

    /// "3 of 4 deals confirmed, 2 of 2 deliveries on time, 1 of 2 forgets confirmed".
    public var summary: String {
        guard accepted > 0 else { return "no deals yet" }
        var parts = ["\(confirmed) of \(accepted) deal\(accepted == 1 ? "" : "s") confirmed"]
        if etasMet + etasMissed > 0 {
            parts.append("\(etasMet) of \(etasMet + etasMissed) deliveries on time")
        }
        if overdue > 0 { parts.append("\(overdue) overdue") }
        if forgetsAsked > 0 { parts.append("\(forgetsConfirmed) of \(forgetsAsked) forgets confirmed") }
        return parts.joined(separator: ", ")
    }
}

extension AuditFacts {
    /// The kept-promise record of one vendor (by ``DealFacts/vendorName``).
    public func promiseRecord(vendor: String) -> PromiseRecord {
        PromiseRecord(deals(with: vendor), now: now)
    }

    /// The deals made with the vendor shown as `name` (``DealFacts/vendorName``).
    public func deals(with name: String) -> [DealFacts] {
        deals.filter { $0.vendorName.lowercased() == name.lowercased() }
    }

    /// The names of every vendor the person knows or dealt with, in order: those still in the vault and those
    /// removed but named by a deal.
    public var vendorNames: [String] {
        var names = vendors.map(\.name)
        var known = Set(names.map { $0.lowercased() })
        for facts in deals where known.insert(facts.vendorName.lowercased()).inserted {
            names.append(facts.vendorName)
        }
        for lost in lostDeals where known.insert(lost.vendor.lowercased()).inserted {
            names.append(lost.vendor)
        }
        return names.sorted { $0.lowercased() < $1.lowercased() }
    }
}
