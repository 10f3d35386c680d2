import Foundation
import ProfferWire
import ServiceLifecycle

/// The vendor's own records: intents received, offers made, deals with both signed envelopes (as IEEE 7012 asks each
/// party to keep), and the durable replay window. Two engines keep them: ``SQLiteRecords`` (one process, the default)
/// and ``PostgresRecords`` (any number of instances over one database).
///
/// Every state change that must happen at most once (a deal, a counter, a decline, a withdrawal, a forget) is one
/// transaction whose condition is checked by the write itself, so it holds under any concurrency, across processes.
///
/// A store is a `Service`: it runs with the server's service group (the PostgreSQL pool's connections live there).
public protocol VendorRecords: Service {
    /// Creates or upgrades the schema; safe to run from several instances at once.
    func migrate() async throws

    /// How many ``storeIntents(_:)`` calls may run at once: 1 for an engine with one writer.
    var concurrentWrites: Int { get }

    /// Records `(sender, nonce)` as seen until `until` (receipt plus §3's 600 s: until then any envelope reusing the
    /// pair, whatever its `ts`, is a replay), pruning pairs whose time has passed by `now`.
    ///
    /// - Returns: Whether the pair is new; `false` means the envelope was received before (a replay), perhaps before
    ///   a restart or at another instance.
    func admit(sender: Data, nonce: Data, until: Int64, now: Int64) async throws -> Bool

    /// Ids for `count` new offers, all different. The offers given to ``storeIntents(_:)`` and
    /// ``supersede(offerID:with:)`` carry ids made here; one that is already an offer to its sender is refused there
    /// (``IntentStorage/offerIDTaken``) and the offer made again under new ids.
    func newOfferIDs(count: Int) throws -> [MessageID]

    /// Stores intents with their offers, all in one transaction (the group commit of ``IntentCommitter``), and
    /// records each stored envelope's pair as seen in it: a copy of it is a ``IntentStorage/replay`` from then on,
    /// after a restart too. An envelope refused (``IntentStorage/tooMany``) leaves no pair behind.
    ///
    /// - Returns: What became of each intent, in order.
    func storeIntents(_ batch: [IntentToStore]) async throws -> [IntentStorage]

    /// Work a group commit leaves until its senders are answered, run by ``IntentCommitter`` after each (on SQLite, a
    /// checkpoint once the WAL is long). Nothing is lost if it fails: the work is tried again after the next group.
    func finishGroupCommit() async throws

    /// The open offers already made for an intent that are still valid at `now` (their messages and expiry), in the
    /// order they were made, so a resent intent gets the same answer.
    func openOffers(sender: Data, intentID: MessageID, now: Int64) async throws -> [(message: String, expiresAt: Int64)]

    /// The offer `id` made to `sender`; another person's offer is not found.
    func offer(id: MessageID, sender: Data) async throws -> StoredOffer?

    /// Replaces a countered offer by `newOffer`, only while the countered offer is still open: of two counters (or
    /// a counter and an accept) arriving at once, one wins.
    func supersede(offerID: MessageID, with newOffer: StoredOffer) async throws -> Supersession

    /// Marks an open offer declined. Returns `false` when it was not open.
    func declineOffer(id: MessageID, sender: Data) async throws -> Bool

    /// Marks an intent withdrawn and its open offers with it. Returns `false` when `sender` sent no such intent.
    func withdrawIntent(sender: Data, id: MessageID) async throws -> Bool

    /// How many of `sku` are promised in deals.
    func soldCount(sku: String) async throws -> Int

    /// Makes a deal exactly once: in one transaction the offer must still be open and unexpired, the stock must
    /// cover it, and the offer moves to `accepted` as the deal is written. However many accepts of one offer arrive
    /// at once, at one instance or several, one deal is made, and stock never goes below zero.
    func makeDeal(_ deal: DealToMake) async throws -> DealOutcome

    /// Deletes what was disclosed under a deal and keeps the rest of the record, with the accept stripped of its
    /// sealed data and the data replaced by its digest. Returns `false` when `sender` has no such deal.
    func forget(sender: Data, acceptID: MessageID, strippedAccept: String, digest: String) async throws -> Bool

