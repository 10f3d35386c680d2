import Foundation
import ProfferEnvelope
import ProfferWire

/// A message that its transport has verified, in the one form the inbox takes, whichever way it came (an envelope
/// over HTTP today; a private message from a relay later): who sent it, what it says, the sealed data it carries,
/// when it arrived, and the evidence to keep of it.
public struct InboundMessage: Sendable {
    /// The key the sender signs with; the records keep everything of a sender under it.
    public let sender: Data
    public let message: Message
    /// The message in canonical form, as signed.
    public let canonical: String
    /// The sealed personal data an accept carries.
    public let sealedData: [UInt8]?
    public let receivedAt: Timestamp
    /// What the vendor keeps of the message as its signed record (an envelope's JSON).
    public let evidence: String
    /// The transport's unit of replay (an envelope's nonce), and until when a copy of it is refused.
    public let replayToken: Data
    public let replayUntil: Int64
    /// Signs the inbox's replies to this message as its transport sends them.
    public let replies: any ReplySigner
    /// Whether an intent received before is answered again with its offers (over HTTP, where a lost answer is
    /// recovered by sending again); a public intent is answered once, however many relays and instances read it.
    public var answersRepeats = true
    /// How many open intents the sender may have here (§6.4: one per cast key for public intents).
    public var intentQuota = VendorLimits.openIntentsPerSender
    /// The transport it came by, as the vendor's desk shows it.
    public var transport = IntentTransport.http

    public init(
        sender: Data, message: Message, canonical: String, sealedData: [UInt8]?, receivedAt: Timestamp,
        evidence: String, replayToken: Data, replayUntil: Int64, replies: any ReplySigner
    ) {
        (self.sender, self.message, self.canonical, self.sealedData) = (sender, message, canonical, sealedData)
        (self.receivedAt, self.evidence, self.replayToken, self.replayUntil) = (
            receivedAt, evidence, replayToken, replayUntil
        )
        self.replies = replies
    }
}

/// Turns a reply in canonical form into what its transport sends, signed by the vendor and addressed to the sender:
/// the inbox keeps what this returns as the vendor's evidence (a deal's confirm).
public protocol ReplySigner: Sendable {
    func signed(_ canonical: String) -> String
}

/// What the inbox made of a message.
public enum InboxOutcome: Sendable {
    /// The replies, each as its transport sends it (possibly none).
    case replies([String])
    /// The message was refused: a protocol error with its code.
    case refused(ProtocolError)
    /// The vendor failed to store what it should have (the operator's log says why).
    case failed
}
