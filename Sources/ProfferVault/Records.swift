import Foundation
import ProfferWire

/// A face the person shows vendors; preferences and sharing rules are kept per persona.
public struct Persona: Codable, Hashable, Sendable {
    public static let defaultName = "default"
    public let name: String
    public let createdAt: Date
}

/// Whether a piece of personal data may leave the vault: `never`, only when the person says so (`ask`), or
/// whenever a deal needs it (`always`).
public enum SharingRule: String, Codable, CaseIterable, Sendable {
    case never, ask, always
}

/// A stored preference: personal data (its key is a data category such as `email`) or a setting of the agent.
public struct Preference: Codable, Hashable, Sendable {
    public let persona: String
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

    /// What the setting does and how its value is written, for `--help`.
    public var summary: String {
        switch self {
        case .defaultTerms: "terms proffered when an intent names none (e.g. sd-base or sd-base,pdc-intent)"
        case .defaultRegion: "region added when an intent names none (e.g. DE or US-CA)"
        case .defaultCurrency: "currency assumed for amounts written without one (e.g. EUR)"
        case .publishTimeout: "seconds to wait for each vendor when publishing (1 to 600)"
        }
    }

    /// Checks a value and returns it in canonical form.
    func canonical(_ value: String) -> String? {
        switch self {
        case .defaultTerms:
            let ids = value.split(separator: ",", omittingEmptySubsequences: false).map { TermsID(String($0)) }
            guard !ids.contains(where: { $0 == nil }) else { return nil }
            return ids.map { $0!.description }.joined(separator: ",")
        case .defaultRegion:
            let regions = value.split(separator: ",", omittingEmptySubsequences: false).map { Region(String($0)) }
            guard !regions.contains(where: { $0 == nil }) else { return nil }
            return regions.map { $0!.description }.joined(separator: ",")
        case .defaultCurrency:
            return CurrencyCode(value)?.description
        case .publishTimeout:
            guard let seconds = Int(value), (1...600).contains(seconds) else { return nil }
            return String(seconds)
        }
    }
}

/// Where an intent stands.
public enum IntentState: String, Codable, CaseIterable, Sendable {
    case draft, published, withdrawn, expired, fulfilled
}

/// An intent kept in the vault: its canonical message and state.
public struct StoredIntent: Codable, Hashable, Sendable {
    public let id: String
    public let canonical: String
    public let persona: String
    public var state: IntentState
    public let createdAt: Date
    public var updatedAt: Date
    /// The vendors the intent was sent to, so a withdrawal reaches each of them.
    public var sentTo: [String]?

    /// The intent's message, parsed again from its canonical form.
    public var message: Message { try! Message.parse(canonical) }
}

/// A vendor the person deals with.
public struct Vendor: Codable, Hashable, Sendable {
    public let name: String
    public var baseURL: String
    /// The vendor's Ed25519 key, base64url, pinned at first contact.
    public var signingKey: String?
    /// The vendor's X25519 key for sealed disclosures, base64url.
    public var boxKey: String?
    public var terms: [String]
    public var categories: [String]
    public let addedAt: Date
    /// The name the vendor gives itself in its profile.
    public var profileName: String?
    /// A random label fixed when the vendor is added: the person's pairwise identity toward this vendor is derived
    /// from it, so renaming the vendor or re-pinning its key keeps the identity.
    public var identityLabel: String?

    public init(
        name: String, baseURL: String, signingKey: String? = nil, boxKey: String? = nil, terms: [String] = [],
        categories: [String] = [], addedAt: Date = Date(), profileName: String? = nil, identityLabel: String? = nil
    ) {
        (self.name, self.baseURL, self.signingKey, self.boxKey) = (name, baseURL, signingKey, boxKey)
        (self.terms, self.categories, self.addedAt) = (terms, categories, addedAt)
        (self.profileName, self.identityLabel) = (profileName, identityLabel)
    }
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
public struct StoredOffer: Codable, Hashable, Sendable {
    /// The offer's message id.
    public let id: String
    public let vendor: String
    public let intentID: String
    /// The vendor's signed envelope, as received.
    public let envelope: String
    /// The offer's canonical message.
    public let canonical: String
    public let receivedAt: Date
    /// When the offer lapses: its `exp`, counted from the envelope's `ts` for a duration.
    public let expiresAt: Date?
    public var state: OfferState

    public init(
        id: String, vendor: String, intentID: String, envelope: String, canonical: String, receivedAt: Date,
        expiresAt: Date?, state: OfferState = .open
    ) {
        (self.id, self.vendor, self.intentID, self.envelope, self.canonical) = (
            id, vendor, intentID, envelope, canonical
        )
        (self.receivedAt, self.expiresAt, self.state) = (receivedAt, expiresAt, state)
    }

    /// The offer's message, parsed again from its canonical form.
    public var message: Message { try! Message.parse(canonical) }

    /// The short name people type: `vendor/offerid`.
    public var name: String { vendor + "/" + id }
}

/// Where a deal stands.
public enum DealState: String, Codable, CaseIterable, Sendable {
    /// The accept was sent; the vendor has not confirmed (it could not be reached, or answered with an error).
    case unconfirmed
    case confirmed
    /// The vendor declined the accept.
    case declined
    /// A forget was sent and the vendor has not confirmed it.
    case forgetRequested = "forget-requested"
    /// The vendor confirmed that it deleted the disclosed data.
    case forgotten
}

/// A deal: the person's signed accept and the vendor's signed answer, with what was disclosed under which terms.
public struct StoredDeal: Codable, Hashable, Sendable {
    /// The accept's message id.
    public let id: String
    public let vendor: String
    public let persona: String
    public let offerID: String
    public let intentID: String
    public let acceptEnvelope: String
    public var replyEnvelope: String?
    /// The data categories disclosed (never their values).
    public let disclosed: [String]
    public let terms: [String]
    public let createdAt: Date
    public var state: DealState
    public var forgetEnvelope: String?
    public var forgetReplyEnvelope: String?

    public init(
        id: String, vendor: String, persona: String, offerID: String, intentID: String, acceptEnvelope: String,
        replyEnvelope: String?, disclosed: [String], terms: [String], createdAt: Date, state: DealState
    ) {
        (self.id, self.vendor, self.persona, self.offerID, self.intentID) = (id, vendor, persona, offerID, intentID)
        (self.acceptEnvelope, self.replyEnvelope, self.disclosed, self.terms) = (
            acceptEnvelope, replyEnvelope, disclosed, terms
        )
        (self.createdAt, self.state) = (createdAt, state)
    }
}