    /// Remembers, on every instance, that `sender` asked to forget accept `acceptID`, which made no deal here (the
    /// accept and its forget crossed, or the accept was declined), until `until`; ``makeDeal(_:)`` refuses that accept
    /// from then on (``DealOutcome/forgotten``). One transaction, which a deal being made for the same accept at the
    /// same moment waits for, or makes wait: the forget and the deal never both happen.
    ///
    /// - Returns: What the forget found: nothing to delete (remembered), a deal made meanwhile (forget that), or a
    ///   sender that holds no offer of this vendor (nothing remembered).
    func rememberForgottenAccept(sender: Data, acceptID: MessageID, until: Int64, now: Int64) async throws
        -> ForgottenAccept

    /// Whether `sender` asked to forget accept `acceptID` before it made a deal, and that is still remembered.
    func isForgottenAccept(sender: Data, acceptID: MessageID, now: Int64) async throws -> Bool

    /// The deal an accept made, or `nil` when `sender` has no such deal.
    func deal(sender: Data, acceptID: MessageID) async throws -> StoredDeal?

    /// The deals made, oldest first, for the vendor's own review.
    func deals() async throws -> [DealRecord]

    /// The intents received since `since` (Unix seconds), for the vendor's desk: read only, never locked against the
    /// running vendor.
    func deskIntents(since: Int64) async throws -> [DeskIntent]

    /// The senders' keys the vendor has on record, for checking that they are pairwise.
    func knownSenders() async throws -> Set<Data>

    /// What an error this engine threw means, in the one shape the inbox answers from (``VendorStoreError/busy``
    /// when another process held the records past the wait), or `nil` when it is not the engine's. The engine's own
    /// error types stay inside it.
    func storageError(_ error: any Error) -> VendorStoreError?
}

/// What one sender may make the vendor keep.
public enum VendorLimits {
    /// How many open intents one key may have stored at once: a flood from one key fills its own quota, not the
    /// vendor's disk. With several instances the bound is checked in each instance's transaction, so it may be
    /// passed by the few intents in flight at once.
    public static let openIntentsPerSender = 200
    /// How many offers one intent gets at most, so the offers one key can cause are bounded too.
    public static let offersPerIntent = 5
    /// How many offers one intent may have in all, its first ones and those its counters made: a key countering
    /// without end would otherwise store offers without end.
    public static let offersPerIntentInAll = 25
    /// How long a forget of an accept that made no deal is remembered (PROTOCOL.md §4.1): an accept delayed longer
    /// is stale by its `ts` anyway.
    public static let forgottenAcceptSeconds: Int64 = 30 * 86_400
    /// How many forgotten accepts one key may have remembered at once: a person's agent forgets only accepts it sent,
    /// so a key past this is filling the vendor's disk, and its next forget is refused (`429`), never confirmed.
    public static let forgottenAcceptsPerSender = 200
}

/// What a forget of an accept without a deal found (``VendorRecords/rememberForgottenAccept(sender:acceptID:until:now:)``).
public enum ForgottenAccept: Equatable, Sendable {
    /// No deal: the pair is remembered, and the accept will be declined should it come.
    case remembered
    /// The accept made a deal meanwhile: that deal is what to forget.
    case dealExists
    /// The sender holds no offer of this vendor: it has no accept to forget here, and nothing was remembered.
    case senderUnknown
    /// The sender has ``VendorLimits/forgottenAcceptsPerSender`` remembered already: nothing was remembered.
    case tooMany
}

public enum IntentState: String, Sendable, Equatable {
    case open, withdrawn
}

public enum OfferState: String, Sendable, Equatable {
    case open, countered, accepted, declined, withdrawn
}

public enum DealState: String, Sendable, Equatable {
    case confirmed, forgotten
}

/// An offer as the vendor keeps it.
public struct StoredOffer: Sendable {
    var id: MessageID
    var sender: Data
    var intentID: MessageID
    var sku: String
    var price: Money
    var qty: Int
    var needs: [DataCategory]
    var terms: [String]
    var expiresAt: Int64
    var state: OfferState
    /// The offer as sent, in canonical form. The signed envelope is not kept: an offer sent again is signed afresh.
    var message: String
}

