/// A registered field key (PROTOCOL.md §1.4), in canonical order.
public enum FieldKey: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case id, re, price, min, max, qty, item, sku, `in`, by, eta, exp, terms, needs, give, why, note

    /// The key as written in messages.
    public var description: String {
        switch self {
        case .id: "id"
        case .re: "re"
        case .price: "price"
        case .min: "min"
        case .max: "max"
        case .qty: "qty"
        case .item: "item"
        case .sku: "sku"
        case .in: "in"
        case .by: "by"
        case .eta: "eta"
        case .exp: "exp"
        case .terms: "terms"
        case .needs: "needs"
        case .give: "give"
        case .why: "why"
        case .note: "note"
        }
    }

    /// Reads a key in one pass: `.invalid` when it breaks `ALPHA *15( ALPHA / DIGIT / "-" )`, else the registered
    /// key it names in any case, or `.attribute` for an unregistered one.
    static func read(_ bytes: Bytes, _ range: Range<Int>) -> KeyReading {
        guard (1...16).contains(range.count), ASCII.isLetter(bytes[range.lowerBound]) else { return .invalid }
        var packed: UInt64 = 0
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            guard ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte == ASCII.hyphen else { return .invalid }
            packed = packed << 8 | UInt64(ASCII.lowercased(byte))
            index += 1
        }
        guard range.count <= 5, let key = registered(packed: packed) else { return .attribute }
        return .registered(key)
    }

    enum KeyReading {
        case invalid, attribute
        case registered(FieldKey)
    }

    /// The registered key whose lowercase bytes, packed big-endian, are `packed`.
    private static func registered(packed: UInt64) -> FieldKey? {
        // A switch on the packed bytes compiles to a few comparisons; no hashing on the hot path.
        switch packed {
        case 0x6964: return .id
        case 0x7265: return .re
        case 0x70_7269_6365: return .price
        case 0x6D_696E: return .min
        case 0x6D_6178: return .max
        case 0x71_7479: return .qty
        case 0x6974_656D: return .item
        case 0x73_6B75: return .sku
        case 0x696E: return .in
        case 0x6279: return .by
        case 0x65_7461: return .eta
        case 0x65_7870: return .exp
        case 0x74_6572_6D73: return .terms
        case 0x6E_6565_6473: return .needs
        case 0x6769_7665: return .give
        case 0x77_6879: return .why
        case 0x6E6F_7465: return .note
        default: return nil
        }
    }
}

/// A set of field keys as a bitmask, so checking "allowed" and "seen" costs one instruction.
struct FieldSet: OptionSet, Sendable {
    let rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ key: FieldKey) { rawValue = 1 << key.rawValue }
    /// A set of several keys; only for static masks, since the variadic array allocates.
    init(all keys: FieldKey...) { rawValue = keys.reduce(0) { $0 | 1 << $1.rawValue } }

    /// A counter must carry at least one of these.
    static let counterTerms = FieldSet(all: .price, .qty, .eta)

    func contains(_ key: FieldKey) -> Bool { rawValue & (1 << key.rawValue) != 0 }

    /// The members in canonical order.
    var keys: [FieldKey] { FieldKey.allCases.filter(contains) }
}
