import Foundation
import ProfferEnvelope
import ProfferVault
import ProfferWire

/// What happened with one vendor when an intent was published.
public struct PublishOutcome: Sendable {
    public enum Result: Sendable {
        /// The vendor answered; this many offers were verified and stored.
        case answered(offers: Int)
        /// Not sent: the vendor's profile lacks the intent's terms or category.
        case skipped(reason: String)
        /// Sent, but the vendor was unavailable or its answer was refused; nothing from it was stored.
        case failed(AgentError)
        /// The vendor makes no offer, and said why (PROTOCOL.md §4.1: one `decline` re the intent).
        case declined(why: String)
    }

    public let vendor: String
    public let result: Result
}

extension Agent {
    /// Sends an intent to every matching vendor at once, verifies their replies and stores every verified offer.
    ///
    /// Each vendor gets the intent under its own message id, signed with the intent's persona's pairwise key toward
    /// it. Vendors whose pinned profile lacks the intent's terms or category are skipped, each with its reason. Each
    /// vendor's exchange has its own deadline, so one slow vendor delays no one's outcome past `timeout`.
    ///
    /// - Parameters:
    ///   - vendorNames: The vendors to consider; all when empty.
    ///   - progress: Called as each vendor's outcome is known.
    /// - Returns: One outcome per vendor, in name order.
    public func publish(
        intentID: String, vendorNames: [String] = [], timeout: Duration,
        progress: @escaping @Sendable (PublishOutcome) -> Void = { _ in }
    ) async throws -> [PublishOutcome] {
        let intent = try vault.intent(id: intentID)
        guard intent.cast == nil else {
            throw AgentError.refused(
                "intent \(intent.id) is public: it is never sent over HTTP, vendors find it on its relays. Read their "
                    + "answers with `proffer inbox`")
        }
        guard intent.state == .draft || intent.state == .published else {
            throw AgentError.refused(
                "intent \(intent.id) is \(intent.state.rawValue); only a draft or published intent can be sent")
        }
        var named: [Vendor] = []
        for name in vendorNames {
            let vendor = try vault.vendor(named: name)
            if !named.contains(where: { $0.name == vendor.name }) { named.append(vendor) }
        }
        let vendors = try vendorNames.isEmpty ? vault.vendors() : named
        guard !vendors.isEmpty else {
            throw AgentError.refused("no vendors yet: add one with `proffer vendor add URL`")
        }
        var outcomes: [PublishOutcome] = []
        var targets: [Vendor] = []
        for vendor in vendors {
            if let reason = Agent.reasonToSkip(vendor, for: intent.message) {
                let outcome = PublishOutcome(vendor: vendor.name, result: .skipped(reason: reason))
                progress(outcome)
                outcomes.append(outcome)
            } else {
                targets.append(vendor)
            }
        }
        // Every vendor's id is chosen and kept before anything is sent, so a resend uses the same one.
        let withIDs = try vault.updateIntent(id: intent.id.description) { stored in
            var ids = stored.vendorIDs ?? [:]
            for vendor in targets where ids[vendor.name] == nil && !(stored.sentTo ?? []).contains(vendor.name) {
                ids[vendor.name] = MessageID.random()
            }
            stored.vendorIDs = ids
        }
        var envelopes: [(Vendor, MessageID, OutgoingMessage)] = []
        for vendor in targets {
            var copy = intent.message
            let vendorID = withIDs.id(toward: vendor.name)
            copy.id = vendorID
            envelopes.append((vendor, vendorID, try sign(copy, as: intent.persona, toward: vendor)))
        }
        var received = await withTaskGroup(of: VendorAnswer.self) { group in
            for (vendor, vendorID, envelope) in envelopes {
                group.addTask {
                    do {
                        let replies = try await self.deliverUnadmitted(
                            envelope, to: vendor, checkingProfile: true, timeout: timeout)
                        let offers = try Agent.offers(
                            in: replies, answering: vendorID, intentID: intent.id, from: vendor)
                        return VendorAnswer(vendor: vendor, replies: replies, offers: offers, error: nil)
                    } catch {
                        return VendorAnswer(vendor: vendor, replies: [], offers: [], error: error as? AgentError)
                    }
                }
            }
            var received: [VendorAnswer] = []
            for await answer in group {
                received.append(answer)
                progress(answer.outcome)
            }
            return received
        }
        // One write admits every vendor's replies and one stores every offer: publishing widely costs a few
        // commits, not a few per vendor. A vendor that replayed a reply is refused, and nothing of it is stored.
        let fresh = try admitting(received.map(\.replies))
        for (index, answer) in received.enumerated() where answer.error == nil {
            if let replayed = fresh[index].firstIndex(of: false) {
                received[index] = VendorAnswer(
                    vendor: answer.vendor, replies: [], offers: [],
                    error: .badAnswer(
                        VendorEndpoint(answer.vendor),
                        "sent reply \(replayed + 1) again: it was already received before (a replay)"))
                progress(received[index].outcome)
            }
        }
        // An answer reusing an offer id the vendor gave another offer is refused whole (PROTOCOL.md §4.1).
        let stored = try vault.addOfferAnswers(received.map { $0.error == nil ? $0.offers : [] })
        for (index, storage) in stored.enumerated() {
            guard let refusal = storage.refusal else { continue }
            let answer = received[index]
            received[index] = VendorAnswer(
                vendor: answer.vendor, replies: [], offers: [],
                error: .badAnswer(VendorEndpoint(answer.vendor), refusal))
            progress(received[index].outcome)
        }
        outcomes += received.map(\.outcome)
        let reached = received.filter { $0.error == nil }.map(\.vendor.name)
        try vault.updateIntent(id: intent.id.description) { stored in
            if !reached.isEmpty && stored.state == .draft { stored.state = .published }
            stored.sentTo = Array(Set((stored.sentTo ?? []) + reached)).sorted()
            // Each vendor's latest word: why it made no offer, or nothing once it made one.
            var declinedBy = stored.declinedBy ?? [:]
            for answer in received where answer.error == nil {
                if case .declined(let why) = answer.outcome.result {
                    declinedBy[answer.vendor.name] = why
                } else {
                    declinedBy[answer.vendor.name] = nil
                }
            }
            stored.declinedBy = declinedBy.isEmpty ? nil : declinedBy
        }
        return outcomes.sorted { $0.vendor < $1.vendor }
    }

