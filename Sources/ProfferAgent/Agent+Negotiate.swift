import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// What accepting an offer would disclose, shown to the person before anything leaves the vault.
public struct DisclosurePlan: Sendable {
    public struct Item: Sendable {
        public let category: DataCategory
        public let rule: SharingRule
        /// Whether the person is asked before it is sent (rule `ask`).
        public var needsConsent: Bool { rule == .ask }
    }

    public let offer: StoredOffer
    public let vendor: Vendor
    /// The persona the intent belongs to: its data is disclosed and its pairwise key signs.
    public let persona: String
    public let items: [Item]
    /// The terms the accept is signed under: the intent's, plus the offer's extra terms the person agreed to.
    public let terms: [TermsID]
    /// Terms the offer adds beyond the intent's (all of them agreed to, or the plan would not exist).
    public let extraTerms: [TermsID]
    /// How the offer differs from what the intent asked for (a price above its max, another quantity).
    public let differences: [String]
    /// The person asked for a deal although the intent already has one (`--another`).
    public let allowsAnother: Bool
    public var needsConsent: Bool { items.contains(where: \.needsConsent) }
}

/// The vendor's answer to a counter.
public enum CounterOutcome: Sendable {
    case newOffer(StoredOffer)
    case declined(why: String)
}

/// One vendor's outcome when an intent is withdrawn: `nil` when it was told.
public typealias WithdrawOutcome = (vendor: String, error: AgentError?)

extension Agent {
    /// The vendors of `outcomes` a later withdraw should try again: those not told, and still in the vault (a removed
    /// vendor cannot be told later either).
    public static func untold(_ outcomes: [WithdrawOutcome]) -> [String] {
        // A vendor not pinned is told nothing; its offers are withdrawn here, and it is not tried again.
        outcomes.filter {
            $0.error != nil && $0.error?.code != .notPinned && RemovedName.original(in: $0.vendor) == nil
        }.map(\.vendor)
    }
}

extension Agent {
    /// Checks that an offer can still be acted on: open, not expired.
    func requireOpen(_ offer: StoredOffer) throws {
        guard offer.state == .open else {
            throw AgentError.refused("offer \(offer.name) is \(offer.state.rawValue); see `proffer offer list --all`")
        }
        if let expiry = offer.expiresAt, expiry <= Date() {
            throw AgentError.refused("offer \(offer.name) expired at \(Timestamp(expiry)); it cannot be accepted")
        }
    }

    // MARK: - Counter

    /// Proposes another price, quantity or delivery time for an offer.
    public func counter(
        offerName: String, price: Money?, qty: Quantity?, eta: TimeSpan?, timeout: Duration = Agent.defaultTimeout
    )
        async throws -> CounterOutcome
    {
        let offer = try vault.offer(named: offerName)
        try requireOpen(offer)
        guard price != nil || qty != nil || eta != nil else {
            throw AgentError.refused("say what to change: --price, --qty or --eta")
        }
        let vendor = try vault.vendor(named: offer.vendor)
        let intent = try vault.intent(id: offer.intentID.description)
        var counter = Message(kind: .counter)
        counter.id = MessageID.random()
        counter.re = offer.id
        counter.price = price
        counter.qty = qty
        counter.eta = eta
        let envelope = try outgoing(counter, about: intent, as: intent.persona, toward: vendor)
        let replies = try await deliver(envelope, to: vendor, timeout: timeout)
        let endpoint = VendorEndpoint(vendor)
        guard replies.count == 1 else {
            throw AgentError.badAnswer(endpoint, "answered a counter with \(replies.count) replies instead of one")
        }
        let reply = replies[0]
        switch reply.message.kind {
        case .offer where reply.message.re == intent.id(toward: vendor.name) && reply.message.id != nil:
            // The intent may have been withdrawn while the counter was on its way: its new offer is kept, closed.
            let stillWanted = try vault.intent(id: offer.intentID.description).state != .withdrawn
            let newOffer = StoredOffer(
                vendor: vendor.name, intentID: offer.intentID, envelope: reply.evidence, message: reply.message,
                receivedAt: Date(), expiresAt: Agent.expiry(of: reply.message, sentAt: reply.timestamp),
                state: stillWanted ? .open : .withdrawn, vendorLabel: vendor.keyLabel)
            // The new offer must be new: an id the vendor gave another offer is refused, never merged with it.
            let stored = try vault.addOfferAnswers([[newOffer]])[0]
            if let refusal = stored.refusal { throw AgentError.badAnswer(endpoint, "answered the counter: \(refusal)") }
            guard stored.added == 1 else {
                throw AgentError.badAnswer(
                    endpoint, "answered the counter with offer \(newOffer.id), which it had sent before: no new offer")
            }
            try vault.setOfferState(offer.key, to: .countered, onlyFrom: [.open])
            return .newOffer(newOffer)
        case .decline where reply.message.re == counter.id:
            return .declined(why: VendorText.clean(reply.message.why ?? "no reason given"))
        default:
            throw AgentError.badAnswer(endpoint, "answered a counter with something other than an offer or a decline")
        }
    }

