import Foundation
import ProfferCrypto
import ProfferWire

/// A face the person shows vendors; preferences and sharing rules are kept per persona.
public struct Persona: Codable, Hashable, Sendable {
    public static let defaultName = "default"
    public var name: String
    public let createdAt: Date
    /// What the persona's pairwise keys are derived from, fixed when it is made, so a rename keeps the keys vendors
    /// know. Personas made before labels existed derive from their name, which a rename then keeps here.
    public var identityLabel: String?

    /// The label the persona's pairwise keys are derived from.
    public var keyLabel: String { identityLabel ?? name }
}

/// Whether a piece of personal data may leave the vault: `never`, only when the person says so (`ask`), or
/// whenever a deal needs it (`always`).
public enum SharingRule: String, Codable, CaseIterable, Sendable {
    case never, ask, always
}

/// A stored preference: personal data (its key is a data category such as `email`) or a setting of the agent.
public struct Preference: Codable, Hashable, Sendable {
    public var persona: String
    public let key: String
    public let value: String
    /// The sharing rule, for personal data; `nil` for agent settings.
    public let share: SharingRule?
    public let updatedAt: Date

    /// The data category this preference holds, when it is personal data.
    public var dataCategory: DataCategory? { DataCategory(rawValue: key) }
}

/// The agent's own settings, kept beside the personal data.
public enum AgentSetting: String, CaseIterable, Sendable {
    case defaultTerms = "terms.default"
    case defaultRegion = "region.default"
    case defaultCurrency = "currency.default"
    case publishTimeout = "publish.timeout"
    case forgetAfter = "forget.after"
    case nostrRelays = "nostr.relays"

    /// What the setting does and how its value is written, for `--help`.
    public var summary: String {
        switch self {
        case .defaultTerms:
            "registered terms proffered when an intent names none, each once (e.g. sd-base or sd-base,pdc-intent; "
                + "see `proffer msg terms`)"
        case .defaultRegion: "region added when an intent names none (e.g. DE or US-CA)"
        case .defaultCurrency: "currency assumed for amounts written without one (e.g. EUR)"
        case .publishTimeout: "seconds each vendor's whole exchange may take (1 to 600), for the whole vault"
        case .forgetAfter:
            "how long a vendor may hold your data before `proffer due` asks you to have it forgotten, such as 90d or "
                + "12w (days or weeks), for the whole vault"
        case .nostrRelays:
            "1 to 3 Nostr relays, comma-separated, where public intents are cast and their answers read: wss:// URLs "
                + "(ws:// only to this machine), the same for every intent so the choice links none; for the whole vault"
        }
    }

    /// Whether the setting applies to the whole vault rather than to one persona.
    public var isVaultWide: Bool { self == .publishTimeout || self == .forgetAfter || self == .nostrRelays }

    /// A valid value one typo away from `value`, for the settings whose values come from a registry.
    func nearestValid(to value: String) -> String? {
        guard self == .defaultTerms else { return nil }
        let registered = TermsDefinition.registry.map(\.id.description)
        let parts = value.lowercased().split(separator: ",").map { part in
            TermsDefinition.lookup(TermsID(String(part)) ?? TermsID("x")!) != nil
                ? String(part) : Suggestions.nearest(to: String(part), among: registered)
        }
        guard parts.allSatisfy({ $0 != nil }) else { return nil }
        let suggestion = parts.compactMap { $0 }.joined(separator: ",")
        return suggestion == value ? nil : suggestion
    }

