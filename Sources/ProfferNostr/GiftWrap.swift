import ProfferCrypto
import ProfferWire

/// NIP-17 private messages in NIP-59 gift wraps: a kind-14 rumor (unsigned), sealed (kind 13, signed by the sender,
/// NIP-44 to the recipient), wrapped (kind 1059, signed by a fresh key, NIP-44 to the recipient). Relays see only
/// the wrap: a random key writing to the recipient at a blurred time.
public enum GiftWrap {
    public static let rumorKind = 14
    public static let sealKind = 13
    public static let wrapKind = 1059
    /// §6.4: a receiver ignores rumors over 4 KiB.
    public static let maximumRumorBytes = 4096
    /// A rumor dated further ahead than this is ignored (§6.3).
    public static let allowedClockSkew: Int64 = 300
    /// Seals and wraps are dated up to two days back, at random, so their times say nothing of when they were sent.
    public static let backdating: Int64 = 2 * 86400

    /// A rumor sealed and wrapped, with what the sender keeps of it.
    public struct Wrapped: Sendable {
        public let wrap: NostrEvent
        public let seal: NostrEvent
        public let rumor: NostrEvent
        public let recipient: SchnorrPublicKey

        /// The keys of the seal's payload: given with the seal, they open this rumor and nothing else (§6.3).
        /// Computed when asked (evidence is kept of a few messages only), from the sender's key.
        public func sealKeys(sender: SchnorrKeyPair) throws(NostrError) -> NIP44.MessageKeys {
            try GiftWrap.payloadKeys(of: seal, mine: sender, theirs: recipient)
        }
    }

    /// A wrap opened and checked, with what the receiver keeps of it.
    public struct Opened: Sendable {
        public let wrap: NostrEvent
        public let seal: NostrEvent
        public let rumor: NostrEvent
        /// The sender: the seal's signer, who is the rumor's author.
        public var sender: SchnorrPublicKey { seal.author }

        /// The keys of the seal's payload (evidence, §6.3), computed when asked from the recipient's key.
        public func sealKeys(recipient: SchnorrKeyPair) throws(NostrError) -> NIP44.MessageKeys {
            try GiftWrap.payloadKeys(of: seal, mine: recipient, theirs: seal.author)
        }
    }

    /// The NIP-44 message keys of an event's payload between `mine` and `theirs`.
    static func payloadKeys(of event: NostrEvent, mine: SchnorrKeyPair, theirs: SchnorrPublicKey) throws(NostrError)
        -> NIP44.MessageKeys
    {
        guard let nonce = NIP44.nonce(of: event.content) else { throw NostrError("the payload is not NIP-44") }
        do {
            return try NIP44.MessageKeys(try NIP44.ConversationKey(mine, theirs), nonce: nonce)
        } catch {
            throw NostrError("the payload's keys cannot be made: \(error)")
        }
    }

    /// A kind-14 rumor by `author` to `recipient`: `content`, a `p` tag naming the recipient, then `extraTags`.
    public static func rumor(
        _ content: String, from author: SchnorrPublicKey, to recipient: SchnorrPublicKey, extraTags: [[String]] = [],
        createdAt: Int64
    ) -> NostrEvent {
        NostrEvent.rumor(
            kind: rumorKind, tags: [["p", recipient.hex]] + extraTags, content: content, createdAt: createdAt,
            author: author)
    }

    /// Seals `rumor` (whose author must be `sender`) and wraps it for `recipient`, the wrap expiring at `expiration`
    /// (NIP-40). Seal and wrap are dated up to two days before `now`, at random; the wrap key is fresh.
    public static func wrap(
        _ rumor: NostrEvent, from sender: SchnorrKeyPair, to recipient: SchnorrPublicKey, expiration: Int64,
        now: Int64
    ) throws(NostrError) -> Wrapped {
        precondition(rumor.author == sender.publicKey && rumor.signature == nil, "a rumor is the sender's, unsigned")
        do {
            let seal = NostrEvent.signed(
                kind: sealKind, content: try NIP44.encrypt(NostrJSON.object(rumor), from: sender, to: recipient),
                createdAt: backdated(now), by: sender)
            let wrapper = try SchnorrKeyPair.generate()
            let wrap = NostrEvent.signed(
                kind: wrapKind, tags: [["p", recipient.hex], ["expiration", String(expiration)]],
                content: try NIP44.encrypt(NostrJSON.object(seal), from: wrapper, to: recipient),
                createdAt: backdated(now), by: wrapper)
            return Wrapped(wrap: wrap, seal: seal, rumor: rumor, recipient: recipient)
        } catch {
            throw NostrError("the message could not be sealed: \(error)")
        }
    }

