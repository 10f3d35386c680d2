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
    }

    public let vendor: String
    public let result: Result
}

extension Agent {
    /// Sends an intent to every matching vendor at once, verifies their replies and stores every verified offer.
    ///
    /// Vendors whose pinned profile lacks the intent's terms or category are skipped, each with its reason.
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
        guard intent.state == .draft || intent.state == .published else {
            throw AgentError.refused(
                "intent \(intent.id) is \(intent.state.rawValue); only a draft or published intent can be sent")
        }
        let message = intent.message
        let vendors = try vendorNames.isEmpty ? vault.vendors() : vendorNames.map { try vault.vendor(named: $0) }
        guard !vendors.isEmpty else {
            throw AgentError.refused("no vendors yet: add one with `proffer vendor add URL`")
        }
        var outcomes: [PublishOutcome] = []
        var targets: [Vendor] = []
        for vendor in vendors {
            if let reason = Agent.reasonToSkip(vendor, for: message) {
                let outcome = PublishOutcome(vendor: vendor.name, result: .skipped(reason: reason))
                progress(outcome)
                outcomes.append(outcome)
            } else {
                targets.append(vendor)
            }
        }
        let received = await withTaskGroup(of: VendorAnswer.self) { group in
            for vendor in targets {
                group.addTask {
                    do {
                        let offers = try await self.requestOffers(message, from: vendor, timeout: timeout)
                        return VendorAnswer(vendor: vendor.name, offers: offers, error: nil)
                    } catch {
                        return VendorAnswer(
                            vendor: vendor.name, offers: [], error: error as? AgentError ?? .unreachable("\(error)"))
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
        // One transaction for every vendor's offers: publishing widely costs one commit, not one per vendor.
        try vault.addOffers(received.flatMap(\.offers))
        outcomes += received.map(\.outcome)
        let reached = received.filter { $0.error == nil }.map(\.vendor)
        try vault.updateIntent(id: intent.id.description) { stored in
            if !reached.isEmpty { stored.state = .published }
            stored.sentTo = Array(Set((stored.sentTo ?? []) + reached)).sorted()
        }
        return outcomes.sorted { $0.vendor < $1.vendor }
    }

    /// One vendor's answer to a published intent.
    struct VendorAnswer: Sendable {
        let vendor: String
        let offers: [StoredOffer]
        let error: AgentError?

        var outcome: PublishOutcome {
            PublishOutcome(vendor: vendor, result: error.map { .failed($0) } ?? .answered(offers: offers.count))
        }
    }

    /// Why an intent is not sent to `vendor`, or `nil` when it is.
    static func reasonToSkip(_ vendor: Vendor, for intent: Message) -> String? {
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

    /// Sends the intent to one vendor and returns its verified offers, ready to store.
    func requestOffers(_ intent: Message, from vendor: Vendor, timeout: Duration) async throws(AgentError)
        -> [StoredOffer]
    {
        _ = try await currentProfile(of: vendor, timeout: timeout)
        let (_, replies) = try await exchange(intent, with: vendor, timeout: timeout)
        let now = Date()
        var offers: [StoredOffer] = []
        for (index, reply) in replies.enumerated() {
            let message = reply.message
            guard message.kind == .offer, message.re == intent.id else {
                throw .vendorFailed(
                    "reply \(index + 1) was refused: it is #\(message.kind.rawValue) re:\(message.re?.description ?? "-"), "
                        + "not an offer answering \(intent.id!)")
            }
            guard message.id != nil, let intentID = intent.id else {
                throw .vendorFailed("reply \(index + 1) was refused: the offer has no id")
            }
            offers.append(
                StoredOffer(
                    vendor: vendor.name, intentID: intentID, envelope: reply.envelope.json, message: message,
                    receivedAt: now, expiresAt: Agent.expiry(of: message, sentAt: reply.timestamp)))
        }
        return offers
    }
}