    /// Checks a value and returns it in canonical form.
    func canonical(_ value: String) -> String? {
        switch self {
        case .defaultTerms:
            // Only registered terms, each once: an unknown id would be proffered without anyone knowing its meaning.
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            let ids = parts.compactMap { TermsID(String($0)) }.filter { TermsDefinition.lookup($0) != nil }
            guard ids.count == parts.count, Set(ids).count == ids.count else { return nil }
            return ids.map(\.description).joined(separator: ",")
        case .defaultRegion:
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            let regions = parts.compactMap { Region(String($0)) }
            guard regions.count == parts.count, Set(regions).count == regions.count else { return nil }
            return regions.map(\.description).joined(separator: ",")
        case .defaultCurrency:
            return CurrencyCode(value)?.description
        case .publishTimeout:
            guard let seconds = Int(value), (1...600).contains(seconds) else { return nil }
            return String(seconds)
        case .forgetAfter:
            guard let span = TimeSpan(value), span.unit == .days || span.unit == .weeks else { return nil }
            return span.description
        case .nostrRelays:
            let relays = value.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            guard (1...3).contains(relays.count), relays.allSatisfy(NostrReply.isUsableRelay),
                Set(relays).count == relays.count
            else { return nil }
            return relays.joined(separator: ",")
        }
    }
}

/// Where an intent stands.
public enum IntentState: String, Codable, CaseIterable, Sendable {
    case draft, published, withdrawn, expired, fulfilled
}

/// An intent kept in the vault: its message and state.
public struct StoredIntent: Hashable, Sendable {
    public let message: Message
    /// The canonical form: what gets published. Kept beside the message so it is written once, not per use.
    public let canonical: String
    public var persona: String
    public var state: IntentState
    public let createdAt: Date
    public var updatedAt: Date
    /// The vendors the intent was sent to, so a withdrawal reaches each of them.
    public var sentTo: [String]?
    /// The id each vendor knows this intent by. Every vendor gets its own, so vendors comparing notes cannot link
    /// the person by message id. A vendor missing here (intents sent before per-vendor ids) knows ``id``.
    public var vendorIDs: [String: MessageID]?
    /// Vendors a withdrawal has not reached yet; `intent withdraw` tries them again.
    public var untold: [String]?
    /// Why each vendor that answered without an offer made none, in its own words (PROTOCOL.md §4.1).
    public var declinedBy: [String: String]?
    /// Where and how the intent was cast in public (PROTOCOL.md §6), if it was.
    public var cast: PublicCast?

    /// The intent's message id. Every stored intent has one. Vendors see their own (``id(toward:)``).
    public var id: MessageID { message.id ?? MessageID(bits: 0) }

    /// The id `vendor` knows this intent by.
    public func id(toward vendor: String) -> MessageID { vendorIDs?[vendor] ?? id }

    /// Whether the intent keeps anything under the vendor name `vendor`.
    func mentions(vendor name: String) -> Bool {
        vendorIDs?[name] != nil || sentTo?.contains(name) == true || untold?.contains(name) == true
    }

    /// Keeps what the intent holds under the vendor name `name` under `newName` instead: the vendor was removed, and
    /// its name may be given to another, but the intent's history (who got it, who was never told) stays.
    mutating func rename(vendor name: String, to newName: String) {
        func renamed(_ list: [String]?) -> [String]? {
            list.map { Array(Set($0.map { $0 == name ? newName : $0 })).sorted() }
        }
        (sentTo, untold) = (renamed(sentTo), renamed(untold))
        if let id = vendorIDs?.removeValue(forKey: name) { vendorIDs?[newName] = id }
        if let why = declinedBy?.removeValue(forKey: name) { declinedBy?[newName] = why }
    }

    /// Lets go of what the intent keeps under the vendor name `vendor`: the vendor of that name is gone.
    mutating func forget(vendor name: String) {
        vendorIDs?[name] = nil
        declinedBy?[name] = nil
        sentTo?.removeAll { $0 == name }
        untold?.removeAll { $0 == name }
    }

    /// When the intent lapses: the end of its `by:` day, or its `exp` (a date's end, or a duration from creation),
    /// whichever comes first.
    public var lapsesAt: Date? {
        [message.by, message.exp].compactMap { $0?.end(countingFrom: createdAt) }.min()
    }

    /// The state as of `now`: a draft or published intent past its `by`/`exp` is `expired`.
    public func state(at now: Date) -> IntentState {
        guard state == .draft || state == .published, let lapse = lapsesAt, lapse <= now else { return state }
        return .expired
    }