    /// Opens a wrap addressed to `recipient` and checks every layer as §6.3 says: the wrap's kind and NIP-44 MAC,
    /// the seal's kind, signature and lack of tags, the rumor's id, kind, size and lack of a signature, that the seal's
    /// signer wrote the rumor, that the rumor names the recipient in exactly one `p` tag, and that it is not dated
    /// more than 300 s after `now`. The wrap's own signature was checked when it was read.
    ///
    /// Each opening reads the recipient's secret twice; a listener that opens many keeps it readable meanwhile
    /// (``SchnorrKeyPair/keepingSecretReadable(during:)``), or every reading changes page protections.
    public static func open(_ wrap: NostrEvent, with recipient: SchnorrKeyPair, now: Int64) throws(NostrError)
        -> Opened
    {
        guard wrap.kind == wrapKind else { throw NostrError("not a gift wrap (kind \(wrap.kind))") }
        guard wrap.signature != nil else { throw NostrError("the gift wrap is not signed") }
        let sealJSON: [UInt8]
        do {
            sealJSON = try NIP44.decrypt(wrap.content, with: try NIP44.ConversationKey(recipient, wrap.author))
        } catch {
            throw NostrError("the gift wrap does not open with this key: \(error)")
        }
        let seal = try NostrJSON.event(from: sealJSON)
        guard seal.kind == sealKind else { throw NostrError("the seal is of kind \(seal.kind), not 13") }
        guard seal.tags.isEmpty else { throw NostrError("the seal has tags") }
        let rumorJSON: [UInt8]
        do {
            rumorJSON = try NIP44.decrypt(seal.content, to: recipient, from: seal.author)
        } catch {
            throw NostrError("the seal does not open: \(error)")
        }
        guard rumorJSON.count <= maximumRumorBytes else {
            throw NostrError("the rumor is \(rumorJSON.count) bytes, more than \(maximumRumorBytes)")
        }
        let rumor: NostrEvent
        do {
            rumor = try NostrJSON.event(from: rumorJSON, allowingRumor: true, knownAuthor: seal.author)
        } catch  where error == .unexpectedAuthor {
            throw .sealNotByAuthor
        }
        guard rumor.kind == rumorKind else { throw NostrError("the rumor is of kind \(rumor.kind), not 14") }
        let pTags = rumor.tags.filter { $0.first == "p" }
        guard pTags.count == 1, pTags[0].count >= 2, pTags[0][1] == recipient.publicKey.hex else {
            throw NostrError("the rumor does not name this recipient in exactly one p tag")
        }
        guard rumor.createdAt <= now + allowedClockSkew else { throw .rumorFromFuture }
        return Opened(wrap: wrap, seal: seal, rumor: rumor)
    }

    /// Checks kept evidence: that `seal` is signed by its author and, opened with `sealKeys`, holds `rumor`.
    public static func verifyEvidence(seal: NostrEvent, sealKeys: NIP44.MessageKeys, rumor: NostrEvent) -> Bool {
        guard seal.kind == sealKind, seal.isAuthentic, seal.signature != nil,
            let rumorJSON = try? NIP44.decrypt(seal.content, with: sealKeys),
            let opened = try? NostrJSON.event(from: rumorJSON, allowingRumor: true)
        else { return false }
        return opened == rumor && opened.author == seal.author
    }

    /// §6.3's wrap expiration: the later of `postExpiration` and 30 days from `now`, rounded up to a whole UTC day,
    /// plus up to a day at random, so the time tells nothing of when the wrap was sent.
    public static func expiration(postExpiration: Int64, now: Int64) -> Int64 {
        let later = max(postExpiration, now + 30 * 86400)
        let day: Int64 = 86400
        let rounded = (later + day - 1) / day * day
        return rounded + Int64.random(in: 0...day)
    }

    private static func backdated(_ now: Int64) -> Int64 { now - Int64.random(in: 0...backdating) }
}
