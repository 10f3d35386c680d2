import Foundation
import Logging
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import ServiceLifecycle

/// The vendor's side of PROTOCOL.md §4: verifies each envelope, then answers intents with offers from the catalog,
/// counters down to an item's floor, accepts whose sealed data holds exactly what the offer needs, withdrawals and
/// requests to forget.
///
/// It is a `Service`: run it (the server adds it to its service group) for intents to be stored and, on PostgreSQL,
/// for the records' connections to open.
public final class VendorInbox: Service {
    public let catalog: Catalog
    public let keys: VendorKeys
    public let records: any VendorRecords
    public let profile: VendorProfile
    let verifier: EnvelopeVerifier
    let committer: IntentCommitter
    let logger: Logger

    /// - Parameter replayWindow: The in-memory window, a fast first check before the records' durable one. The
    ///   default forgets its oldest pairs when full rather than refusing everyone: the records still catch every
    ///   replay, so a flood from fresh keys cannot make the vendor busy for others.
    /// - Parameter relays: Where the vendor receives private messages, when it answers public intents (§6.1): its
    ///   profile then names its Nostr key and these relays.
    public init(
        catalog: Catalog, keys: VendorKeys, records: any VendorRecords, relays: [String] = [],
        replayWindow: ReplayWindow = ReplayWindow(whenFull: .forgetOldest),
        logger: Logger = Logger(label: "proffer-vendor")
    ) {
        self.logger = logger
        self.catalog = catalog
        self.keys = keys
        self.records = records
        self.committer = IntentCommitter(records: records)
        self.verifier = EnvelopeVerifier(recipient: keys.signing.publicKey, replayWindow: replayWindow)
        self.profile = VendorInbox.profile(catalog: catalog, keys: keys, relays: relays)
    }

    /// The signed profile a vendor with these keys serves for this catalog, naming its Nostr key and `relays` when
    /// it answers public intents there.
    public static func profile(catalog: Catalog, keys: VendorKeys, relays: [String] = []) -> VendorProfile {
        VendorProfile.signed(
            name: catalog.name, signer: keys.signing, boxKey: keys.box.publicKey, terms: catalog.terms,
            categories: catalog.categories, nostr: relays.isEmpty ? nil : (keys.nostr.publicKey, relays))
    }

