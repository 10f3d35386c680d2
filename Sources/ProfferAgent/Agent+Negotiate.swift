import Foundation
import ProfferCrypto
import ProfferEnvelope
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
    public let items: [Item]
    public let terms: [TermsID]
    public var needsConsent: Bool { items.contains(where: \.needsConsent) }
}

/// The vendor's answer to a counter.
public enum CounterOutcome: Sendable {
    case newOffer(StoredOffer)
    case declined(why: String)
}

extension Agent {
    /// Finds an offer by its name (`vendor/id`), its id, or an unambiguous start of either.
    public func findOffer(_ name: String) throws -> StoredOffer {
        let wanted = name.lowercased()
        let offers = try vault.offers()
        if let exact = offers.first(where: { $0.name.lowercased() == wanted || $0.id.description == wanted }) {
            return exact
        }
        let candidates = offers.filter {
            $0.name.lowercased().hasPrefix(wanted) || $0.id.description.hasPrefix(wanted)
        }
        guard candidates.count == 1 else {
            throw AgentError.refused(
                candidates.isEmpty
                    ? "no offer \"\(name)\": see `proffer offer list`"
                    : "\"\(name)\" matches \(candidates.map(\.name).joined(separator: ", ")): write more of it")
        }
        return candidates[0]
    }

    /// Checks that an offer can still be acted on: open, not expired.
    func requireOpen(_ offer: StoredOffer) throws {
        guard offer.state == .open else {
            throw AgentError.refused("offer \(offer.name) is \(offer.state.rawValue); see `proffer offer list`")
        }
        if let expiry = offer.expiresAt, expiry < Date() {
            throw AgentError.refused("offer \(offer.name) expired at \(Timestamp(expiry)); it cannot be accepted")
        }
    }

    // MARK: - Counter

    /// Proposes another price, quantity or delivery time for an offer.
    public func counter(
        offerName: String, price: Money?, qty: Quantity?, eta: TimeSpan?, timeout: Duration = .seconds(10)
    ) async throws -> CounterOutcome {
        let offer = try findOffer(offerName)
        try requireOpen(offer)
        guard price != nil || qty != nil || eta != nil else {
            throw AgentError.refused("say what to change: --price, --qty or --eta")
        }
        let vendor = try vault.vendor(named: offer.vendor)
        var counter = Message(kind: .counter)
        counter.id = MessageID.random()
        counter.re = offer.id
        counter.price = price
        counter.qty = qty
        counter.eta = eta
        let (_, replies) = try await exchange(counter, with: vendor, timeout: timeout)
        guard replies.count == 1 else {
            throw AgentError.vendorFailed("answered a counter with \(replies.count) replies")
        }
        let reply = replies[0]
        switch reply.message.kind {
        case .offer where reply.message.re == offer.intentID && reply.message.id != nil:
            let newOffer = StoredOffer(
                vendor: vendor.name, intentID: offer.intentID, envelope: reply.envelope.json, message: reply.message,
                receivedAt: Date(), expiresAt: Agent.expiry(of: reply.message, sentAt: reply.timestamp))
            try vault.addOffers([newOffer])
            try vault.setOfferState(id: offer.id.description, to: .countered)
            return .newOffer(newOffer)
        case .decline where reply.message.re == counter.id:
            return .declined(why: reply.message.why ?? "no reason given")
        default:
            throw AgentError.vendorFailed(
                "answered a counter with #\(reply.message.kind.rawValue), not an offer or decline")
        }
    }

    // MARK: - Accept