    // MARK: - Accept

    /// Works out what accepting `offerName` would disclose, and refuses what the person's rules or the offer forbid.
    ///
    /// - Parameters:
    ///   - agreedTerms: Terms beyond the intent's that the person agrees to; every extra term of the offer must be
    ///     among them.
    ///   - another: The person knows the intent already has a deal and wants another one.
    /// - Throws: ``AgentError`` when the offer is not open or expired, lacks the intent's terms, adds terms not
    ///   agreed to, the intent already has a deal (unless `another`), a needed value is missing, or a rule is `never`.
    public func planAcceptance(offerName: String, agreedTerms: [TermsID] = [], another: Bool = false) throws
        -> DisclosurePlan
    {
        let offer = try vault.offer(named: offerName)
        try requireOpen(offer)
        let intent = try vault.intent(id: offer.intentID.description)
        let review = OfferReview(offer, intent: intent)
        guard review.missingTerms.isEmpty else {
            throw AgentError.refused(
                "offer \(offer.name) does not include your terms "
                    + "\(review.missingTerms.map(\.description).joined(separator: ", ")): it will not be accepted")
        }
        guard intent.state == .published || intent.state == .draft || intent.state == .fulfilled else {
            throw AgentError.refused(
                "intent \(intent.id) is \(intent.state.rawValue): its offers can no longer be accepted")
        }
        let notAdded = agreedTerms.filter { !review.extraTerms.contains($0) }
        guard notAdded.isEmpty else {
            throw AgentError.refused(
                "--agree-terms \(notAdded.map(\.description).joined(separator: ",")): offer \(offer.name) does not add "
                    + (notAdded.count == 1 ? "that term" : "those terms")
                    + (review.extraTerms.isEmpty
                        ? "; it adds none" : "; it adds \(review.extraTerms.map(\.description).joined(separator: ","))")
            )
        }
        let unagreed = review.extraTerms.filter { !agreedTerms.contains($0) }
        guard unagreed.isEmpty else {
            throw AgentError.refused(
                "offer \(offer.name) adds terms you did not proffer: "
                    + unagreed.map { "\($0) (\(TermsDefinition.lookup($0)?.meaning ?? "see `proffer msg terms`"))" }
                    .joined(separator: "; ")
                    + ". Nothing was sent. To accept them, name each: --agree-terms "
                    + unagreed.map(\.description).joined(separator: ","))
        }
        if !another {
            let existing = try vault.deals().filter { $0.intentID == offer.intentID && $0.state != .declined }
            if let deal = existing.first {
                throw AgentError.refused(
                    "intent \(offer.intentID) already has deal \(deal.id) with \(deal.vendor) (\(deal.state.rawValue)). "
                        + "To make another deal for it, pass --another")
            }
        }
        let vendor = try vault.vendor(named: offer.vendor)
        let persona = intent.persona
        var items: [DisclosurePlan.Item] = []
        for category in offer.message.needs.map(Array.init) ?? [] {
            guard let preference = try vault.preference(key: category.rawValue, persona: persona) else {
                throw AgentError.refused(
                    "\(offer.name) needs the \(category.rawValue) of persona \(persona), which is not set: "
                        + "`proffer pref set \(category.rawValue) VALUE --persona \(persona) --share ask`")
            }
            let rule = preference.share ?? .ask
            guard rule != .never else {
                throw AgentError.refused(
                    "\(offer.name) needs the \(category.rawValue) of persona \(persona), whose rule is never: nothing "
                        + "was sent. To share it, change the rule: "
                        + "`proffer pref set \(category.rawValue) --persona \(persona) --share ask`")
            }
            items.append(.init(category: category, rule: rule))
        }
        let intentTerms = intent.message.terms.map(Array.init) ?? []
        return DisclosurePlan(
            offer: offer, vendor: vendor, persona: persona, items: items, terms: intentTerms + review.extraTerms,
            extraTerms: review.extraTerms, differences: review.differences, allowsAnother: another)
    }