    init(
        message: Message, canonical: String? = nil, persona: String, state: IntentState, createdAt: Date,
        updatedAt: Date, sentTo: [String]? = nil
    ) {
        (self.message, self.canonical) = (message, canonical ?? message.canonicalForm)
        (self.persona, self.state, self.createdAt, self.updatedAt, self.sentTo) = (
            persona, state, createdAt, updatedAt, sentTo
        )
    }
}

/// A public intent's cast (PROTOCOL.md §6.2): its own id, which no vendor got over §4 and from which its cast key is
/// derived, the relays its answers go to, its post, and how far its answers were read.
public struct PublicCast: Codable, Hashable, Sendable {
    public let publicID: MessageID
    /// The relays in the post's `reply`, where answers are read.
    public let relays: [String]
    /// The post as published (NIP-01 JSON), to show and to publish again.
    public let post: String
    public let postID: String
    public let postedAt: Date
    /// The post's NIP-40 expiration.
    public let expiresAt: Date
    /// The latest wrap time read by `inbox` (Unix seconds); the next read starts two days before it (wraps are
    /// backdated).
    public var readUntil: Int64?
    /// What the last read of its answers ignored, by reason (wraps are read again for two days, so these are not
    /// added up across reads).
    public var ignored: [String: Int]?

    public init(publicID: MessageID, relays: [String], post: String, postID: String, postedAt: Date, expiresAt: Date) {
        (self.publicID, self.relays, self.post, self.postID) = (publicID, relays, post, postID)
        (self.postedAt, self.expiresAt) = (postedAt, expiresAt)
    }
}

/// A vendor the person deals with.
public struct Vendor: Hashable, Sendable {
    public let name: String
    public var baseURL: String
    /// The vendor's Ed25519 key, pinned at first contact.
    public var signingKey: SigningPublicKey?
    /// The vendor's X25519 key for sealed disclosures, pinned with the signing key.
    public var boxKey: BoxPublicKey?
    public var terms: [TermsID]
    /// The intent categories the vendor serves (prefixes such as `camera`).
    public var categories: [IntentCategory]
    public let addedAt: Date
    /// The name the vendor gives itself in its profile.
    public var profileName: String?
    /// A random label fixed when the vendor is added: the person's pairwise identity toward this vendor is derived
    /// from it, so renaming the vendor or re-pinning its key keeps the identity.
    public var identityLabel: String?
    /// The label the person's pairwise identity toward this vendor, and the vendor's offers, are kept under.
    public var keyLabel: String { identityLabel ?? name }
    /// Whether the person allowed plain http to a host that is not this machine (`vendor add --allow-http`).
    public var allowsHTTP: Bool
    /// The `ts` of the profile whose keys are pinned: an older profile is refused as a replay.
    public var profileTime: String?
    /// The person's own notes on the vendor (a late delivery, a broken promise), oldest first.
    public var notes: [VendorNote]?
    /// The last time the vendor presented other keys than the pinned ones (or an older profile), until the person
    /// re-pins: nothing is sent to it meanwhile.
    public var keyChange: PresentedKeyChange?
    /// The vendor's Nostr key and relays (PROTOCOL.md §6.1), pinned with its other keys when its profile names them:
    /// private messages about public intents from this key are this vendor's.
    public var nostrKey: SchnorrPublicKey?
    public var relays: [String]?
    /// Set while the vendor is not pinned: it answered a public intent, and its profile was found on this relay
    /// (PROTOCOL.md §6.3). Nothing is sent to it until the person pins it.
    public var foundOn: String?
    /// Whether the person pinned this vendor's keys (`vendor add`, or an accept that pinned it).
    public var isPinned: Bool { foundOn == nil }
    /// Whether the vendor is reached over Nostr only: it has no HTTP endpoint (its URL is its `nostr:npub1…`).
    public var isNostrOnly: Bool { baseURL.hasPrefix("nostr:") }

    public init(
        name: String, baseURL: String, signingKey: SigningPublicKey? = nil, boxKey: BoxPublicKey? = nil,
        terms: [TermsID] = [], categories: [IntentCategory] = [], addedAt: Date = Date(), profileName: String? = nil,
        identityLabel: String? = nil, allowsHTTP: Bool = false, profileTime: String? = nil
    ) {
        (self.name, self.baseURL, self.signingKey, self.boxKey) = (name, baseURL, signingKey, boxKey)
        (self.terms, self.categories, self.addedAt) = (terms, categories, addedAt)
        (self.profileName, self.identityLabel) = (profileName, identityLabel)
        (self.allowsHTTP, self.profileTime) = (allowsHTTP, profileTime)
    }
}

