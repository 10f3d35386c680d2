import ProfferCrypto

/// The events of the NIPs Proffer uses beyond plain notes: NIP-09 deletions, NIP-42 authentication, NIP-13 proof of
/// work, NIP-78 application data and NIP-17's list of relays for private messages.
public enum NostrKinds {
    public static let note = 1
    public static let deletion = 5
    public static let privateMessageRelays = 10050
    public static let applicationData = 30078
    public static let authentication = 22242
    /// The `d` tag of a vendor's profile event (kind 30078, PROTOCOL.md §6.1).
    public static let profileIdentifier = "proffer-profile"

    /// A NIP-09 request that relays delete `eventID` (of `kind`), signed by its author.
    public static func deletion(of eventID: String, kind: Int, by key: SchnorrKeyPair, at createdAt: Int64)
        -> NostrEvent
    {
        NostrEvent.signed(
            kind: deletion, tags: [["e", eventID], ["k", String(kind)]], content: "", createdAt: createdAt, by: key)
    }

    /// A NIP-42 answer to a relay's `challenge`, naming the relay by its URL.
    public static func authentication(relay: String, challenge: String, by key: SchnorrKeyPair, at createdAt: Int64)
        -> NostrEvent
    {
        NostrEvent.signed(
            kind: authentication, tags: [["relay", relay], ["challenge", challenge]], content: "",
            createdAt: createdAt, by: key)
    }

    /// A NIP-78 kind-30078 application-data event, addressed by `identifier` (its `d` tag): the latest one of a key
    /// and identifier replaces the others.
    public static func applicationData(identifier: String, content: String, by key: SchnorrKeyPair, at createdAt: Int64)
        -> NostrEvent
    {
        NostrEvent.signed(
            kind: applicationData, tags: [["d", identifier]], content: content, createdAt: createdAt, by: key)
    }

    /// A NIP-17 kind-10050 list of the relays where `key` reads its private messages.
    public static func privateMessageRelays(_ relays: [String], by key: SchnorrKeyPair, at createdAt: Int64)
        -> NostrEvent
    {
        NostrEvent.signed(
            kind: privateMessageRelays, tags: relays.map { ["relay", $0] }, content: "", createdAt: createdAt, by: key)
    }

    /// The number of leading zero bits of an event id: its NIP-13 difficulty.
    public static func difficulty(of id: [UInt8]) -> Int {
        var bits = 0
        for byte in id {
            guard byte == 0 else { return bits + byte.leadingZeroBitCount }
            bits += 8
        }
        return bits
    }

    /// An event signed by `key` whose id has at least `targetBits` leading zero bits (NIP-13), with a `nonce` tag
    /// committing to that target; it is signed once, after the search. The serialization before the nonce is hashed
    /// once; each try hashes only the nonce and what follows it.
    public static func mined(
        kind: Int, tags: [[String]], content: String, createdAt: Int64, by key: SchnorrKeyPair, targetBits: Int
    ) -> NostrEvent {
        // A placeholder no tag or content can hold before it marks where the nonce goes.
        let placeholder = "\u{1}" + Hex.encode(SecureRandom.bytes(8))
        let template = NostrJSON.idSerialization(
            author: key.publicKey, createdAt: createdAt, kind: kind,
            tags: tags + [["nonce", placeholder, String(targetBits)]], content: content)
        let marker = Array("\"\\u0001".utf8)
        let start = (0...(template.count - marker.count)).first {
            template[$0..<$0 + marker.count].elementsEqual(marker)
        }!
        let prefix = Array(template[...start])
        let suffix = Array(template[(start + 1 + placeholder.utf8.count + 5)...])
        var common = SHA256Hasher()
        common.update(prefix)
        var nonce: UInt64 = 0
        while true {
            var hasher = common
            hasher.update(Array(String(nonce).utf8))
            hasher.update(suffix)
            if difficulty(of: hasher.finalize()) >= targetBits { break }
            nonce += 1
        }
        return NostrEvent.signed(
            kind: kind, tags: tags + [["nonce", String(nonce), String(targetBits)]], content: content,
            createdAt: createdAt, by: key)
    }

    /// The difficulty an event committed to in its `nonce` tag, when its id reaches it; else 0.
    public static func committedDifficulty(of event: NostrEvent) -> Int {
        guard let tag = event.tags.first(where: { $0.first == "nonce" }), tag.count >= 3, let target = Int(tag[2]),
            difficulty(of: event.id) >= target
        else { return 0 }
        return target
    }
}