    /// Accepts an offer.
    ///
    /// The deal is written as `sending`, with the audit entry of what it discloses, before the sealed data leaves
    /// (and the vault checks again, in that write, that the offer is open and has no deal); then it becomes
    /// `confirmed`, `declined` or `unconfirmed` (not delivered, or no valid answer). The data is sealed to the
    /// *pinned* box key, and the accept is signed with the persona's pairwise key.
    ///
    /// - Parameter consented: Whether the person agreed to send the data whose rule is `ask`.
    /// - Returns: The deal as it stands after the exchange; the error, if any, is in ``StoredDeal/problem``.
    public func accept(_ plan: DisclosurePlan, consented: Bool, timeout: Duration = Agent.defaultTimeout) async throws
        -> StoredDeal
    {
        guard consented || !plan.needsConsent else {
            let asked = plan.items.filter(\.needsConsent).map(\.category.rawValue)
            throw AgentError.refused(
                "sending \(asked.joined(separator: ", ")) needs your consent: answer yes, or pass --yes")
        }
        let offer = try vault.offer(plan.offer.key)
        try requireOpen(offer)
        // A vendor whose keys changed is refused before a deal is begun: nothing is sent, nothing is recorded.
        let started = ContinuousClock.now
        let endpoint = VendorEndpoint(plan.vendor)
        let intent = try vault.intent(id: offer.intentID.description)
        guard plan.vendor.isPinned else { throw AgentError.notPinned(plan.vendor) }
        // Over Nostr the profile was verified when the offer came (§6.1); over HTTP it is checked again now.
        if intent.cast == nil {
            do {
                let presented = try await client.profile(endpoint, within: timeout)
                try Agent.checkPinned(presented, against: plan.vendor, noting: vault)
            } catch {
                throw Agent.nothingSent(error)
            }
        }
        let remaining = timeout - (ContinuousClock.now - started)
        guard remaining > .zero else { throw AgentError.timedOut(endpoint, timeout).adding("Nothing was sent") }
        var accept = Message(kind: .accept)
        let acceptID = MessageID.random()
        accept.id = acceptID
        accept.re = offer.id
        accept.give = plan.items.isEmpty ? nil : FieldList(plan.items.map(\.category))
        accept.terms = plan.terms.isEmpty ? nil : FieldList(plan.terms)
        let sealed = try sealDisclosure(plan.items.map(\.category), of: plan.persona, to: plan.vendor)
        let envelope = try outgoing(accept, about: intent, as: plan.persona, toward: plan.vendor, sealedData: sealed)
        var deal = StoredDeal(
            id: acceptID, vendor: plan.vendor.name, persona: plan.persona, offerID: offer.id, intentID: offer.intentID,
            acceptEnvelope: envelope.evidence, replyEnvelope: nil, disclosed: plan.items.map(\.category),
            terms: plan.terms, createdAt: Date(), state: .sending)
        deal.item = offer.message.item ?? offer.message.sku?.description
        deal.price = offer.message.price
        deal.quantity = offer.message.qty?.value
        deal.vendorLabel = plan.vendor.identityLabel
        (deal.vendorProfileName, deal.vendorURL) = (plan.vendor.profileName, plan.vendor.baseURL)
        deal.personaLabel = try vault.persona(named: plan.persona).keyLabel
        deal.sealedTo = sealed == nil ? nil : plan.vendor.boxKey.map { Base64URL.encode($0.bytes) }
        try vault.beginDeal(deal, allowAnother: plan.allowsAnother)
        return try await send(envelope, for: deal, timeout: remaining, reportedAs: timeout)
    }

    /// `error`, saying that nothing left: it happened before the accept was sent.
    static func nothingSent(_ error: any Error) -> any Error {
        (error as? AgentError)?.adding("Nothing was sent") ?? error
    }

