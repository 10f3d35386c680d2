import ProfferCrypto
import ProfferWire

/// A Nostr event (NIP-01): signed by its author's secp256k1 key, or unsigned (a NIP-59 rumor). Made here with
/// ``signed(kind:tags:content:createdAt:by:)`` or ``rumor(kind:tags:content:createdAt:author:)``; read from relays
/// with ``NostrEvent/parse(_:)``, which checks its id and signature before anything else of it is used.
public struct NostrEvent: Hashable, Sendable, CustomStringConvertible {
    /// The SHA-256 of the event's NIP-01 serialization.
    public let id: [UInt8]
    public let author: SchnorrPublicKey
    /// Unix seconds, as the author says.
    public let createdAt: Int64
    public let kind: Int
    public let tags: [[String]]
    public let content: String
    /// The BIP-340 signature of ``id``; `nil` for a rumor.
    public let signature: [UInt8]?

    /// The id as Nostr writes it: 64 lowercase hex digits.
    public var idHex: String { Hex.encode(id) }

    public var description: String { "event \(idHex.prefix(12))… kind \(kind) by \(author.hex.prefix(12))…" }

    /// An event signed by `key`.
    public static func signed(
        kind: Int, tags: [[String]] = [], content: String, createdAt: Int64, by key: SchnorrKeyPair
    ) -> NostrEvent {
        let id = eventID(author: key.publicKey, createdAt: createdAt, kind: kind, tags: tags, content: content)
        return NostrEvent(
            id: id, author: key.publicKey, createdAt: createdAt, kind: kind, tags: tags, content: content,
            signature: key.signature(for: id))
    }

    /// An unsigned event with its id (a NIP-59 rumor): whoever holds it cannot prove to others who wrote it.
    public static func rumor(
        kind: Int, tags: [[String]] = [], content: String, createdAt: Int64, author: SchnorrPublicKey
    ) -> NostrEvent {
        NostrEvent(
            id: eventID(author: author, createdAt: createdAt, kind: kind, tags: tags, content: content),
            author: author, createdAt: createdAt, kind: kind, tags: tags, content: content, signature: nil)
    }

    /// The NIP-01 id of an event with these fields, as the network computes it.
    public static func eventID(
        author: SchnorrPublicKey, createdAt: Int64, kind: Int, tags: [[String]], content: String
    ) -> [UInt8] {
        SHA256.hash(
            NostrJSON.idSerialization(author: author, createdAt: createdAt, kind: kind, tags: tags, content: content))
    }

    /// Whether the id is the hash of the fields, and (for a signed event) the signature is the author's over it. For
    /// text holding a control character other than NIP-01's seven, an id made with it written as it is (NIP-01's
    /// letter) is accepted as well as one made with `\u00XX` (the network's JSON writers).
    public var isAuthentic: Bool {
        let asTheNetwork = NostrEvent.eventID(
            author: author, createdAt: createdAt, kind: kind, tags: tags, content: content)
        guard
            id == asTheNetwork
                || (holdsOtherControlCharacters
                    && id
                        == SHA256.hash(
                            NostrJSON.idSerialization(
                                author: author, createdAt: createdAt, kind: kind, tags: tags, content: content,
                                escaping: .nip01)))
        else { return false }
        guard let signature else { return true }
        return author.isValidSignature(signature, for: id)
    }

    /// Whether any text of the event holds a control character NIP-01 does not name (its ids can be computed two ways).
    private var holdsOtherControlCharacters: Bool {
        func holds(_ text: String) -> Bool {
            text.utf8.contains { $0 < 0x20 && ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains($0) }
        }
        return holds(content) || tags.contains { $0.contains(where: holds) }
    }

    /// The values of the tags named `name`, each the tag's second element.
    public func tagValues(_ name: String) -> [String] {
        tags.compactMap { $0.count >= 2 && $0[0] == name ? $0[1] : nil }
    }

    /// The value of the only tag named `name`; `nil` when there is none or more than one.
    public func onlyTagValue(_ name: String) -> String? {
        let values = tagValues(name)
        return values.count == 1 ? values[0] : nil
    }

    /// The NIP-40 expiration, when the event has exactly one valid `expiration` tag.
    public var expiration: Int64? { onlyTagValue("expiration").flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil } }

    init(
        id: [UInt8], author: SchnorrPublicKey, createdAt: Int64, kind: Int, tags: [[String]], content: String,
        signature: [UInt8]?
    ) {
        (self.id, self.author, self.createdAt, self.kind) = (id, author, createdAt, kind)
        (self.tags, self.content, self.signature) = (tags, content, signature)
    }
}

/// Why an event or a relay's message was refused. Never carries key material.
public struct NostrError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// An event read with a known author turned out to be by another key.
    public static let unexpectedAuthor = NostrError("the event is not by the expected key")
    /// A seal signed by another key than its rumor's author (PROTOCOL.md §6.3).
    public static let sealNotByAuthor = NostrError("the seal's signer did not write the rumor")
    /// An event whose NIP-40 `expiration` has passed.
    public static let expired = NostrError("the event has expired (NIP-40)")
    /// A rumor dated more than ``GiftWrap/allowedClockSkew`` seconds ahead (§6.3).
    public static let rumorFromFuture = NostrError("the rumor is dated more than 300 s ahead")
    /// A relay sent an event for a subscription the reader does not have.
    public static let unknownSubscription = NostrError("an event for a subscription not made here")
    /// A well-formed event refused for its size: larger than 64 KiB, more tags or longer tags than are read.
    public static let refusedContent = NostrError(
        "the event is larger than \(NostrJSON.maximumEventBytes / 1024) KiB, or has more than \(NostrJSON.maximumTags) tags "
            + "or a tag of more than \(NostrJSON.maximumTagLength) strings")
}
