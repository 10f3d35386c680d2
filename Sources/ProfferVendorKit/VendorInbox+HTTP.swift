import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferWire

// PROTOCOL.md §3–4 over HTTP: envelopes verified into the inbox's one form, replies signed back into envelopes.

/// What the inbox answers: an HTTP status and a JSON body.
public struct InboxAnswer: Sendable {
    public let status: Int
    public let body: [UInt8]

    static func replies(_ envelopes: [String]) -> InboxAnswer {
        var writer = ByteWriter(capacity: 16 + envelopes.reduce(0) { $0 + $1.utf8.count + 1 })
        writer.append(utf8: "{\"replies\":[")
        for (index, envelope) in envelopes.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.append(utf8: envelope)
        }
        writer.append(utf8: "]}")
        return InboxAnswer(status: 200, body: Array(writer.bytes))
    }

    static let internalError = InboxAnswer(
        status: 500,
        body: Array("{\"error\":{\"code\":\"internal\",\"message\":\"the vendor could not store this\"}}".utf8))

    static func error(_ error: ProtocolError) -> InboxAnswer {
        var writer = ByteWriter(capacity: 128)
        writer.append(utf8: "{\"error\":{\"code\":\"" + error.code.description + "\",\"message\":")
        writer.appendJSONString(error.message)
        writer.append(utf8: "}}")
        return InboxAnswer(status: error.httpStatus, body: Array(writer.bytes))
    }
}

extension VendorInbox {
    /// Answers one envelope POSTed to the inbox (PROTOCOL.md §4): verifies it (§3, in the spec's order, the signature
    /// before anything is stored or acted on), hands it to ``receive(_:)``, and returns the replies as envelopes
    /// signed with the vendor's key and addressed to the sender. Never throws: every failure becomes the spec's
    /// status and code.
    public func handle(body: [UInt8], now: Timestamp = .now) async -> InboxAnswer {
        let verified: VerifiedEnvelope
        do {
            verified = try verifier.verify(json: body, now: now)
        } catch {
            return .error(error)
        }
        let inbound = InboundMessage(
            sender: Data(verified.sender.bytes), message: verified.message, canonical: verified.envelope.msg,
            sealedData: verified.sealedData, receivedAt: now, evidence: verified.envelope.json,
            replayToken: Data(Base64URL.decode(verified.envelope.nonce) ?? []),
            // §3's window from receipt, whatever the envelope's `ts`.
            replayUntil: now.secondsSince1970 + EnvelopeVerifier.replayWindowSeconds,
            replies: EnvelopeReplies(signer: keys.signing, recipient: verified.sender, time: now))
        switch await receive(inbound) {
        case .replies(let envelopes): return .replies(envelopes)
        case .refused(let error): return .error(error)
        case .failed: return .internalError
        }
    }
}

/// Replies as §3 envelopes: signed with the vendor's key, addressed to the person's key, at the time of receipt.
struct EnvelopeReplies: ReplySigner {
    let signer: SigningKeyPair
    let recipient: SigningPublicKey
    let time: Timestamp

    func signed(_ canonical: String) -> String {
        Envelope.signed(message: canonical, by: signer, to: recipient, at: time).json
    }
}

/// What the vendor keeps as evidence (an envelope's JSON), read back: the message it holds, and the same evidence
/// without its sealed data, with a digest of that data, for a forget.
enum KeptEvidence {
    static func message(of evidence: String) -> String? { KeptMessage(evidence)?.canonical }

    static func strippedOfData(_ evidence: String) -> (stripped: String, digest: String)? {
        if NostrEvidence.isEvidence(evidence) {
            guard let kept = NostrEvidence(json: evidence) else { return nil }
            let digest = kept.sealedData.map { Base64URL.encode(KeyedHash.digest(Array(Base64URL.encode($0).utf8))) }
            return (kept.withoutData.json, digest ?? "")
        }
        guard let original = try? Envelope.decode(json: Array(evidence.utf8)).envelope else { return nil }
        let digest = original.data.map { Base64URL.encode(KeyedHash.digest(Array($0.utf8))) } ?? ""
        return (original.removingData().json, digest)
    }
}