    /// Works out what accepting `offerName` would disclose, and refuses what the person's rules or the offer forbid.
    ///
    /// - Throws: ``AgentError`` when the offer is not open or expired, its terms do not include the intent's, a
    ///   needed value is missing, or a sharing rule is `never`.
    public func planAcceptance(offerName: String) throws -> DisclosurePlan {
        let offer = try findOffer(offerName)
        try requireOpen(offer)
        let message = offer.message
        let intent = try vault.intent(id: offer.intentID.description).message
        let offered = Set(message.terms.map(Array.init) ?? [])
        let missing = (intent.terms.map(Array.init) ?? []).filter { !offered.contains($0) }
        guard missing.isEmpty else {
            throw AgentError.refused(
                "offer \(offer.name) does not include your terms \(missing.map(\.description).joined(separator: ", ")): "
                    + "it will not be accepted")
        }
        let vendor = try vault.vendor(named: offer.vendor)
        var items: [DisclosurePlan.Item] = []
        for category in message.needs.map(Array.init) ?? [] {
            guard let preference = try vault.preference(key: category.rawValue, persona: persona) else {
                throw AgentError.refused(
                    "\(offer.name) needs your \(category.rawValue), which is not set: "
                        + "`proffer pref set \(category.rawValue) VALUE --share ask`")
            }
            let rule = preference.share ?? .ask
            guard rule != .never else {
                throw AgentError.refused(
                    "\(offer.name) needs your \(category.rawValue), and your rule for it is never: nothing was sent. "
                        + "To share it, change the rule: `proffer pref set \(category.rawValue) VALUE --share ask`")
            }
            items.append(.init(category: category, rule: rule))
        }
        return DisclosurePlan(
            offer: offer, vendor: vendor, items: items, terms: message.terms.map(Array.init) ?? [])
    }

    /// Accepts an offer: seals the needed data to the vendor's box key, records the disclosure in the audit chain
    /// the moment it leaves, and stores the deal with both signed envelopes.
    ///
    /// - Parameter consented: Whether the person agreed to send the data whose rule is `ask`.
    public func accept(_ plan: DisclosurePlan, consented: Bool, timeout: Duration = .seconds(10)) async throws
        -> StoredDeal
    {
        guard consented || !plan.needsConsent else {
            let asked = plan.items.filter(\.needsConsent).map(\.category.rawValue)
            throw AgentError.refused(
                "sending \(asked.joined(separator: ", ")) needs your consent: answer yes, or pass --yes")
        }
        let offer = try findOffer(plan.offer.name)
        try requireOpen(offer)
        let profile = try await currentProfile(of: plan.vendor, timeout: timeout)
        var accept = Message(kind: .accept)
        accept.id = MessageID.random()
        accept.re = offer.id
        accept.give = FieldList(plan.items.map(\.category))
        accept.terms = FieldList(plan.terms)
        var sealed: [UInt8]?
        if !plan.items.isEmpty {
            var json = try disclosureJSON(plan.items.map(\.category))
            defer { wipe(&json) }
            sealed = profile.boxKey.seal(json)
        }
        let categories = plan.items.map(\.category)
        guard let acceptID = accept.id else { throw AgentError.refused("the accept has no id") }
        if !categories.isEmpty {
            try vault.recordDisclosure(
                persona: persona, vendor: plan.vendor.name, categories: categories, terms: plan.terms, deal: acceptID)
        }
        let envelope = try sign(accept, toward: plan.vendor, sealedData: sealed)
        var deal = StoredDeal(
            id: acceptID, vendor: plan.vendor.name, persona: persona, offerID: offer.id, intentID: offer.intentID,
            acceptEnvelope: envelope.json, replyEnvelope: nil, disclosed: categories, terms: plan.terms,
            createdAt: Date(), state: .unconfirmed)
        do {
            let replies = try await send(envelope, to: plan.vendor, timeout: timeout)
            guard let reply = replies.first(where: { $0.message.re == accept.id }) else {
                throw AgentError.vendorFailed("answered the accept without a confirm or decline")
            }
            deal.replyEnvelope = reply.envelope.json
            deal.state = reply.message.kind == .confirm ? .confirmed : .declined
        } catch let error as AgentError {
            try vault.saveDeal(deal)
            throw error
        }
        try vault.saveDeal(deal)
        if deal.state == .confirmed {
            try vault.setOfferState(id: offer.id.description, to: .accepted)
            try vault.setIntentState(id: offer.intentID.description, to: .fulfilled)
        }
        return deal
    }

