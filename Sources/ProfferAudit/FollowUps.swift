import Foundation
import ProfferVault
import ProfferWire

/// Something that needs the person, with the command that settles it.
public struct FollowUp: Codable, Hashable, Sendable {
    /// What kind of attention it needs, most urgent kind first.
    public enum Kind: String, Codable, Sendable, CaseIterable, Comparable {
        /// An open offer lapses within a day: after that it cannot be accepted.
        case offerExpiring = "offer-expiring"
        /// A vendor presented other keys: nothing reaches it until the person checks and re-pins.
        case keyChanged = "key-changed"
        /// The audit log shows data sent under a deal whose record was lost (a salvage), not forgotten.
        case dealRecordLost = "deal-record-lost"
        /// An accept whose answer never came: the vendor may or may not have the deal and the data.
        case dealUnconfirmed = "deal-unconfirmed"
        /// A forget the vendor never confirmed.
        case forgetUnconfirmed = "forget-unconfirmed"
        /// A confirmed deal past its eta, not marked received.
        case deliveryOverdue = "delivery-overdue"
        /// A vendor has held data longer than `forget.after`.
        case heldTooLong = "held-too-long"
        /// An intent, a draft or published, past its `by:`.
        case intentPastBy = "intent-past-by"

        public static func < (lhs: Kind, rhs: Kind) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public let kind: Kind
    /// The moment it fell due (or, for an expiring offer, will).
    public let due: Date
    public let vendor: String?
    /// The deal, offer or intent concerned.
    public let subject: String
    /// What needs the person, in words.
    public let what: String
    /// The command that settles it.
    public let command: String
}

extension AuditFacts {
    /// Everything that needs the person, most urgent first: by kind (offers about to lapse, changed keys,
    /// unanswered accepts and forgets, late deliveries, data held too long, stale intents), then oldest first
    /// (soonest first for offers).
    public func followUps() -> [FollowUp] {
        var items: [FollowUp] = []
        let day: TimeInterval = 86_400
        let liveIntents = Set(
            intents.filter { $0.state(at: now) == .published || $0.state(at: now) == .draft }.map(\.id))
        for offer in offers where offer.state == .open && liveIntents.contains(offer.intentID) {
            guard let expires = offer.expiresAt, expires > now, expires <= now.addingTimeInterval(day) else { continue }
            let (blocker, flags) = acceptance(of: offer)
            items.append(
                FollowUp(
                    kind: .offerExpiring, due: expires, vendor: offer.vendor, subject: offer.name,
                    what: "\(offer.vendor)'s offer \(offer.id) (\(offer.message.price?.description ?? "no price")) "
                        + "lapses \(expires.shortText)" + (blocker.map { "; to accept it, first: \($0.what)" } ?? ""),
                    command: blocker?.command ?? "proffer offer accept \(offer.name)" + flags))
        }
        for vendor in vendors {
            guard let change = vendor.keyChange else { continue }
            items.append(
                FollowUp(
                    kind: .keyChanged, due: change.at, vendor: vendor.name, subject: vendor.name,
                    what: "\(vendor.name) \(change.what); nothing is sent to it until you check and re-pin",
                    command: "proffer vendor repin \(vendor.name)"))
        }
        for facts in deals {
            let deal = facts.deal
            let vendorName = facts.vendorName
            let categories =
                deal.disclosed.isEmpty ? "" : " (\(deal.disclosed.map(\.rawValue).joined(separator: ", ")))"
            if deal.state.canRetry {
                items.append(
                    FollowUp(
                        kind: .dealUnconfirmed, due: deal.createdAt, vendor: vendorName, subject: deal.id.description,
                        what: "deal \(deal.id) with \(vendorName) was never confirmed\(categories)",
                        command: "proffer deal retry \(deal.id)"))
            }
            if deal.state == .forgetPending {
                items.append(
                    FollowUp(
                        kind: .forgetUnconfirmed, due: facts.forgetAskedAt ?? deal.createdAt, vendor: vendorName,
                        subject: deal.id.description,
                        what: "\(vendorName) never confirmed it forgot deal \(deal.id)\(categories)",
                        command: "proffer deal forget \(deal.id)"))
            }
            if facts.isOverdue(at: now), let due = facts.dueAt {
                items.append(
                    FollowUp(
                        kind: .deliveryOverdue, due: due, vendor: vendorName, subject: deal.id.description,
                        what: "\(deal.item ?? "deal \(deal.id)") from \(vendorName) was due \(due.dayText); "
                            + "once it arrives, say so",
                        command: "proffer deal received \(deal.id)"))
            }
            if let forgetAfter, deal.state.vendorMayHoldData, deal.state != .forgetPending, !deal.disclosed.isEmpty {
                let limit = deal.createdAt.addingTimeInterval(TimeInterval(forgetAfter.seconds))
                if limit < now {
                    items.append(
                        FollowUp(
                            kind: .heldTooLong, due: limit, vendor: vendorName, subject: deal.id.description,
                            what:
                                "\(vendorName) has held your \(deal.disclosed.map(\.rawValue).joined(separator: ", ")) "
                                + "since \(deal.createdAt.dayText), longer than forget.after (\(forgetAfter))",
                            command: "proffer deal forget \(deal.id)"))
                }
            }
        }
        for lost in lostDeals where lost.vendorMayHoldData {
            items.append(
                FollowUp(
                    kind: .dealRecordLost, due: lost.disclosedAt, vendor: lost.vendor, subject: lost.id.description,
                    what:
                        "the record of deal \(lost.id) with \(lost.vendor) was lost (a salvaged or damaged vault); the "
                        + "audit log shows your \(lost.categories.map(\.rawValue).joined(separator: ", ")) went to it on "
                        + "\(lost.disclosedAt.dayText)"
                        + (lost.forgetAskedAt == nil ? "" : " and a forget was never confirmed"),
                    command: "proffer deal forget \(lost.id)"))
        }
        for intent in intents where intent.state == .published || intent.state == .draft {
            guard let by = intent.message.by?.end(countingFrom: intent.createdAt), by <= now else { continue }
            let topic = intent.message.category?.description ?? "intent"
            items.append(
                FollowUp(
                    kind: .intentPastBy, due: by, vendor: nil, subject: intent.id.description,
                    what: "intent \(intent.id) (\(topic)) is past its by: date"
                        + (intent.state == .published ? "; vendors still have it" : ""),
                    command: "proffer intent withdraw \(intent.id)"))
        }
        return items.sorted { ($0.kind, $0.due, $0.subject) < ($1.kind, $1.due, $1.subject) }
    }
}

extension AuditFacts {
    /// What would stop an accept of `offer` (a needed value missing, or its rule `never`), with the command that
    /// changes it; and the flags the accept itself needs (the terms the offer adds).
    func acceptance(of offer: StoredOffer) -> (blocker: (what: String, command: String)?, flags: String) {
        let persona = intents.first { $0.id == offer.intentID }?.persona ?? Persona.defaultName
        for category in offer.message.needs.map(Array.init) ?? [] {
            let preference = preferences.first {
                $0.key == category.rawValue && $0.persona.lowercased() == persona.lowercased()
            }
            guard let preference else {
                return (
                    (
                        "set your \(category.rawValue) for persona \(persona), which it needs",
                        "proffer pref set \(category.rawValue) VALUE --persona \(persona) --share ask"
                    ), ""
                )
            }
            if preference.share == .never {
                return (
                    (
                        "your rule for \(category.rawValue) (persona \(persona)) is never",
                        "proffer pref set \(category.rawValue) --persona \(persona) --share ask"
                    ), ""
                )
            }
        }
        let intentTerms = Set(intents.first { $0.id == offer.intentID }?.message.terms.map(Array.init) ?? [])
        let added = (offer.message.terms.map(Array.init) ?? []).filter { !intentTerms.contains($0) }
        return (nil, added.isEmpty ? "" : " --agree-terms " + added.map(\.description).joined(separator: ","))
    }
}
