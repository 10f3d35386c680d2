/// What a message says, named by its first token (`#buy`, `#offer`, …).
public enum MessageKind: String, CaseIterable, Hashable, Sendable {
    case buy, rent, hire, fix, offer, counter, accept, decline, confirm, withdraw, forget

    /// Whether this kind announces an intent: it takes a category and attributes.
    public var isIntent: Bool {
        switch self {
        case .buy, .rent, .hire, .fix: true
        default: false
        }
    }

    /// The fields this kind may carry (PROTOCOL.md §1.4).
    var allowedFields: FieldSet {
        // Precomputed masks: building the set from a literal on every message costs more than the whole parse.
        switch self {
        case .buy, .rent, .hire, .fix: Self.intentFields
        case .offer: Self.offerFields
        case .counter: Self.counterFields
        case .accept: Self.acceptFields
        case .decline, .withdraw, .forget: Self.referenceFields
        case .confirm: Self.confirmFields
        }
    }

    // Computed from constants rather than stored: a stored global is initialised lazily, and checking that on
    // every message showed in profiles.
    private static var intentFields: FieldSet { [.id, .min, .max, .qty, .in, .by, .exp, .terms, .note, .reply] }
    private static var offerFields: FieldSet {
        [.id, .re, .price, .item, .sku, .qty, .eta, .exp, .terms, .needs, .note]
    }
    private static var counterFields: FieldSet { [.id, .re, .price, .qty, .eta, .note] }
    private static var acceptFields: FieldSet { [.id, .re, .give, .terms, .note] }
    private static var referenceFields: FieldSet { [.re, .id, .why] }
    private static var confirmFields: FieldSet { [.id, .re, .eta, .note] }

    /// The fields this kind must carry; missing ones are reported in canonical order.
    var requiredFields: FieldSet {
        switch self {
        case .buy, .rent, .hire, .fix: []
        case .offer: [.id, .re, .price]
        case .counter, .accept, .confirm: [.id, .re]
        case .decline, .withdraw, .forget: [.re]
        }
    }

    /// Matches the letters after `#`, in either case.
    static func lookup(_ bytes: Bytes, _ range: Range<Int>) -> MessageKind? {
        guard (3...8).contains(range.count) else { return nil }
        // The kind names' bytes, packed big-endian: a switch compiles to a few comparisons.
        switch ASCII.packedLowercase(bytes, range) {
        case 0x62_7579: return .buy
        case 0x7265_6E74: return .rent
        case 0x6869_7265: return .hire
        case 0x66_6978: return .fix
        case 0x6F_6666_6572: return .offer
        case 0x63_6F75_6E74_6572: return .counter
        case 0x61_6363_6570_74: return .accept
        case 0x64_6563_6C69_6E65: return .decline
        case 0x63_6F6E_6669_726D: return .confirm
        case 0x7769_7468_6472_6177: return .withdraw
        case 0x66_6F72_6765_74: return .forget
        default: return nil
        }
    }
}
