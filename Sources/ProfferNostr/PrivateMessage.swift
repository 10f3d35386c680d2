import ProfferCrypto
import ProfferWire

/// The private messages of PROTOCOL.md §6.3 as both sides write and read them: a message in canonical form, in a
/// kind-14 rumor, sealed by the sender and gift-wrapped to the receiver; an accept's personal data in a rumor of its
/// own; and what each side keeps of a message as evidence.
public enum PrivateMessage {
    /// A wrap opened and checked as §6.3 says, and what it holds.
    public enum Received: Sendable {
        /// A message: parsed, canonical, with an `id`, and carrying no `data` tag.
        case message(Message, opened: GiftWrap.Opened)
        /// The data rumor of an accept: the accept rumor it goes with (its `e` tag, hex) and the sealed bytes.
        case data(acceptRumorID: String, sealed: [UInt8], opened: GiftWrap.Opened)
    }

    /// Opens `wrap` with the receiver's key and reads what it holds; throws (the message is to be ignored, never
    /// answered) when it has expired (NIP-40) or any check of §6.3 fails.
    public static func read(_ wrap: NostrEvent, with receiver: SchnorrKeyPair, now: Int64) throws(NostrError)
        -> Received
    {
        // NIP-40: an expired wrap is not read (relays may still hold it).
        if let expiration = wrap.expiration, expiration <= now { throw .expired }
        let opened = try GiftWrap.open(wrap, with: receiver, now: now)
        let rumor = opened.rumor
        if rumor.content.isEmpty {
            // p, e and data, each once: nothing else rides with personal data.
            guard rumor.tags.count == 3, let accept = rumor.onlyTagValue("e"), Hex.decode(accept)?.count == 32,
                let data = rumor.onlyTagValue("data"), let sealed = Base64URL.decode(data), !sealed.isEmpty
            else { throw NostrError("an empty rumor that is not an accept's data") }
            return .data(acceptRumorID: accept, sealed: sealed, opened: opened)
        }
        guard rumor.tags.allSatisfy({ $0.first != "data" }) else {
            throw NostrError("data on a rumor other than an accept's data rumor")
        }
        guard let message = try? Message.parse(rumor.content) else { throw NostrError("the message does not parse") }
        guard message.canonicalForm == rumor.content else { throw NostrError("the message is not in canonical form") }
        guard message.id != nil else { throw NostrError("the message has no id") }
        return .message(message, opened: opened)
    }

    /// The message `canonical` from `sender` to `recipient`, sealed and wrapped, the wrap expiring as §6.3 says for a
    /// post expiring at `postExpiration`.
    public static func wrap(
        _ canonical: String, from sender: SchnorrKeyPair, to recipient: SchnorrPublicKey, extraTags: [[String]] = [],
        postExpiration: Int64, now: Int64
    ) throws(NostrError) -> GiftWrap.Wrapped {
        try GiftWrap.wrap(
            GiftWrap.rumor(canonical, from: sender.publicKey, to: recipient, extraTags: extraTags, createdAt: now),
            from: sender, to: recipient,
            expiration: GiftWrap.expiration(postExpiration: postExpiration, now: now), now: now)
    }

    /// An accept and, when it discloses data, the data rumor that goes with it (§6.3): the accept's rumor carries
    /// the data's hash, the data rumor names the accept's rumor.
    public static func wrapAccept(
        _ canonical: String, sealedData: [UInt8]?, from sender: SchnorrKeyPair, to recipient: SchnorrPublicKey,
        postExpiration: Int64, now: Int64
    ) throws(NostrError) -> (accept: GiftWrap.Wrapped, data: GiftWrap.Wrapped?) {
        guard let sealedData else {
            return (try wrap(canonical, from: sender, to: recipient, postExpiration: postExpiration, now: now), nil)
        }
        let accept = try wrap(
            canonical, from: sender, to: recipient, extraTags: [["data-hash", dataHash(of: sealedData)]],
            postExpiration: postExpiration, now: now)
        let data = try GiftWrap.wrap(
            GiftWrap.rumor(
                "", from: sender.publicKey, to: recipient,
                extraTags: [["e", accept.rumor.idHex], ["data", Base64URL.encode(sealedData)]], createdAt: now),
            from: sender, to: recipient,
            expiration: GiftWrap.expiration(postExpiration: postExpiration, now: now), now: now)
        return (accept, data)
    }