    /// One vendor's answer to a published intent.
    struct VendorAnswer: Sendable {
        let vendor: Vendor
        let replies: [VerifiedReply]
        let offers: [StoredOffer]
        let error: AgentError?

        var outcome: PublishOutcome {
            if let error { return PublishOutcome(vendor: vendor.name, result: .failed(error)) }
            // A vendor that makes no offer may say why, in one decline re the intent.
            if offers.isEmpty, replies.count == 1, replies[0].message.kind == .decline {
                let why = VendorText.clean(replies[0].message.why ?? "no reason given")
                return PublishOutcome(vendor: vendor.name, result: .declined(why: why))
            }
            return PublishOutcome(vendor: vendor.name, result: .answered(offers: offers.count))
        }
    }

    /// Why an intent is not sent to `vendor`, or `nil` when it is.
    static func reasonToSkip(_ vendor: Vendor, for intent: Message) -> String? {
        if vendor.isNostrOnly { return "is reached over Nostr only: cast the intent (`proffer intent cast`)" }
        if !vendor.isPinned { return "is not pinned (found on \(vendor.foundOn ?? "a relay"))" }
        let missingTerms = (intent.terms.map(Array.init) ?? []).filter { !vendor.terms.contains($0) }
        if !missingTerms.isEmpty {
            return "does not support the terms \(missingTerms.map(\.description).joined(separator: ", ")) "
                + "(it supports \(vendor.terms.map(\.description).joined(separator: ", ")))"
        }
        if let category = intent.category {
            let serves = vendor.categories.contains { served in
                category.isWithin(served) || served.isWithin(category)
            }
            if !serves {
                return
                    "does not serve \(category) (it serves \(vendor.categories.map(\.description).joined(separator: ", ")))"
            }
        }
        return nil
    }

    /// The verified offers among `replies`, ready to store under the person's own intent id.
    static func offers(
        in replies: [VerifiedReply], answering vendorID: MessageID, intentID: MessageID, from vendor: Vendor
    )
        throws(AgentError) -> [StoredOffer]
    {
        let now = Date()
        var offers: [StoredOffer] = []
        if replies.count == 1, replies[0].message.kind == .decline, replies[0].message.re == vendorID {
            return []  // no offer, and the reason why (see ``VendorAnswer/outcome``)
        }
        for (index, reply) in replies.enumerated() {
            let message = reply.message
            guard message.kind == .offer, message.re == vendorID, message.id != nil else {
                throw .badAnswer(
                    VendorEndpoint(vendor),
                    "sent reply \(index + 1), which is not an offer with an id answering the intent it was sent")
            }
            offers.append(
                StoredOffer(
                    vendor: vendor.name, intentID: intentID, envelope: reply.evidence, message: message,
                    receivedAt: now, expiresAt: Agent.expiry(of: message, sentAt: reply.timestamp),
                    vendorLabel: vendor.keyLabel))
        }
        return offers
    }
}
