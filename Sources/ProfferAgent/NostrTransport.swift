import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// What a message sent over Nostr about a public intent needs beyond its text: the wraps to publish, where, and where
/// and as whom to read the answer.
struct NostrOutgoing: Sendable {
    /// The message's wrap, and the data rumor's after it for an accept that discloses data.
    let wraps: [NostrEvent]
    /// The vendor's relays (its profile's `relays`).
    let vendorRelays: [String]
    let castKey: SchnorrKeyPair
    /// The relays of the intent's `reply`, where answers arrive.
    let castRelays: [String]
    let publicID: MessageID
    /// The message sent, and when: an answer names it, or (to a counter) is a new offer made after it.
    let message: Message
    let sentAt: Int64
    let castExpiresAt: Int64
    /// Offers the vendor made before (to a counter, the answer is a new one).
    var earlierOffers: Set<MessageID> = []
    /// To a counter, the offer countered: its answer is a new offer of the same item (other offers for the intent,
    /// made before the counter arrived, may still be on their way).
    var countered: Message?
}

/// PROTOCOL.md §6.3 under the agent's negotiation: messages about a public intent sealed by its cast key and
/// gift-wrapped to the vendor's Nostr key, published to the vendor's relays, and the answers read from the intent's
/// relays, opened and checked into the same ``VerifiedReply`` the HTTP transport gives.
enum NostrTransport {
    /// `message` sealed by `castKey` to `vendor`, with its data rumor when it carries sealed data.
    static func prepare(
        _ message: Message, cast: PublicCast, castKey: SchnorrKeyPair, to vendor: Vendor, sealedData: [UInt8]?
    ) throws(AgentError) -> OutgoingMessage {
        guard let vendorKey = vendor.nostrKey, let vendorRelays = vendor.relays, !vendorRelays.isEmpty else {
            throw .refused(
                "\(vendor.name) has no Nostr key and relays pinned: it cannot be reached about a public intent")
        }
        let canonical = message.canonicalForm
        let now = Int64(Date().timeIntervalSince1970)
        let postExpiration = Int64(cast.expiresAt.timeIntervalSince1970)
        let wrapped: (accept: GiftWrap.Wrapped, data: GiftWrap.Wrapped?)
        let keys: NIP44.MessageKeys
        do {
            wrapped = try PrivateMessage.wrapAccept(
                canonical, sealedData: sealedData, from: castKey, to: vendorKey, postExpiration: postExpiration,
                now: now)
            keys = try wrapped.accept.sealKeys(sender: castKey)
        } catch {
            throw .refused("the message could not be sealed: \(error)")
        }
        let evidence = NostrEvidence(
            rumor: wrapped.accept.rumor, seal: wrapped.accept.seal, keys: keys, sealedData: sealedData)
        let outgoing = NostrOutgoing(
            wraps: [wrapped.accept.wrap] + (wrapped.data.map { [$0.wrap] } ?? []), vendorRelays: vendorRelays,
            castKey: castKey, castRelays: cast.relays, publicID: cast.publicID, message: message, sentAt: now,
            castExpiresAt: Int64(cast.expiresAt.timeIntervalSince1970))
        return OutgoingMessage(canonical: canonical, evidence: evidence.json, wire: .nostr(outgoing))
    }

    /// Publishes the wraps to the vendor's relays, then, when the message expects an answer, reads the intent's
    /// relays for it until `timeout`.
    static func send(
        _ outgoing: NostrOutgoing, to vendor: Vendor, expectingAnswer: Bool, timeout: Duration, reportedAs: Duration?
    ) async throws(AgentError) -> [VerifiedReply] {
        let deadline = ContinuousClock.now + timeout
        // One connection per cast key and relay, authenticated (when asked) only as that cast key (§6.3).
        let vendorPool = RelayPool(relays: outgoing.vendorRelays, authKey: outgoing.castKey)
        defer { Task { await vendorPool.close() } }
        var delivered = false
        var problems: [String] = []
        for wrap in outgoing.wraps {
            let outcomes = await vendorPool.publish(wrap, within: max(deadline - .now, .milliseconds(1)))
            delivered = outcomes.contains(where: \.isAccepted)
            problems = outcomes.filter { !$0.isAccepted }.map { VendorText.clean($0.description) }
            guard delivered else { break }
        }
        guard delivered else {
            throw AgentError(
                .unreachable,
                "\(vendor.name)'s relays took nothing (\(problems.joined(separator: "; "))). "
                    + "\(AgentError.nothingDelivered); try again later")
        }
        guard expectingAnswer else { return [] }
        let readPool = RelayPool(relays: outgoing.castRelays, authKey: outgoing.castKey)
        defer { Task { await readPool.close() } }
        let filter = NostrFilter(
            kinds: [GiftWrap.wrapKind], tags: ["p": [outgoing.castKey.publicKey.hex]],
            since: outgoing.sentAt - GiftWrap.backdating - 600)
        let found: [VerifiedReply] = await withTaskGroup(of: [VerifiedReply].self) { group in
            group.addTask {
                for await wrap in readPool.listen([filter]) {
                    guard let reply = answer(in: wrap, to: outgoing, from: vendor) else { continue }
                    return [reply]
                }
                return []
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return []
            }
            let first = await group.next() ?? []
            group.cancelAll()
            return first
        }
        guard !found.isEmpty else {
            throw AgentError(
                .timedOut,
                "\(vendor.name) received it (over Nostr) but did not answer within "
                    + "\((reportedAs ?? timeout).components.seconds) s; `proffer inbox` picks up a later answer")
        }
        return found
    }

    /// The reply `wrap` holds, when it is this vendor's answer to `outgoing`: a message naming it, or, to a counter,
    /// a new offer for the intent made after it.
    static func answer(in wrap: NostrEvent, to outgoing: NostrOutgoing, from vendor: Vendor) -> VerifiedReply? {
        let now = Int64(Date().timeIntervalSince1970)
        guard
            case .message(let message, let opened)? = try? PrivateMessage.read(wrap, with: outgoing.castKey, now: now),
            opened.sender == vendor.nostrKey
        else { return nil }
        let namesIt = message.re == outgoing.message.id
        let newOffer =
            outgoing.message.kind == .counter && message.kind == .offer && message.re == outgoing.publicID
            && !outgoing.earlierOffers.contains(message.id!)
            && message.sku == outgoing.countered?.sku && message.item == outgoing.countered?.item
            && opened.rumor.createdAt >= outgoing.sentAt - GiftWrap.allowedClockSkew
        guard namesIt || newOffer else { return nil }
        return verifiedReply(message, opened: opened, castKey: outgoing.castKey, castExpiresAt: outgoing.castExpiresAt)
    }

    /// A checked message as the negotiation takes replies, with the evidence kept of it.
    /// A checked message as the negotiation takes replies, with the evidence kept of it; remembered as read until 30
    /// days after the post expires, while its wrap may be read again.
    static func verifiedReply(
        _ message: Message, opened: GiftWrap.Opened, castKey: SchnorrKeyPair, castExpiresAt: Int64
    ) -> VerifiedReply? {
        guard let keys = try? opened.sealKeys(recipient: castKey) else { return nil }
        return VerifiedReply(
            message: message, timestamp: Timestamp(secondsSince1970: opened.rumor.createdAt),
            evidence: NostrEvidence(rumor: opened.rumor, seal: opened.seal, keys: keys).json,
            replayKey: (opened.sender.bytes, opened.rumor.id), keptUntil: castExpiresAt + 30 * 86400)
    }
}