    /// Sends an unconfirmed (or interrupted) deal's accept again: the same message and the same sealed data, freshly
    /// signed, so the vendor can tell it is the same accept and receives nothing new.
    ///
    /// - Throws: ``AgentError`` when the deal is not `sending` or `unconfirmed`, its vendor or persona is not the one
    ///   it was made with, the vendor's box key changed since, a disclosed category's rule is now `never`, or one is
    ///   `ask` and `consented` is false.
    public func retry(dealID: String, consented: Bool, timeout: Duration = Agent.defaultTimeout) async throws
        -> StoredDeal
    {
        let deal = try vault.deal(id: dealID)
        guard deal.state.canRetry else {
            throw AgentError.refused(
                "deal \(deal.id) is \(deal.state.rawValue): only an unconfirmed deal is sent again")
        }
        let vendor = try requireParties(of: deal)
        guard let (accept, sealedData) = KeptMessage.reread(deal.acceptEnvelope) else {
            throw AgentError.refused("deal \(deal.id)'s stored accept does not parse: see `proffer vault check`")
        }
        var sealed: [UInt8]?
        if let bytes = sealedData {
            guard let sealedTo = deal.sealedTo, vendor.boxKey.map({ Base64URL.encode($0.bytes) }) == sealedTo else {
                throw AgentError.refused(
                    "\(vendor.name)'s key for sealed data changed since deal \(deal.id) was sent: its data cannot be sent "
                        + "again. Accept a new offer instead")
            }
            sealed = bytes
        }
        // Sending again is sending: the rules as they stand now decide, as they did at accept.
        let rules = try sharingRules(for: deal)
        if let never = rules.first(where: { $0.rule == .never }) {
            throw AgentError.refused(
                "the rule for the \(never.category.rawValue) of persona \(deal.persona) is now never: deal \(deal.id) was "
                    + "not sent again")
        }
        let asked = rules.filter { $0.rule == .ask }.map(\.category.rawValue)
        guard consented || asked.isEmpty else {
            throw AgentError.refused(
                "sending \(asked.joined(separator: ", ")) again needs your consent: answer yes, or pass --yes")
        }
        let envelope = try outgoing(
            accept, about: try vault.intent(id: deal.intentID.description), as: deal.persona, toward: vendor,
            sealedData: sealed)
        let resending = try vault.updateDeal(id: deal.id) { stored in
            guard stored.state.canRetry else {
                throw AgentError.refused("deal \(stored.id) is now \(stored.state.rawValue): it was not sent again")
            }
            stored.state = .sending
            stored.acceptEnvelope = envelope.evidence
            stored.problem = nil
            return stored.disclosed.isEmpty
                ? []
                : [AuditEntry.disclosure(of: stored, at: Date(), note: "sent again (deal retry)")]
        }
        return try await send(envelope, for: resending, timeout: timeout, reportedAs: timeout)
    }

    /// The current sharing rule of each category a deal discloses (`ask` when the value is no longer set).
    public func sharingRules(for deal: StoredDeal) throws -> [(category: DataCategory, rule: SharingRule)] {
        try deal.disclosed.map { category in
            (category, try vault.preference(key: category.rawValue, persona: deal.persona)?.share ?? .ask)
        }
    }

    /// The deal's vendor, when it and the deal's persona are still the parties the deal was made with.
    private func requireParties(of deal: StoredDeal) throws -> Vendor {
        let vendor = try requireVendor(of: deal)
        if let label = deal.personaLabel, label != (try? vault.persona(named: deal.persona))?.keyLabel {
            throw AgentError.refused(
                "deal \(deal.id) was made by a persona since removed: the persona now named \(deal.persona) is another "
                    + "one, and cannot speak for this deal")
        }
        return vendor
    }

    /// Where a deal's forget goes, and the key it is signed with. The vendor is the one the deal was made with: under
    /// its name, or, added again after it was removed, under any name, recognised by the signing key the accept was
    /// sent to. The key is the one the deal was made with, from the labels the deal keeps, so the forget is
    /// recognised even after its persona was removed or its vendor added again.
    private func forgetParties(of deal: StoredDeal) throws -> (vendor: Vendor, identity: SigningKeyPair) {
        let vendors = try vault.vendors()
        let acceptedBy = (try? Envelope.decode(json: Array(deal.acceptEnvelope.utf8)))?.recipient
        guard
            let vendor = vendors.first(where: { deal.wasMade(with: $0) })
                ?? vendors.first(where: { acceptedBy != nil && $0.signingKey == acceptedBy })
        else {
            throw AgentError.refused(
                "deal \(deal.id) was made with \(deal.vendor), which is no longer in the vault: add it again (`proffer "
                    + "vendor add URL`); once the keys it made the deal with are pinned, the forget goes to it")
        }
        let personaLabel = try deal.personaLabel ?? vault.persona(named: deal.persona).keyLabel
        let vendorLabel = deal.vendorLabel ?? vendor.identityLabel ?? vendor.name
        return (vendor, try identity(personaLabel: personaLabel, vendorLabel: vendorLabel))
    }