/// A note the person keeps on a vendor, sealed with the vendor's record.
public struct VendorNote: Codable, Hashable, Sendable {
    public let at: Date
    public let text: String

    public init(at: Date, text: String) { (self.at, self.text) = (at, text) }
}

/// A vendor seen presenting other keys than the pinned ones.
public struct PresentedKeyChange: Codable, Hashable, Sendable {
    public let at: Date
    /// What differed, with both fingerprints where there are two.
    public let what: String

    public init(at: Date, what: String) { (self.at, self.what) = (at, what) }
}

/// Where an offer stands in the person's vault.
public enum OfferState: String, Codable, CaseIterable, Sendable {
    /// Received and still open to counter, accept or decline.
    case open
    /// Replaced by the vendor's answer to a counter.
    case countered
    /// The vendor declined a counter to it.
    case refused
    case accepted, declined, withdrawn
}

/// An offer a vendor made, kept with its signed envelope.
public struct StoredOffer: Hashable, Sendable {
    public let vendor: String
    public let intentID: MessageID
    /// The vendor's signed envelope, as received.
    public let envelope: String
    /// The offer's message.
    public let message: Message
    public let receivedAt: Date
    /// When the offer lapses: its `exp`, counted from the envelope's `ts` for a duration.
    public let expiresAt: Date?
    public var state: OfferState
    /// The identity label of the vendor that sent it (``Vendor/keyLabel``): offer ids are the vendor's own, so an
    /// offer is kept under (vendor, id). `nil` for offers stored before, which are kept under their id alone.
    public let vendorLabel: String?

    public init(
        vendor: String, intentID: MessageID, envelope: String, message: Message, receivedAt: Date, expiresAt: Date?,
        state: OfferState = .open, vendorLabel: String? = nil
    ) {
        (self.vendor, self.intentID, self.envelope, self.message) = (vendor, intentID, envelope, message)
        (self.receivedAt, self.expiresAt, self.state, self.vendorLabel) = (receivedAt, expiresAt, state, vendorLabel)
    }

    /// The same offer, kept under `label` (a migration gives offers stored before labels theirs).
    func labelled(_ label: String) -> StoredOffer {
        StoredOffer(
            vendor: vendor, intentID: intentID, envelope: envelope, message: message, receivedAt: receivedAt,
            expiresAt: expiresAt, state: state, vendorLabel: label)
    }

    /// Where the offer is kept: its vendor and its id.
    public var key: OfferKey { OfferKey(vendor: vendor, vendorLabel: vendorLabel, id: id) }

    /// The offer's message id. Every stored offer has one.
    public var id: MessageID { message.id ?? MessageID(bits: 0) }
    /// The offer's canonical message.
    public var canonical: String { message.canonicalForm }
    /// The short name people type: `vendor/offerid`.
    public var name: String { vendor + "/" + id.description }
}

/// What an offer is kept under (PROTOCOL.md §4.1): the vendor that made it, by its identity label (a vendor removed
/// and added again under its name is another one), and its id. Offers stored before labels name their vendor by name.
public struct OfferKey: Hashable, Sendable {
    public let vendor: String
    public let vendorLabel: String?
    public let id: MessageID

    public init(vendor: String, vendorLabel: String?, id: MessageID) {
        (self.vendor, self.vendorLabel, self.id) = (vendor, vendorLabel, id)
    }
}

/// Where a deal stands.
public enum DealState: String, CaseIterable, Sendable {
    /// Written, with its audit entry, just before the accept leaves. A deal still `sending` later means the process
    /// stopped in the middle: whether the vendor got it is unknown, so `deal retry` sends it again.
    case sending
    /// The accept was not delivered, or the vendor gave no valid answer. `deal retry` sends it again.
    case unconfirmed
    case confirmed
    /// The vendor declined the accept.
    case declined
    /// A forget was asked for and the vendor has not confirmed it (it may not have been delivered): `deal forget`
    /// tries again.
    case forgetPending = "forget-pending"
    /// The vendor confirmed that it deleted the disclosed data.
    case forgotten