    /// The `data-hash` of sealed bytes: hex SHA-256.
    public static func dataHash(of sealed: [UInt8]) -> String { Hex.encode(SHA256.hash(sealed)) }

    /// Whether `accept`'s rumor announces exactly these sealed bytes.
    public static func dataHashMatches(accept rumor: NostrEvent, sealed: [UInt8]) -> Bool {
        rumor.onlyTagValue("data-hash") == dataHash(of: sealed)
    }
}

/// What each side keeps of a private message (§6.3): the seal with its rumor, and the NIP-44 keys of the seal's
/// payload, which open that rumor and nothing else of the conversation; an accept's also keeps the sealed data it
/// carried until it is forgotten. Kept as a JSON object, `{"nostr":{"rumor":…,"seal":…,"keys":hex,"data":b64}}`.
public struct NostrEvidence: Sendable {
    public let rumor: NostrEvent
    public let seal: NostrEvent
    /// The 76 bytes of the payload's message keys (chacha_key, chacha_nonce, hmac_key).
    let keys: [UInt8]
    /// The sealed personal data an accept carried, until the deal is forgotten.
    public let sealedData: [UInt8]?

    public init(rumor: NostrEvent, seal: NostrEvent, keys: NIP44.MessageKeys, sealedData: [UInt8]? = nil) {
        (self.rumor, self.seal, self.keys, self.sealedData) = (rumor, seal, keys.exportedBytes(), sealedData)
    }

    init(rumor: NostrEvent, seal: NostrEvent, keyBytes: [UInt8], sealedData: [UInt8]?) {
        (self.rumor, self.seal, self.keys, self.sealedData) = (rumor, seal, keyBytes, sealedData)
    }

    /// The message the rumor holds, as sent.
    public var canonical: String { rumor.content }
    public var message: Message? { try? Message.parse(rumor.content) }

    /// Whether `text` is kept Nostr evidence rather than a §3 envelope.
    public static func isEvidence(_ text: String) -> Bool { text.utf8.starts(with: "{\"nostr\":".utf8) }

    public var json: String {
        var output = Array("{\"nostr\":{\"rumor\":".utf8)
        NostrJSON.appendObject(rumor, to: &output)
        output.append(contentsOf: ",\"seal\":".utf8)
        NostrJSON.appendObject(seal, to: &output)
        output.append(contentsOf: ",\"keys\":\"\(Hex.encode(keys))\"".utf8)
        if let sealedData { output.append(contentsOf: ",\"data\":\"\(Base64URL.encode(sealedData))\"".utf8) }
        output.append(contentsOf: "}}".utf8)
        return String(decoding: output, as: UTF8.self)
    }

    /// The same evidence without its sealed data (what is kept once a deal is forgotten).
    public var withoutData: NostrEvidence {
        NostrEvidence(rumor: rumor, seal: seal, keyBytes: keys, sealedData: nil)
    }

    /// Reads kept evidence back; `nil` when it is not Nostr evidence or does not hold together.
    public init?(json text: String) {
        guard NostrEvidence.isEvidence(text), case .object(let outer)? = try? StrictJSON.parse(Array(text.utf8)),
            outer.count == 1, case .object(let members) = outer[0].1
        else { return nil }
        var (rumor, seal, keys, data): (NostrEvent?, NostrEvent?, [UInt8]?, [UInt8]?)
        for (name, value) in members {
            switch name {
            case "rumor": rumor = try? NostrJSON.event(from: value, allowingRumor: true)
            case "seal": seal = try? NostrJSON.event(from: value)
            case "keys": keys = value.stringValue.flatMap(Hex.decode)
            case "data": data = value.stringValue.flatMap(Base64URL.decode)
            default: return nil
            }
        }
        guard let rumor, let seal, let keys, keys.count == NIP44.MessageKeys.byteCount else { return nil }
        self.init(rumor: rumor, seal: seal, keyBytes: keys, sealedData: data)
    }

    /// Checks the evidence as anyone given it can: the seal's signature, that its payload opens with the keys kept,
    /// and holds exactly the rumor kept.
    public var holds: Bool {
        var copy = keys
        guard let secret = try? SecretBytes(wiping: &copy), let messageKeys = try? NIP44.MessageKeys(secret: secret)
        else { return false }
        return GiftWrap.verifyEvidence(seal: seal, sealKeys: messageKeys, rumor: rumor)
    }
}
