import Foundation
import ProfferWire

/// The vendor's rules over its records, written once for both engines: which intents are stored and which are
/// replays or over the quota, when a counter may replace an offer, the order of a deal's checks, what a forget keeps,
/// when a forget of an accept without a deal is remembered. No SQL here, and nothing that waits.
///
/// Each engine (``SQLiteRecords``, ``PostgresRecords``) runs one transaction per change: it reads the facts a rule
/// needs with its own statements (the SQLite engine's intents path reads them in one statement, on the caller's
/// thread, for the inbox's throughput), asks the rule here, and writes what the rule decided, in the same
/// transaction. The rules are pure functions of those facts, so one engine's flow cannot quietly differ from the
/// other's in what it decides; what truly differs stays in the engines: offer numbering (SQLite's permuted numbers,
/// PostgreSQL's random ids), checkpoints, and locks (SQLite's one writer, PostgreSQL's row and advisory locks).
enum VendorLedger {
    // MARK: - Intents

    /// What the records already know of an intent's envelope and of the intent.
    struct KnownIntent {
        /// The envelope's (sender, nonce) pair was seen before, within the replay window.
        var pairSeen: Bool
        /// The intent was received before: its state, and the nonce of the envelope that brought it when the engine
        /// keeps it.
        var existing: (state: IntentState, nonce: Data?)?
        /// How many of the sender's intents are open and count toward its quota.
        var openIntents: Int
    }

    /// What to do with an intent.
    enum IntentAdmission: Equatable {
        /// Store it with its offers.
        case store
        /// Store nothing: the outcome says why.
        case refuse(IntentStorage)
    }

    /// Whether an intent is new, received before, a replay, or over the sender's quota, in that order.
    static func admit(_ intent: IntentToStore, known: KnownIntent) -> IntentAdmission {
        if known.pairSeen || (known.existing?.nonce == intent.nonce && known.existing?.nonce != nil) {
            return .refuse(.replay)
        }
        if let existing = known.existing { return .refuse(.alreadyReceived(existing.state)) }
        guard known.openIntents < intent.quota else { return .refuse(.tooMany) }
        return .store
    }

    // MARK: - Counters

    /// Whether a counter may replace the offer it names, given whether that offer was still open (and is now
    /// countered, in the same transaction) and how many offers its intent has: `nil` to go on and store the new offer.
    static func counter(offerWasOpen: Bool, offersMade: Int) -> Supersession? {
        guard offerWasOpen else { return .notOpen }
        guard offersMade < VendorLimits.offersPerIntentInAll else { return .tooMany }
        return nil
    }

    // MARK: - Deals

    /// What the records hold that decides a deal, read in the deal's transaction (the offer's row locked where the
    /// engine has row locks).
    struct DealFacts {
        /// The sender asked to forget this accept before it came.
        var acceptForgotten: Bool
        /// The offer an earlier deal under this accept id was made for, if there is one.
        var earlierDealOffer: MessageID?
        /// The offer's state and end, or `nil` when the sender has no such offer.
        var offer: (state: OfferState, expiresAt: Int64)?
    }

    /// The checks of a deal, in their order: a forgotten accept, the same accept again (or its id reused), an offer no
    /// longer open, an expired offer. `nil` means go on: the engine moves the offer to `accepted` and, with the
    /// item's stock in hand, asks ``stock(sold:quantity:stock:)``.
    static func deal(_ deal: DealToMake, facts: DealFacts) -> DealOutcome? {
        if facts.acceptForgotten { return .forgotten }
        if let earlier = facts.earlierDealOffer { return earlier == deal.offer.id ? .alreadyMade : .acceptIDTaken }
        guard let offer = facts.offer else { return .offerNotOpen(nil) }
        guard offer.state == .open else { return .offerNotOpen(offer.state) }
        guard offer.expiresAt >= deal.now else { return .expired }
        return nil
    }

    /// Whether the item's stock covers the deal: `nil` when it does (or is unlimited), else ``DealOutcome/soldOut``.
    static func stock(sold: Int, quantity: Int, stock: Int?) -> DealOutcome? {
        guard let stock else { return nil }
        return sold + quantity > stock ? .soldOut : nil
    }

    // MARK: - Forgetting

    /// The digest a forgotten deal keeps of what was disclosed: a forget asked again (after a checkpoint was
    /// blocked, say) keeps the first one, which the request can no longer compute from the data it deleted.
    static func keptDigest(state: DealState, stored: String?, computed: String) -> String {
        state == .forgotten ? stored ?? computed : computed
    }

    /// Whether a forget of an accept that made no deal is remembered (PROTOCOL.md §4.1): only for a key that was made
    /// an offer, within its share.
    static func forgetWithoutDeal(dealExists: Bool, senderHoldsOffers: Bool, remembered: Int) -> ForgottenAccept {
        if dealExists { return .dealExists }
        guard senderHoldsOffers else { return .senderUnknown }
        guard remembered < VendorLimits.forgottenAcceptsPerSender else { return .tooMany }
        return .remembered
    }

    // MARK: - Forms both engines store

    /// An intent's offer ids as one column holds them: comma-separated, in the order made.
    static func offerList(_ ids: [MessageID]) -> String { ids.map(\.description).joined(separator: ",") }

    static func offerList(from column: String) -> [MessageID] {
        column.split(separator: ",").compactMap { MessageID(String($0)) }
    }
}
