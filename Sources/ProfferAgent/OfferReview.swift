import Foundation
import ProfferVault
import ProfferWire

/// What the agent thinks of one offer: whether it can be accepted, and why not. Shared by `offer list` and
/// `offer accept`, so what the list marks is exactly what accept refuses or asks about.
public struct OfferReview: Sendable {
    public let offer: StoredOffer
    /// The intent's terms that the offer lacks: it can never be accepted (PROTOCOL.md §4.1).
    public let missingTerms: [TermsID]
    /// Terms the offer adds beyond the intent's: accepting needs the person to agree to each by name.
    public let extraTerms: [TermsID]
    public let isExpired: Bool
    /// The intent's state when it no longer takes deals (expired, withdrawn), else `nil`.
    public let intentClosed: IntentState?
    /// Differences from what the intent asked for (a price above its max, another quantity), worth a look before
    /// accepting but not reasons to refuse.
    public let differences: [String]

    public init(_ offer: StoredOffer, intent: StoredIntent?, now: Date = Date()) {
        self.offer = offer
        var differences: [String] = []
        if let price = offer.message.price, let max = intent?.message.max, price.currency == max.currency,
            price.thousandths > max.thousandths
        {
            differences.append("above your max \(max)")
        }
        let (offeredQuantity, askedQuantity) = (offer.message.qty?.value ?? 1, intent?.message.qty?.value ?? 1)
        if offeredQuantity != askedQuantity {
            differences.append("qty \(offeredQuantity), your intent said \(askedQuantity)")
        }
        self.differences = differences
        let intentTerms = intent?.message.terms.map(Array.init) ?? []
        let offered = offer.message.terms.map(Array.init) ?? []
        missingTerms = intentTerms.filter { !offered.contains($0) }
        extraTerms = offered.filter { !intentTerms.contains($0) }
        isExpired = offer.expiresAt.map { $0 <= now } ?? false
        let intentState = intent?.state(at: now)
        intentClosed = intentState == .expired || intentState == .withdrawn ? intentState : nil
    }

    /// Open, not expired, and carrying every term of the intent.
    public var canBeAccepted: Bool {
        offer.state == .open && !isExpired && missingTerms.isEmpty && intentClosed == nil
    }

    /// Why the offer cannot be accepted as it stands, or what accepting it needs, in a few words for a listing.
    public var remarks: [String] {
        var remarks: [String] = []
        if offer.state == .open && isExpired { remarks.append("expired") }
        if let intentClosed { remarks.append("intent \(intentClosed.rawValue)") }
        if !missingTerms.isEmpty {
            remarks.append("lacks your terms \(missingTerms.map(\.description).joined(separator: ","))")
        }
        if !extraTerms.isEmpty { remarks.append("adds terms \(extraTerms.map(\.description).joined(separator: ","))") }
        return remarks + differences
    }
}

/// Offers in the order a person should look at them.
///
/// Only prices in one currency can be compared, so each intent's open offers are ranked by unit price (then by
/// delivery time) in that intent's currency: the one of its `max`/`min`, else the default currency, else the one
/// most of its offers use. Offers in another currency or without a price follow, unranked. Expired offers are kept
/// apart and never ranked.
public struct OfferRanking: Sendable {
    /// Acceptable open offers, best first within each intent, with their rank (1 = best) when ranked.
    public let open: [(review: OfferReview, rank: Int?)]
    /// Offers that are open but expired, or lack the intent's terms.
    public let unacceptable: [OfferReview]
    /// Offers no longer open (countered, accepted, declined, withdrawn).
    public let closed: [OfferReview]
    /// The currency each intent's offers were ranked in.
    public let currencies: [MessageID: CurrencyCode]

    public init(offers: [StoredOffer], intents: [StoredIntent], defaultCurrency: CurrencyCode?, now: Date = Date()) {
        let intentsByID = Dictionary(intents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let reviews = offers.map { OfferReview($0, intent: intentsByID[$0.intentID], now: now) }
        closed = reviews.filter { $0.offer.state != .open }
        unacceptable = reviews.filter { $0.offer.state == .open && !$0.canBeAccepted }
        let acceptable = reviews.filter(\.canBeAccepted)
        var ordered: [(OfferReview, Int?)] = []
        var currencies: [MessageID: CurrencyCode] = [:]
        let intentOrder = Dictionary(intents.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        let byIntent = Dictionary(grouping: acceptable, by: \.offer.intentID).sorted {
            (intentOrder[$0.key] ?? .max, $0.key.description) < (intentOrder[$1.key] ?? .max, $1.key.description)
        }
        for (intentID, group) in byIntent {
            let intent = intentsByID[intentID]?.message
            let counts = Dictionary(grouping: group.compactMap(\.offer.message.price?.currency), by: { $0 })
            let mostUsed = counts.max { ($0.value.count, $1.key.description) < ($1.value.count, $0.key.description) }?
                .key
            guard let currency = intent?.max?.currency ?? intent?.min?.currency ?? defaultCurrency ?? mostUsed else {
                ordered += group.map { ($0, nil) }
                continue
            }
            currencies[intentID] = currency
            let comparable = group.filter { $0.offer.message.price?.currency == currency }.sorted {
                let (lhs, rhs) = ($0.offer.message, $1.offer.message)
                return (lhs.price!.thousandths, lhs.eta?.seconds ?? .max, $0.offer.name)
                    < (rhs.price!.thousandths, rhs.eta?.seconds ?? .max, $1.offer.name)
            }
            ordered += comparable.enumerated().map { ($1, $0 + 1) }
            ordered += group.filter { $0.offer.message.price?.currency != currency }.map { ($0, nil) }
        }
        open = ordered
        self.currencies = currencies
    }
}