/// An intent on its way to the store, with the offers made for it.
public struct IntentToStore: Sendable {
    var sender: Data
    var id: MessageID
    var canonical: String
    var offers: [StoredOffer]
    var receivedAt: Int64
    var nonce: Data
    /// Until when the pair must be remembered (see ``VendorRecords/admit(sender:nonce:until:now:)``).
    var seenUntil: Int64
    /// Intents received before this count no more toward the sender's quota: their offers have lapsed.
    var quotaSince: Int64
    /// How many open intents the sender may have.
    var quota = VendorLimits.openIntentsPerSender
    /// How it came: `http` (§4) or `nostr` (§6).
    var transport = IntentTransport.http
    /// What the vendor did with it (``IntentHandling``).
    var handling = IntentHandling.answered
}

/// How an intent reached the vendor.
public enum IntentTransport: String, Sendable, CaseIterable {
    case http, nostr
}

/// What the vendor did with an intent, as its desk shows it: answered with offers, held for the desk, or not, and why
/// not (a code, as
/// ``Catalog/unmatched(_:)`` gives it: `kind`, `category`, `region`, `currency`, `stock`, `price`, `terms`, `fields`).
public struct IntentHandling: Hashable, Sendable, CustomStringConvertible {
    public let description: String

    public init?(_ text: String) {
        guard text == "answered" || text == "held" || text.hasPrefix("unmatched:") else { return nil }
        description = text
    }

    private init(stored: String) { description = stored }

    public static let answered = IntentHandling(stored: "answered")
    /// Waiting on the desk to be priced by hand (a held item, or worth more than the catalog's `hold_above`).
    public static let held = IntentHandling(stored: "held")
    public static func unmatched(_ code: String) -> IntentHandling { IntentHandling(stored: "unmatched:" + code) }

    /// `answered`, `held` or `unmatched`.
    public var state: String { description.hasPrefix("unmatched:") ? "unmatched" : description }
    /// Why it was not answered, for an unmatched intent.
    public var reason: String? { description.hasPrefix("unmatched:") ? String(description.dropFirst(10)) : nil }
}

/// An intent as the vendor's desk lists it.
public struct DeskIntent: Sendable {
    public let sender: Data
    public let id: String
    public let canonical: String
    public let state: IntentState
    public let receivedAt: Int64
    public let offerIDs: [String]
    public let transport: IntentTransport
    /// `nil` for intents stored before the vendor kept what it did with them.
    public let handling: IntentHandling?
}

/// A deal as the inbox checks it: the offer it was made for, and the accept and confirm kept.
public struct StoredDeal: Sendable {
    var offerID: MessageID
    var sku: String
    var acceptEnvelope: String
    /// The confirm the vendor sent and keeps; an accept sent again is answered with the same message.
    var confirmEnvelope: String
}

/// What became of an intent sent to the store.
public enum IntentStorage: Equatable, Sendable {
    /// New: stored with its offers.
    case stored
    /// The sender had sent this intent before (in another envelope); nothing is stored. Its state.
    case alreadyReceived(IntentState)
    /// This very envelope was received before (perhaps before a restart, or at another instance): a replay.
    case replay
    /// The sender already has ``VendorLimits/openIntentsPerSender`` open intents: nothing is stored.
    case tooMany
    /// One of the offers' ids is already an offer to this sender: on PostgreSQL, whose ids are random, a chance of about
    /// one in 500 million per intent for a key with a thousand offers; on SQLite, only the id of an offer an earlier
    /// run (or the layout before offers were numbered) made to the same sender, or a number another process stored.
    /// Nothing is stored, and the pair is not recorded, so the intent may be stored with other ids.
    case offerIDTaken
}

/// What came of replacing a countered offer.
public enum Supersession: Equatable, Sendable {
    /// The countered offer was open; it is `countered` now, and the new offer stored.
    case replaced
    /// The countered offer was no longer open: nothing changed.
    case notOpen
    /// The new offer's id is already an offer to this sender (as for ``IntentStorage/offerIDTaken``): nothing changed.
    case offerIDTaken
    /// The intent has ``VendorLimits/offersPerIntentInAll`` offers already: nothing changed.
    case tooMany
}