    /// Whether the vendor may hold the data disclosed under the deal: it received the sealed data unless the deal was
    /// forgotten, whatever it answered (a vendor that declined had the data in hand too).
    public var vendorMayHoldData: Bool { self != .forgotten }
    /// Whether the accept can be sent again with `deal retry`.
    public var canRetry: Bool { self == .sending || self == .unconfirmed }
}

extension DealState: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        // Vaults written before forgets were tracked until confirmed said "forget-requested".
        guard let state = text == "forget-requested" ? .forgetPending : DealState(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "deal state"))
        }
        self = state
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A deal: the person's signed accept and the vendor's signed answer, with what was disclosed under which terms.
public struct StoredDeal: Codable, Hashable, Sendable {
    /// The accept's message id.
    public let id: MessageID
    public let vendor: String
    public var persona: String
    public let offerID: MessageID
    public let intentID: MessageID
    /// What was bought and for how much, from the offer, so listings need not look the offer up.
    public var item: String?
    /// The unit price, and how many units (the offer's `qty`; `nil` for one, or for deals made before it was kept).
    public var price: Money?
    public var quantity: Int?
    public var acceptEnvelope: String
    public var replyEnvelope: String?
    /// The data categories disclosed (never their values).
    public let disclosed: [DataCategory]
    public let terms: [TermsID]
    public let createdAt: Date
    public var state: DealState
    public var forgetEnvelope: String?
    public var forgetReplyEnvelope: String?
    /// Whether a forget reached the vendor (it answered), so the audit log says "asked" only once it is true.
    public var forgetDelivered: Bool?
    /// What went wrong at the last exchange, or why the vendor declined, in words for the person.
    public var problem: String?
    /// The identity labels of the vendor and persona the deal was made with: a vendor or persona removed and made
    /// again under the same name is another party, and nothing of this deal is sent to or signed as it.
    public var vendorLabel: String?
    public var personaLabel: String?
    /// The pinned box key (base64url) the accept's data was sealed to, so a retry resends exactly that data only while
    /// the vendor still holds that key.
    public var sealedTo: String?
    /// When the person said the goods or service arrived (`proffer deal received`).
    public var receivedAt: Date?
    /// When the person first asked for a forget, by this machine's clock (the envelope's `ts` is set back at random).
    public var forgetAskedAt: Date?
    /// The vendor's profile name and base URL when the accept was sent: its consent records name the controller as
    /// it was then, whatever it is called or wherever it moves later.
    public var vendorProfileName: String?
    public var vendorURL: String?

    public init(
        id: MessageID, vendor: String, persona: String, offerID: MessageID, intentID: MessageID,
        acceptEnvelope: String, replyEnvelope: String?, disclosed: [DataCategory], terms: [TermsID], createdAt: Date,
        state: DealState
    ) {
        (self.id, self.vendor, self.persona, self.offerID, self.intentID) = (id, vendor, persona, offerID, intentID)
        (self.acceptEnvelope, self.replyEnvelope, self.disclosed, self.terms) = (
            acceptEnvelope, replyEnvelope, disclosed, terms
        )
        (self.createdAt, self.state) = (createdAt, state)
    }
}

extension Vendor {
    /// The categories of the intents this vendor made offers for: the vocabulary it answers, learned from its answers.
    public func categoriesOffered(offers: [StoredOffer], intents: [StoredIntent]) -> Set<IntentCategory> {
        let answered = Set(offers.filter { $0.isFrom(self) }.map(\.intentID))
        return Set(intents.filter { answered.contains($0.id) }.compactMap(\.message.category))
    }
}

extension StoredOffer {
    /// Whether `vendor` sent this offer: by its identity label, or, for offers stored before labels, by its name,
    /// received since the vendor was added (a vendor added under a freed name sent none of the older offers).
    public func isFrom(_ vendor: Vendor) -> Bool {
        guard vendor.name.lowercased() == self.vendor.lowercased() else { return false }
        if let vendorLabel { return vendorLabel == vendor.keyLabel }
        return receivedAt >= vendor.addedAt
    }
}

