import ProfferEnvelope
import ProfferWire

/// A message either side keeps as evidence, read back: a §3 envelope (over HTTP) or ``NostrEvidence`` (over Nostr).
/// Every reader of kept messages (deals, forgets, consent records, the vendor's records) reads them here.
public struct KeptMessage: Sendable {
    /// The message in canonical form, as sent.
    public let canonical: String
    /// The sealed personal data it carries (an accept's), until the deal is forgotten.
    public let sealedData: [UInt8]?
    /// When its sender dated it: the envelope's `ts`, or the rumor's `created_at`.
    public let signedAt: Timestamp

    public init?(_ evidence: String) {
        if let kept = NostrEvidence(json: evidence) {
            (canonical, sealedData) = (kept.canonical, kept.sealedData)
            signedAt = Timestamp(secondsSince1970: kept.rumor.createdAt)
        } else if let decoded = try? Envelope.decode(json: Array(evidence.utf8)) {
            (canonical, sealedData, signedAt) = (decoded.envelope.msg, decoded.sealedData, decoded.timestamp)
        } else {
            return nil
        }
    }

    public var message: Message? { try? Message.parse(canonical) }

    /// The message kept as `evidence` and the sealed data it carries; `nil` when it does not read back.
    public static func reread(_ evidence: String) -> (message: Message, sealedData: [UInt8]?)? {
        guard let kept = KeptMessage(evidence), let message = kept.message else { return nil }
        return (message, kept.sealedData)
    }
}