    /// The deal's vendor, when it is still the vendor the deal was made with.
    private func requireVendor(of deal: StoredDeal) throws -> Vendor {
        let vendor = try vault.vendor(named: deal.vendor)
        if !deal.wasMade(with: vendor) {
            throw AgentError.refused(
                "deal \(deal.id) was made with a vendor since removed: the vendor now named \(deal.vendor) is another "
                    + "one, and nothing of this deal goes to it")
        }
        return vendor
    }

    /// Seals the persona's values for `categories` to the vendor's pinned box key; `nil` when nothing is disclosed.
    private func sealDisclosure(_ categories: [DataCategory], of persona: String, to vendor: Vendor) throws -> [UInt8]?
    {
        guard !categories.isEmpty else { return nil }
        guard let boxKey = vendor.boxKey else {
            throw AgentError.refused("\(vendor.name) has no pinned key for sealed data: add it again")
        }
        var json = try disclosureJSON(categories, of: persona)
        defer { wipe(&json) }
        do {
            return try boxKey.seal(json)
        } catch {
            throw AgentError.refused(
                "\(vendor.name)'s pinned key for sealed data is not usable (\(error)): nothing was sent. Check the "
                    + "vendor and `proffer vendor repin \(vendor.name)`")
        }
    }

    /// Delivers a deal's accept and records what came of it, over whatever another process did meanwhile: only a
    /// deal still `sending` takes the outcome.
    private func send(_ envelope: OutgoingMessage, for sending: StoredDeal, timeout: Duration, reportedAs: Duration)
        async throws -> StoredDeal
    {
        let vendor = try vault.vendor(named: sending.vendor)
        do {
            let replies = try await deliver(envelope, to: vendor, timeout: timeout, reportedAs: reportedAs)
            let answers: Set<MessageKind> = [.confirm, .decline]
            guard let reply = replies.first(where: { $0.message.re == sending.id && answers.contains($0.message.kind) })
            else {
                throw AgentError.badAnswer(VendorEndpoint(vendor), "answered the accept without a confirm or decline")
            }
            return try settleAccept(sending, answer: reply)
        } catch let error as AgentError {
            // Only a signed decline is a decline; an error answer is not signed, so the outcome stays unknown.
            return try settleAccept(sending, unconfirmedBecause: error.message)
        }
    }

    /// Records the vendor's confirm or decline of a deal's accept (over whatever another process did meanwhile: only a
    /// deal still waiting takes it), whichever way it came: the answer to the accept, or later through `inbox`.
    func settleAccept(_ deal: StoredDeal, answer reply: VerifiedReply) throws -> StoredDeal {
        let confirmed = reply.message.kind == MessageKind.confirm
        let why = VendorText.clean(reply.message.why ?? "no reason given")
        return try recordAcceptOutcome(
            deal, confirmed ? (.confirmed, reply.evidence, nil) : (.declined, reply.evidence, why))
    }

    private func settleAccept(_ deal: StoredDeal, unconfirmedBecause problem: String) throws -> StoredDeal {
        try recordAcceptOutcome(deal, (.unconfirmed, nil, problem))
    }

    private func recordAcceptOutcome(
        _ sending: StoredDeal, _ outcome: (state: DealState, reply: String?, problem: String?)
    )
        throws -> StoredDeal
    {
        let deal = try vault.updateDeal(id: sending.id) { stored in
            // A late answer (through `inbox`) settles a deal left unconfirmed; the sender's own outcome only one
            // still sending.
            guard stored.state == .sending || (stored.state == .unconfirmed && outcome.reply != nil) else { return [] }
            stored.state = outcome.state
            stored.replyEnvelope = outcome.reply ?? stored.replyEnvelope
            stored.problem = outcome.problem
            return []
        }
        if deal.state == .confirmed {
            try vault.setOfferState(deal.offerKey, to: .accepted, onlyFrom: [.open])
            // An intent withdrawn while the accept was on its way stays withdrawn; the deal stands beside it.
            try vault.updateIntent(id: deal.intentID.description) {
                if $0.state != .withdrawn { $0.state = .fulfilled }
            }
        }
        return deal
    }