    /// The JSON object mapping each category to the person's value, sorted by key. Every buffer that held it is
    /// wiped; the caller wipes the returned copy once it is sealed.
    private func disclosureJSON(_ categories: [DataCategory]) throws -> [UInt8] {
        var writer = ByteWriter(capacity: 1024, eraser: { wipe($0) })
        writer.append(utf8: "{")
        for (index, category) in categories.sorted(by: { $0.rawValue < $1.rawValue }).enumerated() {
            if index > 0 { writer.append(utf8: ",") }
            writer.appendJSONString(category.rawValue)
            writer.append(utf8: ":")
            guard let preference = try vault.preference(key: category.rawValue, persona: persona) else {
                throw AgentError.refused("your \(category.rawValue) is no longer set: nothing was sent")
            }
            writer.appendJSONString(preference.value)
        }
        writer.append(utf8: "}")
        return Array(writer.bytes)
    }

    // MARK: - Decline, withdraw, forget

    /// Tells the vendor the person declines an offer, and marks it declined.
    public func decline(offerName: String, why: String?, timeout: Duration = .seconds(10)) async throws {
        let offer = try findOffer(offerName)
        guard offer.state == .open else { throw AgentError.refused("offer \(offer.name) is \(offer.state.rawValue)") }
        var decline = Message(kind: .decline)
        decline.id = MessageID.random()
        decline.re = offer.id
        decline.why = why
        if let why, (try? Message.parse(decline.canonicalForm)) == nil {
            throw AgentError.refused("the reason is too long or not plain text: \(why.prefix(40))…")
        }
        try vault.setOfferState(id: offer.id.description, to: .declined)
        _ = try await exchange(decline, with: try vault.vendor(named: offer.vendor), timeout: timeout)
    }

    /// Withdraws an intent and tells every vendor it was sent to.
    ///
    /// - Returns: Each vendor's outcome: `nil` when it was told, else why not.
    public func withdraw(intentID: String, timeout: Duration = .seconds(10)) async throws -> [(String, AgentError?)] {
        let intent = try vault.setIntentState(id: intentID, to: .withdrawn)
        for offer in try vault.offers(intentID: intent.id.description) where offer.state == .open {
            try vault.setOfferState(id: offer.id.description, to: .withdrawn)
        }
        var withdraw = Message(kind: .withdraw)
        withdraw.id = MessageID.random()
        withdraw.re = intent.id
        var outcomes: [(String, AgentError?)] = []
        for name in intent.sentTo ?? [] {
            do {
                _ = try await exchange(withdraw, with: try vault.vendor(named: name), timeout: timeout)
                outcomes.append((name, nil))
            } catch let error as AgentError {
                outcomes.append((name, error))
            }
        }
        return outcomes
    }

    /// Asks the vendor of a deal to delete what was disclosed, and records the request in the audit chain.
    public func forget(dealID: String, timeout: Duration = .seconds(10)) async throws -> StoredDeal {
        var deal = try vault.deal(id: dealID)
        guard deal.state == .confirmed || deal.state == .forgetRequested || deal.state == .unconfirmed else {
            throw AgentError.refused("deal \(deal.id) is \(deal.state.rawValue); there is nothing to forget")
        }
        var forget = Message(kind: .forget)
        forget.id = MessageID.random()
        forget.re = deal.id
        try vault.recordForgetRequest(
            persona: deal.persona, vendor: deal.vendor, categories: deal.disclosed, deal: deal.id)
        deal.state = .forgetRequested
        let vendor = try vault.vendor(named: deal.vendor)
        let envelope = try sign(forget, toward: vendor)
        deal.forgetEnvelope = envelope.json
        do {
            let replies = try await send(envelope, to: vendor, timeout: timeout)
            if let confirm = replies.first(where: { $0.message.kind == .confirm && $0.message.re == forget.id }) {
                deal.forgetReplyEnvelope = confirm.envelope.json
                deal.state = .forgotten
            }
        } catch {
            try vault.saveDeal(deal)
            throw error
        }
        try vault.saveDeal(deal)
        return deal
    }
}