    /// Runs the records (their connections, on PostgreSQL) and the group commit of intents until the service group
    /// stops. The signing key stays readable meanwhile: every intent answered signs with it, and protecting and
    /// unprotecting its page for each costs two system calls and a TLB flush on every core (about 8% of the inbox's
    /// throughput, measured).
    public func run() async throws {
        try await keys.signing.keepingSecretReadable {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.records.run() }
                group.addTask { try await self.committer.run() }
            }
        }
    }

    /// Answers one message that its transport verified (an envelope over HTTP, ``VendorInbox/handle(body:now:)``).
    /// Never throws: every failure becomes one of the spec's codes.
    ///
    /// - Returns: The replies, each signed by the transport (``InboundMessage/replies``), or why the message was
    ///   refused.
    public func receive(_ inbound: InboundMessage) async -> InboxOutcome {
        do {
            // The transport's in-memory window refused copies it saw; the records refuse those seen before a
            // restart or at another instance. Intents record theirs in the transaction that stores them, the hot
            // path's one commit.
            if !inbound.message.kind.isIntent {
                guard
                    try await records.admit(
                        sender: inbound.sender, nonce: inbound.replayToken, until: inbound.replayUntil,
                        now: inbound.receivedAt.secondsSince1970)
                else { throw VendorInbox.replayed }
            }
            return .replies(try await act(on: inbound))
        } catch let error as ProtocolError {
            return .refused(error)
        } catch {
            return failed(records.storageError(error), error)
        }
    }

    /// The answer to a failure to store: `503 busy` when another process held the records past the wait (nothing
    /// was written, and a fresh envelope may try again: a copy of this one is a replay to the in-memory window),
    /// else a bare `500`, with the cause for the operator (never a secret: engines explain their errors from codes
    /// and statements, not arguments).
    private func failed(_ failure: VendorStoreError?, _ error: any Error) -> InboxOutcome {
        if failure?.code == .busy {
            logger.warning("\(failure!.message); a message was answered busy")
            return .refused(ProtocolError(.busy, "the vendor's records are busy; try again in a moment"))
        }
        let cause = failure?.message ?? (error is CommitterStopped ? "the server is stopping" : "\(error)")
        logger.error("could not answer a message: \(cause)")
        return .failed
    }

    static let replayed = ProtocolError(.replay, "this message was already received")

    private func act(on inbound: InboundMessage) async throws -> [String] {
        let message = inbound.message
        let sender = inbound.sender
        switch message.kind {
        case .buy, .rent, .hire, .fix: return try await answerIntent(inbound)
        case .counter: return try await answerCounter(inbound)
        case .accept: return try await answerAccept(inbound)
        case .decline:
            let offer = try await requireOffer(message.re!, sender: sender)
            // Declining an offer that is no longer open changes nothing, and says so no louder than a success.
            _ = try await records.declineOffer(id: offer.id, sender: sender)
            return []
        case .withdraw:
            guard try await records.withdrawIntent(sender: sender, id: message.re!) else {
                throw ProtocolError(.unknownRef, "no intent \(message.re!) was received from this key")
            }
            return []
        case .forget: return try await answerForget(inbound)
        case .offer, .confirm:
            throw ProtocolError(
                .badMessage, "a vendor's inbox takes what a person sends, not #\(message.kind.rawValue)")
        }
    }

    // MARK: - Intents

    private func answerIntent(_ inbound: InboundMessage) async throws -> [String] {
        let intent = inbound.message
        let now = inbound.receivedAt
        guard let intentID = intent.id else {
            throw ProtocolError(.badMessage, "an intent sent to a vendor needs an id:, so that offers can answer it")
        }
        let requested = intent.terms.map(Array.init) ?? []
        let unsupported = requested.filter { !catalog.terms.contains($0) }
        guard unsupported.isEmpty else {
            // Kept for the desk (what was asked under terms the vendor does not offer), then refused.
            var toStore = IntentToStore(
                sender: inbound.sender, id: intentID, canonical: inbound.canonical, offers: [],
                receivedAt: now.secondsSince1970, nonce: inbound.replayToken, seenUntil: inbound.replayUntil,
                quotaSince: now.secondsSince1970 - Int64(catalog.offerValidity.seconds))
            (toStore.quota, toStore.transport, toStore.handling) = (
                inbound.intentQuota, inbound.transport, .unmatched("terms")
            )
            if try await committer.store(toStore) == .replay { throw VendorInbox.replayed }
            throw ProtocolError(
                .termsUnsupported,
                "this vendor does not support \(unsupported.map(\.description).joined(separator: ", ")); it supports "
                    + catalog.terms.map(\.description).joined(separator: ", "))
        }
        let senderData = inbound.sender
        let terms = requested.isEmpty ? [catalog.terms[0]] : requested
        let matching = Array(catalog.matches(intent).prefix(VendorLimits.offersPerIntent))
        // An intent the catalog holds waits on the desk: no offer is made now.
        let held = catalog.holds(intent, answeredBy: matching)
        let items = held ? [] : matching
        var offers: [(offer: StoredOffer, envelope: String)] = []
        var outcome: IntentStorage
        // Fresh ids, and fresh offers, for as long as the ids chosen are taken (never twice in practice).
        repeat {
            let ids = try records.newOfferIDs(count: items.count)
            offers = keys.signing.whileSecretReadable {
                zip(items, ids).map { item, id in
                    makeOffer(
                        id: id, item: item, price: catalog.price(of: item, for: intent), qty: intent.qty?.value ?? 1,
                        intentID: intentID,
                        terms: terms, for: inbound)
                }
            }
            // One transaction: stored if new; otherwise the state of the copy received before.
            var toStore = IntentToStore(
                sender: senderData, id: intentID, canonical: inbound.canonical,
                offers: offers.map(\.offer), receivedAt: now.secondsSince1970, nonce: inbound.replayToken,
                seenUntil: inbound.replayUntil,
                quotaSince: now.secondsSince1970 - Int64(catalog.offerValidity.seconds))
            toStore.quota = inbound.intentQuota
            toStore.transport = inbound.transport
            toStore.handling =
                held ? .held : items.isEmpty ? .unmatched(catalog.unmatched(intent).code) : .answered
            outcome = try await committer.store(toStore)
        } while outcome == .offerIDTaken
        switch outcome {
        case .stored, .offerIDTaken: break  // the loop ends on anything but a clash
        case .replay: throw VendorInbox.replayed
        case .tooMany:
            throw ProtocolError(
                .tooMany,
                "this key already has \(inbound.intentQuota) open intents here whose offers still "
                    + "stand: withdraw some, or wait for their offers to lapse (\(catalog.offerValidity))")
        case .alreadyReceived(.withdrawn): return []
        case .alreadyReceived where !inbound.answersRepeats: return []
        case .alreadyReceived(.open):
            // The same offers again, word for word, in fresh envelopes (a copy of the old ones would rightly be
            // refused as a replay): an offer id names one offer, and an agent refuses the same id with other words
            // (PROTOCOL.md §4.1), so `exp` is not shortened. An agent that kept the first answer keeps its expiry; one
            // that lost it counts `exp` from the resend, and an accept past the offer's real end is refused here as
            // `expired`. Lapsed offers are left out.
            let stillOpen = try await records.openOffers(
                sender: senderData, intentID: intentID, now: now.secondsSince1970)
            if stillOpen.isEmpty && held { return declineHeld(intent, for: inbound) }
            if stillOpen.isEmpty && items.isEmpty { return declineWithoutOffer(intent, for: inbound) }
            return keys.signing.whileSecretReadable { stillOpen.map { inbound.replies.signed($0.message) } }
        }
        if held { return declineHeld(intent, for: inbound) }
        if offers.isEmpty { return declineWithoutOffer(intent, for: inbound) }
        return offers.map(\.envelope)
    }

    /// The one `decline` an intent gets when no item answers it, saying what the vendor lacks (PROTOCOL.md §4.1), so
    /// the person learns the vocabulary instead of hearing nothing.
    private func declineWithoutOffer(_ intent: Message, for inbound: InboundMessage) -> [String] {
        decline(intent, why: VendorInbox.fitting(catalog.whyNoOffer(for: intent)), for: inbound)
    }

    /// What a held intent gets now: over HTTP, whose answer is its reply, a decline saying it waits to be priced by
    /// hand and how a later answer can reach the person; over Nostr nothing yet (the desk answers it later).
    private func declineHeld(_ intent: Message, for inbound: InboundMessage) -> [String] {
        guard inbound.transport == .http else { return [] }
        return decline(intent, why: VendorInbox.heldReason, for: inbound)
    }

    /// The `why` of a held intent's decline over HTTP (at most 120 scalars, §1.5).
    static let heldReason = "held for the shop to price by hand; cast it in public (proffer intent cast) for its answer"

    /// `text` cut to what a `why` may hold (120 scalars, §1.5), marked where it was cut.
    static func fitting(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 120 else { return text }
        var cut = String(String.UnicodeScalarView(scalars.prefix(119)))
        cut.append("…")
        return cut
    }

    /// An offer of `item` with the id `id` to the sender of `inbound`, as stored, and signed by its transport.
    private func makeOffer(
        id: MessageID, item: Catalog.Item, price: Money, qty: Int, intentID: MessageID, terms: [TermsID],
        for inbound: InboundMessage
    ) -> (offer: StoredOffer, envelope: String) {
        var offer = Message(kind: .offer)
        offer.id = id
        offer.re = intentID
        offer.price = price
        offer.item = item.title
        offer.sku = item.sku
        if qty != 1 { offer.qty = Quantity(qty) }
        offer.eta = item.eta
        offer.exp = .after(catalog.offerValidity)
        offer.terms = FieldList(terms)
        offer.needs = FieldList(item.needs)
        let message = offer.canonicalForm
        let stored = StoredOffer(
            id: id, sender: inbound.sender, intentID: intentID,
            sku: item.sku.description, price: price, qty: qty, needs: item.needs, terms: terms.map(\.description),
            expiresAt: inbound.receivedAt.secondsSince1970 + Int64(catalog.offerValidity.seconds), state: .open,
            message: message)
        return (stored, inbound.replies.signed(message))
    }

    private func requireOffer(_ id: MessageID, sender: Data) async throws -> StoredOffer {
        guard let offer = try await records.offer(id: id, sender: sender) else {
            throw ProtocolError(.unknownRef, "no offer \(id) was made to this key")
        }
        return offer
    }

    private func requireOpenOffer(_ id: MessageID, sender: Data, now: Timestamp) async throws
        -> StoredOffer
    {
        let offer = try await requireOffer(id, sender: sender)
        guard offer.state == .open else {
            throw ProtocolError(.unknownRef, "offer \(id) is no longer open (it was \(offer.state.rawValue))")
        }
        guard offer.expiresAt >= now.secondsSince1970 else {
            throw ProtocolError(.expired, "offer \(id) expired at \(Timestamp(secondsSince1970: offer.expiresAt))")
        }
        return offer
    }

    // MARK: - Counters

    private func answerCounter(_ inbound: InboundMessage) async throws -> [String] {
        let counter = inbound.message
        let offer = try await requireOpenOffer(counter.re!, sender: inbound.sender, now: inbound.receivedAt)
        guard let item = catalog.item(sku: offer.sku) else {
            return decline(counter, why: "this item is no longer sold", for: inbound)
        }
        let qty = counter.qty?.value ?? offer.qty
        let available = item.stock - (try await records.soldCount(sku: offer.sku))
        guard qty <= available else {
            return decline(counter, why: "only \(max(available, 0)) left", for: inbound)
        }
        let asked = counter.price ?? offer.price
        guard asked.currency == offer.price.currency else {
            return decline(counter, why: "prices are in \(offer.price.currency)", for: inbound)
        }
        let price = asked.thousandths >= item.floor.thousandths ? asked : item.floor
        if price.thousandths >= offer.price.thousandths, asked.thousandths < offer.price.thousandths {
            return decline(counter, why: "\(offer.price) is the lowest price", for: inbound)
        }
        let terms = offer.terms.compactMap { TermsID($0) }
        while true {
            let newOffer = makeOffer(
                id: try records.newOfferIDs(count: 1)[0], item: item, price: price, qty: qty,
                intentID: offer.intentID, terms: terms, for: inbound)
            switch try await records.supersede(offerID: offer.id, with: newOffer.offer) {
            case .replaced: return [newOffer.envelope]
            case .notOpen: throw ProtocolError(.unknownRef, "offer \(offer.id) is no longer open")
            case .offerIDTaken: continue
            case .tooMany:
                throw ProtocolError(
                    .tooMany,
                    "intent \(offer.intentID) has \(VendorLimits.offersPerIntentInAll) offers here, counters included, "
                        + "the most one intent may have: accept one, or send a new intent")
            }
        }
    }

    /// A `confirm` re `message` (an accept, or a forget when `message` is one), signed by its transport.
    private func confirmation(of message: Message, eta: TimeSpan? = nil, for inbound: InboundMessage) -> String {
        var confirm = Message(kind: .confirm)
        confirm.id = MessageID.random()
        // A forget without an id is confirmed against the deal's accept (schema/envelope.md).
        confirm.re = message.id ?? message.re
        confirm.eta = eta
        return inbound.replies.signed(confirm.canonicalForm)
    }

    private func decline(_ message: Message, why: String, for inbound: InboundMessage) -> [String] {
        var decline = Message(kind: .decline)
        decline.id = MessageID.random()
        decline.re = message.id
        decline.why = why
        return [inbound.replies.signed(decline.canonicalForm)]
    }

    // MARK: - Accepts

    private func answerAccept(_ inbound: InboundMessage) async throws -> [String] {
        let accept = inbound.message
        let (senderData, now) = (inbound.sender, inbound.receivedAt)
        // The person asked to forget this accept before it arrived (the two crossed): it is declined, and nothing it
        // carries is opened or stored. The deal's own transaction checks again.
        if try await records.isForgottenAccept(
            sender: senderData, acceptID: accept.id!, now: now.secondsSince1970)
        {
            return decline(accept, why: VendorInbox.forgottenReason, for: inbound)
        }
        if let answer = try await answerToKnownAccept(accept, for: inbound) { return answer }
        let offer: StoredOffer
        do {
            offer = try await requireOpenOffer(accept.re!, sender: senderData, now: now)
        } catch let error as ProtocolError {
            // A retry racing the first send of this accept: the first may have made the deal since we looked.
            if let answer = try await answerToKnownAccept(accept, for: inbound) { return answer }
            throw error
        }
        let agreed = accept.terms.map { $0.map(\.description) } ?? offer.terms
        let unsupported = agreed.filter { term in !catalog.terms.contains { $0.description == term } }
        guard unsupported.isEmpty else {
            throw ProtocolError(
                .termsUnsupported, "this vendor does not support \(unsupported.joined(separator: ", "))")
        }
        // The offer was made under its terms: an accept agrees to all of them (it may add terms the vendor supports).
        let notAgreed = offer.terms.filter { !agreed.contains($0) }
        guard notAgreed.isEmpty else {
            throw ProtocolError(
                .termsUnsupported,
                "offer \(offer.id) is made under \(offer.terms.joined(separator: ", ")); the accept leaves out "
                    + notAgreed.joined(separator: ", "))
        }
        let disclosed = try openDisclosure(inbound, offer: offer)
        guard let item = catalog.item(sku: offer.sku) else {
            return decline(accept, why: "this item is no longer sold", for: inbound)
        }
        let reply = confirmation(of: accept, eta: item.eta, for: inbound)
        // The checks above were reads; the one that decides is made again with the write, in one transaction.
        let deal = DealToMake(
            sender: senderData, acceptID: accept.id!, offer: offer, stock: item.stock,
            acceptEnvelope: inbound.evidence, confirmEnvelope: reply, disclosed: disclosed,
            now: now.secondsSince1970)
        switch try await records.makeDeal(deal) {
        case .made: break
        case .alreadyMade:
            // A retry racing the first send made the deal first: its confirm is the one kept.
            if let answer = try await answerToKnownAccept(accept, for: inbound) { return answer }
        case .acceptIDTaken: throw VendorInbox.acceptIDTaken(accept)
        case .soldOut: return decline(accept, why: "sold out", for: inbound)
        case .forgotten: return decline(accept, why: VendorInbox.forgottenReason, for: inbound)
        case .expired: throw ProtocolError(.expired, "offer \(offer.id) has expired")
        case .offerNotOpen(let state):
            throw ProtocolError(
                .unknownRef, "offer \(offer.id) is no longer open (it was \(state?.rawValue ?? "removed"))")
        }
        return [reply]
    }

    /// The answer to an accept whose id already made a deal: the same confirm again when it is the same accept (an
    /// agent's `deal retry`), a refusal when the id was used for another offer; `nil` when the id is new.
    private func answerToKnownAccept(_ accept: Message, for inbound: InboundMessage) async throws -> [String]? {
        guard let deal = try await records.deal(sender: inbound.sender, acceptID: accept.id!) else {
            return nil
        }
        guard deal.offerID == accept.re else { throw VendorInbox.acceptIDTaken(accept) }
        // The very confirm the vendor keeps (its id and eta), signed afresh: a copy of the first would rightly be
        // refused by the agent as a replay, and a new confirm would give the person a record the vendor has not.
        guard let confirm = KeptEvidence.message(of: deal.confirmEnvelope) else {
            throw ProtocolError(.unknownRef, "the deal made by accept \(accept.id!) cannot be read back")
        }
        return [inbound.replies.signed(confirm)]
    }

    /// The `why` of the decline §4.1 gives an accept whose forget came first.
    static let forgottenReason = "forgotten"

    static func acceptIDTaken(_ accept: Message) -> ProtocolError {
        ProtocolError(
            .badMessage,
            "accept id \(accept.id!) was already used for a deal on another offer: give each accept its own id")
    }

    /// Opens the sealed data and checks that it holds exactly the categories the offer needs, each a string.
    ///
    /// - Returns: The disclosed JSON object, or `nil` when the offer needs nothing.
    private func openDisclosure(_ inbound: InboundMessage, offer: StoredOffer) throws -> String? {
        let needs = Set(offer.needs.map(\.rawValue))
        let given = Set(inbound.message.give.map { $0.map(\.rawValue) } ?? [])
        guard given == needs else {
            throw ProtocolError(
                .missingData,
                "the offer needs \(Self.list(needs)); the accept gives \(Self.list(given))")
        }
        guard let sealed = inbound.sealedData else {
            if needs.isEmpty { return nil }
            throw ProtocolError(.missingData, "the accept carries no data; the offer needs \(Self.list(needs))")
        }
        var plain: [UInt8]
        do {
            plain = try keys.box.open(sealed)
        } catch {
            throw ProtocolError(.missingData, "the data is not sealed to this vendor's box key")
        }
        defer { wipe(&plain) }
        guard case .object(let members)? = try? StrictJSON.parse(plain),
            Set(members.map(\.0)) == needs, members.allSatisfy({ !($0.1.stringValue ?? "").isEmpty })
        else {
            throw ProtocolError(
                .missingData, "the data must be a JSON object mapping exactly \(Self.list(needs)) to strings")
        }
        return String(decoding: plain, as: UTF8.self)
    }

    private static func list(_ names: Set<String>) -> String {
        names.isEmpty ? "nothing" : names.sorted().joined(separator: ", ")
    }

    // MARK: - Forgetting

    private func answerForget(_ inbound: InboundMessage) async throws -> [String] {
        let forget = inbound.message
        let (senderData, now) = (inbound.sender, inbound.receivedAt)
        let acceptID = forget.re!
        while true {
            if let stored = try await records.deal(sender: senderData, acceptID: acceptID) {
                guard let kept = KeptEvidence.strippedOfData(stored.acceptEnvelope) else {
                    throw ProtocolError(.unknownRef, "the deal made by accept \(acceptID) cannot be read back")
                }
                _ = try await records.forget(
                    sender: senderData, acceptID: acceptID, strippedAccept: kept.stripped, digest: kept.digest)
                break
            }
            // No deal: the accept was declined or refused (its data never kept), or it has not arrived yet (the two
            // crossed). Either way there is nothing to delete, and the confirm says so truthfully; the pair is
            // remembered, so the accept, should it come, is declined and nothing of it stored (PROTOCOL.md §4.1).
            switch try await records.rememberForgottenAccept(
                sender: senderData, acceptID: acceptID,
                until: now.secondsSince1970 + VendorLimits.forgottenAcceptSeconds, now: now.secondsSince1970)
            {
            case .remembered: return [confirmation(of: forget, for: inbound)]
            case .dealExists: continue  // the accept won the race: its deal is forgotten instead
            case .tooMany:
                throw ProtocolError(
                    .tooMany,
                    "this key has asked to forget \(VendorLimits.forgottenAcceptsPerSender) accepts that made no deal "
                        + "here in the last 30 days; nothing more is remembered, so this forget is not confirmed")
            case .senderUnknown:
                throw ProtocolError(.unknownRef, "no offer was made to this key, so it has no accept \(acceptID) here")
            }
        }
        return [confirmation(of: forget, for: inbound)]
    }
}