    /// The JSON object mapping each category to the persona's value, sorted by key. Every buffer that held it is
    /// wiped; the caller wipes the returned copy once it is sealed.
    private func disclosureJSON(_ categories: [DataCategory], of persona: String) throws -> [UInt8] {
        var writer = ByteWriter(capacity: 1024, eraser: { wipe($0) })
        writer.append(utf8: "{")
        for (index, category) in categories.sorted(by: { $0.rawValue < $1.rawValue }).enumerated() {
            if index > 0 { writer.append(utf8: ",") }
            writer.appendJSONString(category.rawValue)
            writer.append(utf8: ":")
            guard let preference = try vault.preference(key: category.rawValue, persona: persona) else {
                throw AgentError.refused(
                    "the \(category.rawValue) of persona \(persona) is no longer set: nothing was sent")
            }
            writer.appendJSONString(preference.value)
        }
        writer.append(utf8: "}")
        return Array(writer.bytes)
    }

    // MARK: - Decline, withdraw, forget

    /// Tells the vendor the person declines an offer, and marks it declined once the vendor has it. An undelivered
    /// decline leaves the offer open.
    public func decline(offerName: String, why: String?, timeout: Duration = Agent.defaultTimeout) async throws {
        let offer = try vault.offer(named: offerName)
        guard offer.state == .open else { throw AgentError.refused("offer \(offer.name) is \(offer.state.rawValue)") }
        var decline = Message(kind: .decline)
        decline.id = MessageID.random()
        decline.re = offer.id
        decline.why = why
        if let why, (try? Message.parse(decline.canonicalForm)) == nil {
            throw AgentError.refused("the reason is too long or not plain text: \(why.prefix(40))…")
        }
        let vendor = try vault.vendor(named: offer.vendor)
        let intent = try vault.intent(id: offer.intentID.description)
        _ = try await deliver(
            try outgoing(decline, about: intent, as: intent.persona, toward: vendor), to: vendor, timeout: timeout)
        guard try vault.setOfferState(offer.key, to: .declined, onlyFrom: [.open]) else {
            throw AgentError.refused(
                "\(vendor.name) was told you decline \(offer.name), but meanwhile the offer became "
                    + "\(try vault.offer(offer.key).state.rawValue); it stays so")
        }
    }

    /// Withdraws an intent and tells every vendor it was sent to, each under its own ids. Vendors not reached are
    /// kept, and a later withdraw tries them again; a withdrawn intent every vendor heard about sends nothing.
    public func withdraw(intentID: String, timeout: Duration = Agent.defaultTimeout) async throws -> [WithdrawOutcome] {
        let intent = try vault.intent(id: intentID)
        let vendorNames: [String]
        if intent.state == .withdrawn {
            guard let untold = intent.untold, !untold.isEmpty else {
                throw AgentError.refused(
                    "intent \(intent.id) is already withdrawn and every vendor was told: nothing was sent")
            }
            vendorNames = untold
        } else {
            // Every vendor the intent was sent to, answered or not: one that timed out may still have received it.
            vendorNames = Array(Set((intent.sentTo ?? []) + (intent.vendorIDs ?? [:]).keys)).sorted()
            try vault.updateIntent(id: intent.id.description) {
                $0.state = .withdrawn
                $0.untold = vendorNames
            }
            for offer in try vault.offers(intentID: intent.id.description) where offer.state == .open {
                try vault.setOfferState(offer.key, to: .withdrawn)
            }
        }
        let outcomes = await withTaskGroup(of: WithdrawOutcome.self) { group in
            for name in vendorNames {
                group.addTask {
                    if let removed = RemovedName.original(in: name) {
                        return (
                            name,
                            AgentError.refused(
                                "\(removed) was removed from your vault, so it cannot be told: the intent stays open "
                                    + "there until it lapses")
                        )
                    }
                    do {
                        let vendor = try self.vault.vendor(named: name)
                        var withdraw = Message(kind: .withdraw)
                        withdraw.id = MessageID.random()
                        withdraw.re = intent.id(toward: vendor.name)
                        let envelope = try self.outgoing(withdraw, about: intent, as: intent.persona, toward: vendor)
                        _ = try await self.deliver(envelope, to: vendor, timeout: timeout)
                        return (name, nil)
                    } catch let error as AgentError {
                        return (name, error)
                    } catch {
                        return (name, AgentError.refused("\(name): \(error)"))
                    }
                }
            }
            var outcomes: [WithdrawOutcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.vendor < $1.vendor }
        }
        try vault.updateIntent(id: intent.id.description) { stored in
            stored.untold = Agent.untold(outcomes)
        }
        return outcomes
    }