extension StoredDeal {
    /// Where the offer the deal accepted is kept.
    public var offerKey: OfferKey { OfferKey(vendor: vendor, vendorLabel: vendorLabel, id: offerID) }
}

/// A vendor reply already accepted, remembered by (sender key, nonce) so a copy is refused even in a later run.
struct SeenReply: Codable, Hashable, Sendable {
    /// Keyed hash of the sender key and nonce: the lookup value, kept sealed too so the record names itself.
    let token: [UInt8]
    /// After this (seconds since 1970) a copy would be refused as stale anyway, so the record can go.
    let freshUntil: Int64
}

// MARK: - Stored forms

// The JSON inside sealed records keeps format 1's field names and text forms (keys as base64url, ids and terms as
// text), so format-1 vaults and exports decode with the same code.

extension StoredIntent: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, canonical, persona, state, createdAt, updatedAt, sentTo, vendorIDs, untold, declinedBy, cast
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let canonical = try container.decode(String.self, forKey: .canonical)
        guard let message = try? Message.parse(canonical), message.kind.isIntent, message.id != nil else {
            throw DecodingError.dataCorruptedError(
                forKey: .canonical, in: container, debugDescription: "not an intent with an id")
        }
        self.message = message
        self.canonical = message.canonicalForm
        persona = try container.decode(String.self, forKey: .persona)
        state = try container.decode(IntentState.self, forKey: .state)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        sentTo = try container.decodeIfPresent([String].self, forKey: .sentTo)
        vendorIDs = try container.decodeIfPresent([String: MessageID].self, forKey: .vendorIDs)
        untold = try container.decodeIfPresent([String].self, forKey: .untold)
        declinedBy = try container.decodeIfPresent([String: String].self, forKey: .declinedBy)
        cast = try container.decodeIfPresent(PublicCast.self, forKey: .cast)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(canonical, forKey: .canonical)
        try container.encode(persona, forKey: .persona)
        try container.encode(state, forKey: .state)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(sentTo, forKey: .sentTo)
        try container.encodeIfPresent(vendorIDs, forKey: .vendorIDs)
        try container.encodeIfPresent(untold, forKey: .untold)
        try container.encodeIfPresent(declinedBy, forKey: .declinedBy)
        try container.encodeIfPresent(cast, forKey: .cast)
    }
}

extension StoredOffer: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, vendor, intentID, envelope, canonical, receivedAt, expiresAt, state, vendorLabel
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let canonical = try container.decode(String.self, forKey: .canonical)
        guard let message = try? Message.parse(canonical), message.kind == .offer, message.id != nil else {
            throw DecodingError.dataCorruptedError(
                forKey: .canonical, in: container, debugDescription: "not an offer with an id")
        }
        self.message = message
        vendor = try container.decode(String.self, forKey: .vendor)
        intentID = try container.decode(MessageID.self, forKey: .intentID)
        envelope = try container.decode(String.self, forKey: .envelope)
        receivedAt = try container.decode(Date.self, forKey: .receivedAt)
        expiresAt = try container.decodeIfPresent(Date.self, forKey: .expiresAt)
        state = try container.decode(OfferState.self, forKey: .state)
        vendorLabel = try container.decodeIfPresent(String.self, forKey: .vendorLabel)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(vendor, forKey: .vendor)
        try container.encode(intentID, forKey: .intentID)
        try container.encode(envelope, forKey: .envelope)
        try container.encode(canonical, forKey: .canonical)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(vendorLabel, forKey: .vendorLabel)
    }
}