/// A deal to be made, with both envelopes to keep.
public struct DealToMake: Sendable {
    var sender: Data
    var acceptID: MessageID
    var offer: StoredOffer
    /// The item's stock, or `nil` when it is unlimited.
    var stock: Int?
    var acceptEnvelope: String
    var confirmEnvelope: String
    /// The disclosed JSON object, or `nil` when the offer needed nothing.
    var disclosed: String?
    var now: Int64
}

/// What came of an attempt to make a deal.
public enum DealOutcome: Equatable, Sendable {
    /// The deal was written and the offer is `accepted`.
    case made
    /// This very accept made the deal before (a retry racing the first send).
    case alreadyMade
    /// The accept's id was used by this sender for a deal on another offer.
    case acceptIDTaken
    /// The offer was no longer open (another accept won, or it was countered or withdrawn): its state now.
    case offerNotOpen(OfferState?)
    /// The offer has expired.
    case expired
    /// Fewer than the offer's quantity are left.
    case soldOut
    /// The sender asked to forget this accept before it arrived: nothing of it is stored.
    case forgotten
}

/// A deal as the vendor reviews it.
public struct DealRecord: Sendable, Equatable {
    public var acceptID: String
    public var state: DealState
    public var sku: String
    /// The disclosed data, or `nil` once forgotten (or when nothing was needed).
    public var disclosed: String?
}

extension StoredOffer {
    /// The comma-separated forms both engines store lists in.
    var needsColumn: String { needs.map(\.rawValue).joined(separator: ",") }
    var termsColumn: String { terms.joined(separator: ",") }

    static func needs(fromColumn text: String) -> [DataCategory] {
        text.split(separator: ",").compactMap { DataCategory(rawValue: String($0)) }
    }

    static func terms(fromColumn text: String) -> [String] { text.split(separator: ",").map(String.init) }

    /// An offer from the columns both engines keep it in (the price in thousandths beside its currency, lists
    /// comma-separated, the state as its name); `nil` when one holds what no offer has (a hand-edited row).
    init?(
        id: MessageID, sender: Data, intentID: MessageID, sku: String, thousandths: Int64, currency: String, qty: Int,
        needs: String, terms: String, expiresAt: Int64, state: String, message: String
    ) {
        guard let code = CurrencyCode(currency), let price = Money(thousandths: thousandths, currency: code),
            let state = OfferState(rawValue: state)
        else { return nil }
        self.init(
            id: id, sender: sender, intentID: intentID, sku: sku, price: price, qty: qty,
            needs: StoredOffer.needs(fromColumn: needs), terms: StoredOffer.terms(fromColumn: terms),
            expiresAt: expiresAt, state: state, message: message)
    }
}

/// Why the vendor's data folder, keys or records could not be used: a ``code`` to act on and a message that says what
/// to do. Never includes a secret (a database URL's password is left out).
public struct VendorStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }

        /// The data folder or a key file cannot be used: missing, not a folder, or open to other users.
        public static let unsafeFolder = Code("unsafe-folder")
        /// Another process holds the data folder.
        public static let locked = Code("locked")
        /// The database cannot be reached, or refuses the connection (a wrong address or password).
        public static let unavailable = Code("unavailable")
        /// `--database` is not a PostgreSQL URL this server can use.
        public static let badLocation = Code("bad-location")
        /// The records were edited by hand into something they never hold.
        public static let damaged = Code("damaged")
        /// A limit of the records' design is reached (all offer numbers given out).
        public static let exhausted = Code("exhausted")
        /// The records were asked something no caller should ask (a bug, not the person's doing).
        public static let misuse = Code("misuse")
        /// Another process held the records past the wait: nothing was written, and trying again may work.
        public static let busy = Code("busy")
        /// The engine failed (a lost connection, a full disk): the message says what the engine said.
        public static let failed = Code("failed")
    }

    public let code: Code
    public let message: String
    public var description: String { message }

    init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
}

/// Whether an outcome of a conditional change means the change was made, and its transaction should commit.
protocol CommitDecision {
    var commits: Bool { get }
}

extension Bool: CommitDecision {
    var commits: Bool { self }
}

extension ForgottenAccept: CommitDecision {
    var commits: Bool { self == .remembered }
}

extension Supersession: CommitDecision {
    var commits: Bool { self == .replaced }
}

extension DealOutcome: CommitDecision {
    var commits: Bool { self == .made }
}