    /// Asks the vendor of a deal to delete what was disclosed.
    ///
    /// The deal is `forget-pending` until the vendor confirms; the audit log says "asked" only once the forget
    /// reached the vendor, and "forgotten" once it confirmed, each once however many processes try. Run it again to
    /// retry a pending forget (the same id).
    public func forget(dealID: String, timeout: Duration = Agent.defaultTimeout) async throws -> StoredDeal {
        let found: StoredDeal
        do {
            found = try vault.deal(id: dealID)
        } catch let error as VaultError where error.code == .noSuchRecord {
            // A deal whose record was lost, but whose disclosure the audit log records, can still be forgotten: the
            // forget needs only its id, vendor and persona, which the log keeps.
            guard try vault.lostDeals().contains(where: { $0.id.description.hasPrefix(dealID.lowercased()) }) else {
                throw error
            }
            found = try vault.recoverLostDeal(id: dealID)
        }
        guard found.state != .forgotten else {
            throw AgentError.refused("\(found.vendor) already confirmed it forgot deal \(found.id)")
        }
        guard !found.disclosed.isEmpty || found.state != .declined else {
            throw AgentError.refused("deal \(found.id) was declined by \(found.vendor) and disclosed nothing")
        }
        let (vendor, identity) = try forgetParties(of: found)
        var forget = Message(kind: .forget)
        let previous = found.forgetEnvelope.flatMap(KeptMessage.reread)?.message
        let forgetID = previous?.id ?? MessageID.random()
        forget.id = forgetID
        forget.re = found.id
        let intent = try? vault.intent(id: found.intentID.description)
        let envelope =
            try intent?.cast != nil
            ? outgoing(forget, about: intent!, as: found.persona, toward: vendor)
            : sign(forget, by: identity, toward: vendor)
        try vault.updateDeal(id: found.id) { stored in
            guard stored.state != .forgotten else { return [] }
            stored.state = .forgetPending
            stored.forgetEnvelope = envelope.evidence
            if stored.forgetAskedAt == nil { stored.forgetAskedAt = Date() }
            return []
        }
        let replies: [VerifiedReply]
        do {
            replies = try await deliver(envelope, to: vendor, timeout: timeout)
        } catch {
            try vault.updateDeal(id: found.id) { stored in
                if stored.state == .forgetPending { stored.problem = error.message }
                return []
            }
            throw error
        }
        let confirm = replies.first { $0.message.kind == .confirm && $0.message.re == forgetID }
        return try settleForget(found.id, confirm: confirm)
    }

    /// Records that a forget reached the vendor, and its confirm when there is one (the answer to the forget, or a
    /// later one through `inbox`); each audit entry once, however many processes try.
    func settleForget(_ dealID: MessageID, confirm: VerifiedReply?) throws -> StoredDeal {
        try vault.updateDeal(id: dealID) { stored in
            var audit: [AuditEntry] = []
            if stored.forgetDelivered != true {
                stored.forgetDelivered = true
                audit.append(
                    AuditEntry(
                        kind: .forgetRequest, at: Date(), persona: stored.persona, categories: stored.disclosed,
                        vendor: stored.vendor, deal: stored.id))
            }
            guard stored.state != .forgotten else { return audit }
            if let confirm {
                stored.forgetReplyEnvelope = confirm.evidence
                stored.state = .forgotten
                stored.problem = nil
                audit.append(
                    AuditEntry(
                        kind: .forgetConfirmed, at: Date(), persona: stored.persona, categories: stored.disclosed,
                        vendor: stored.vendor, deal: stored.id))
            } else {
                stored.state = .forgetPending
                stored.problem = "\(stored.vendor) received the forget but has not confirmed it yet"
            }
            return audit
        }
    }
}
