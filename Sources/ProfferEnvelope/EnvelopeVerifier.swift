import ProfferCrypto
import ProfferWire

/// Checks incoming envelopes for one recipient key, in the order PROTOCOL.md §3 gives, and admits each only once.
///
/// ```swift
/// let verifier = EnvelopeVerifier(recipient: myKey.publicKey, replayWindow: ReplayWindow())
/// let verified = try verifier.verify(json: body)
/// ```
public struct EnvelopeVerifier: Sendable {
    /// How far an envelope's `ts` may be from the receiver's clock, either way.
    public static let maximumClockSkew: Int64 = 300
    /// How long a `(from, nonce)` pair is remembered after it arrives (§3: "seen in the last 600 s").
    public static let replayWindowSeconds: Int64 = 600

    public let recipient: SigningPublicKey
    public let replayWindow: ReplayWindow

    public init(recipient: SigningPublicKey, replayWindow: ReplayWindow) {
        self.recipient = recipient
        self.replayWindow = replayWindow
    }

    /// Verifies one envelope's JSON: size, form, version, message, recipient, signature, freshness, then replay.
    /// The signature is checked before anything is remembered or acted on.
    ///
    /// - Throws: ``ProtocolError`` with the first failing check's code.
    public func verify(json bytes: UnsafeBufferPointer<UInt8>, now: Timestamp = .now) throws(ProtocolError)
        -> VerifiedEnvelope
    {
        try verify(try Envelope.decode(json: bytes), now: now)
    }

    /// Verifies an envelope whose form was already read: message, recipient, signature, freshness, then replay.
    public func verify(_ decoded: DecodedEnvelope, now: Timestamp = .now) throws(ProtocolError) -> VerifiedEnvelope {
        let message = try EnvelopeVerifier.checkMessage(decoded)
        guard decoded.recipient == recipient else {
            throw ProtocolError(.notForMe, "the envelope is addressed to another key")
        }
        guard decoded.sender.isValidSignature(decoded.signature, for: decoded.envelope.signingInput) else {
            throw ProtocolError(.badSignature, "the signature does not match the envelope and its \"from\" key")
        }
        let skew = decoded.timestamp.secondsSince1970 - now.secondsSince1970
        guard abs(skew) <= EnvelopeVerifier.maximumClockSkew else {
            throw ProtocolError(
                .stale,
                "\"ts\" is \(abs(skew)) s \(skew < 0 ? "behind" : "ahead of") the receiver's clock; the limit is "
                    + "\(EnvelopeVerifier.maximumClockSkew) s")
        }
        // Remembered for §3's whole window from receipt, not from the envelope's `ts`: the signer could otherwise send
        // the pair again under a later `ts` once the first envelope's own freshness ran out.
        try replayWindow.admit(
            sender: decoded.sender.bytes, nonce: decoded.nonce,
            freshUntil: now.adding(seconds: EnvelopeVerifier.replayWindowSeconds), now: now)
        return VerifiedEnvelope(
            envelope: decoded.envelope, message: message, sender: decoded.sender, timestamp: decoded.timestamp,
            sealedData: decoded.sealedData)
    }

    public func verify(json bytes: [UInt8], now: Timestamp = .now) throws(ProtocolError) -> VerifiedEnvelope {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ProtocolError) in try verify(json: buffer, now: now) }
    }

    /// The `bad-message` checks: `msg` parses, is canonical, and carries `data` only on an `accept`.
    static func checkMessage(_ decoded: DecodedEnvelope) throws(ProtocolError) -> Message {
        let message: Message
        do {
            message = try Message.parse(decoded.envelope.msg)
        } catch {
            throw ProtocolError(.badMessage, "\"msg\" does not parse: \(error)")
        }
        let canonical = message.canonicalForm
        guard canonical == decoded.envelope.msg else {
            throw ProtocolError(.badMessage, "\"msg\" is not in canonical form; it would read: \(canonical)")
        }
        if decoded.sealedData != nil, message.kind != .accept {
            throw ProtocolError(.badMessage, "only an accept carries \"data\"; this is #\(message.kind.rawValue)")
        }
        return message
    }
}