extension Vendor: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, baseURL, signingKey, boxKey, terms, categories, addedAt, profileName, identityLabel, allowsHTTP
        case profileTime, notes, keyChange, nostrKey, relays, foundOn
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        baseURL = try container.decode(String.self, forKey: .baseURL)
        signingKey = try Vendor.decodeKey(container, .signingKey) { try SigningPublicKey($0) }
        boxKey = try Vendor.decodeKey(container, .boxKey) { try BoxPublicKey(storedBytes: $0) }
        terms = try container.decode([TermsID].self, forKey: .terms)
        categories = try container.decode([IntentCategory].self, forKey: .categories)
        addedAt = try container.decode(Date.self, forKey: .addedAt)
        profileName = try container.decodeIfPresent(String.self, forKey: .profileName)
        identityLabel = try container.decodeIfPresent(String.self, forKey: .identityLabel)
        allowsHTTP = try container.decodeIfPresent(Bool.self, forKey: .allowsHTTP) ?? false
        profileTime = try container.decodeIfPresent(String.self, forKey: .profileTime)
        notes = try container.decodeIfPresent([VendorNote].self, forKey: .notes)
        keyChange = try container.decodeIfPresent(PresentedKeyChange.self, forKey: .keyChange)
        if let hex = try container.decodeIfPresent(String.self, forKey: .nostrKey) {
            guard let key = try? SchnorrPublicKey(hex: hex) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .nostrKey, in: container, debugDescription: "not a secp256k1 key")
            }
            nostrKey = key
        }
        relays = try container.decodeIfPresent([String].self, forKey: .relays)
        foundOn = try container.decodeIfPresent(String.self, forKey: .foundOn)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(baseURL, forKey: .baseURL)
        try container.encodeIfPresent(signingKey.map { Base64URL.encode($0.bytes) }, forKey: .signingKey)
        try container.encodeIfPresent(boxKey.map { Base64URL.encode($0.bytes) }, forKey: .boxKey)
        try container.encode(terms, forKey: .terms)
        try container.encode(categories, forKey: .categories)
        try container.encode(addedAt, forKey: .addedAt)
        try container.encodeIfPresent(profileName, forKey: .profileName)
        try container.encodeIfPresent(identityLabel, forKey: .identityLabel)
        if allowsHTTP { try container.encode(allowsHTTP, forKey: .allowsHTTP) }
        try container.encodeIfPresent(profileTime, forKey: .profileTime)
        try container.encodeIfPresent(notes, forKey: .notes)
        try container.encodeIfPresent(keyChange, forKey: .keyChange)
        try container.encodeIfPresent(nostrKey?.hex, forKey: .nostrKey)
        try container.encodeIfPresent(relays, forKey: .relays)
        try container.encodeIfPresent(foundOn, forKey: .foundOn)
    }

    private static func decodeKey<Key>(
        _ container: KeyedDecodingContainer<CodingKeys>, _ field: CodingKeys, _ make: ([UInt8]) throws -> Key
    ) throws -> Key? {
        guard let text = try container.decodeIfPresent(String.self, forKey: field) else { return nil }
        guard let bytes = Base64URL.decode(text), let key = try? make(bytes) else {
            throw DecodingError.dataCorruptedError(forKey: field, in: container, debugDescription: "not a public key")
        }
        return key
    }
}

extension When {
    /// When this `by`/`exp` has passed: the end of a date's day (UTC), or a duration after `start`.
    public func end(countingFrom start: Date) -> Date {
        switch self {
        case .after(let span): start.addingTimeInterval(TimeInterval(span.seconds))
        case .date(let day): day.endOfDay
        }
    }
}

extension CalendarDate {
    /// The end of this day in UTC: when a `by:` or `exp:` date has passed.
    public var endOfDay: Date {
        Date(
            timeIntervalSince1970: TimeInterval(
                (CalendarDate.daysFromCivil(year: year, month: month, day: day) + 1) * 86_400))
    }
}

/// How records that outlive a removed vendor or persona name it: `cameras (removed)`, a name nothing can be given
/// (names hold no spaces), so another vendor or persona of the old name is never taken for it.
public enum RemovedName {
    public static func of(_ name: String) -> String { name + suffix }

    /// The name in `cameras (removed)`, or `nil` when `shown` is not such a name.
    public static func original(in shown: String) -> String? {
        shown.hasSuffix(suffix) ? String(shown.dropLast(suffix.count)) : nil
    }

    private static let suffix = " (removed)"
}
