import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// A message the agent sends: its canonical form, and the form its transport signed, which the vault keeps as
/// evidence (a deal's accept, a forget).
public struct OutgoingMessage: Sendable {
    public let canonical: String
    /// As sent and kept: a §3 envelope's JSON over HTTP, ``NostrEvidence`` over Nostr.
    public let evidence: String
    /// What goes on the wire.
    let wire: Wire

    enum Wire: Sendable {
        /// A §3 envelope, posted to the vendor's inbox.
        case envelope(Envelope)
        /// §6.3 private messages about a public intent.
        case nostr(NostrOutgoing)
    }
}

/// A vendor's reply that its transport verified: addressed to the person's key, signed by the vendor's pinned key,
/// fresh, and not seen by this process.
public struct VerifiedReply: Sendable {
    public let message: Message
    /// When the vendor signed it: an offer's duration `exp` counts from it.
    public let timestamp: Timestamp
    /// As received and kept: a §3 envelope's JSON over HTTP.
    public let evidence: String
    /// What names this very reply in the vault's record of replies already received.
    let replayKey: (sender: [UInt8], nonce: [UInt8])
    /// Until when the vault remembers it (Unix seconds): over HTTP, while §3's window could admit a copy; over Nostr,
    /// while the public intent's wraps may be read again.
    var rememberedUntil: Int64 { keptUntil ?? timestamp.secondsSince1970 + 300 }
    var keptUntil: Int64?
}

/// PROTOCOL.md §3–4 under the agent's negotiation: messages signed into envelopes with the persona's pairwise key,
/// posted to the vendor's inbox within a deadline, and the replies verified back into messages. The negotiation steps
/// (publish, counter, accept, decline, withdraw, forget) see only ``OutgoingMessage`` and ``VerifiedReply``.
struct HTTPTransport: Sendable {
    let client: VendorClient
    /// Replies seen by this process; the vault also remembers them across runs.
    let seen: ReplayWindow

    /// `message` signed by `identity` for the vendor's pinned key.
    ///
    /// The `ts` is set back by a random 0 to 20 s, so vendors comparing envelopes of one intent do not find the same
    /// second in each.
    func prepare(_ message: Message, by identity: SigningKeyPair, to vendorKey: SigningPublicKey, sealedData: [UInt8]?)
        -> OutgoingMessage
    {
        let canonical = message.canonicalForm
        let envelope = Envelope.signed(
            message: canonical, by: identity, to: vendorKey, sealedData: sealedData,
            at: Timestamp.now.adding(seconds: -Int64.random(in: 0...20)))
        return OutgoingMessage(canonical: canonical, evidence: envelope.json, wire: .envelope(envelope))
    }

    /// Posts `outgoing` within `timeout` (after checking the vendor's profile in the same time, when asked) and
    /// returns its verified replies, not yet admitted in the vault.
    ///
    /// - Parameter reportedAs: The timeout to name if it runs out, when `timeout` is what is left of a longer one.
    func send(
        _ envelope: Envelope, to vendor: Vendor, checkingProfile: Bool, timeout: Duration,
        reportedAs: Duration?, noting vault: Vault
    ) async throws(AgentError) -> [VerifiedReply] {
        let endpoint = VendorEndpoint(vendor)
        let client = self.client
        let body = try await VendorClient.withDeadline(timeout, for: endpoint, reportedAs: reportedAs) {
            () async throws(AgentError) in
            if checkingProfile {
                try Agent.checkPinned(try await client.profile(endpoint), against: vendor, noting: vault)
            }
            return try await client.post(envelope, to: endpoint)
        }
        return try verifyReplies(body, from: vendor, to: envelope)
    }

    /// Checks every reply: §3's checks addressed to the person's pairwise key, signed by the pinned key, not seen by
    /// this process. One bad reply refuses them all.
    func verifyReplies(_ body: [UInt8], from vendor: Vendor, to sent: Envelope) throws(AgentError) -> [VerifiedReply] {
        let endpoint = VendorEndpoint(vendor)
        guard let vendorKey = vendor.signingKey, let recipient = try? Envelope.decode(json: sent.jsonBytes).sender
        else { throw .refused("\(vendor.name) has no pinned key") }
        guard case .object(let members)? = try? StrictJSON.parse(body), members.count == 1,
            members[0].0 == "replies", case .array(let items) = members[0].1
        else { throw .badAnswer(endpoint, "answered with something other than {\"replies\":[…]}") }
        let verifier = EnvelopeVerifier(recipient: recipient, replayWindow: seen)
        var verified: [VerifiedReply] = []
        for (index, item) in items.enumerated() {
            do throws(ProtocolError) {
                let decoded = try Envelope.decode(item)
                guard decoded.sender == vendorKey else {
                    throw ProtocolError(.badSignature, "it is signed by another key than the vendor's pinned key")
                }
                let reply = try verifier.verify(decoded)
                verified.append(
                    VerifiedReply(
                        message: reply.message, timestamp: reply.timestamp, evidence: reply.envelope.json,
                        replayKey: (reply.sender.bytes, Base64URL.decode(reply.envelope.nonce) ?? [])))
            } catch {
                throw .badAnswer(
                    endpoint, "sent reply \(index + 1), which was refused: \(error.code): \(error.message)")
            }
        }
        return verified
    }
}
