/// A registered field key (PROTOCOL.md §1.4), in canonical order.
public enum FieldKey: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case id, re, price, min, max, qty, item, sku, `in`, by, eta, exp, terms, needs, give, why, note, reply

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
        case .reply: "reply"
        }
    }

    /// Reads a key in one pass: `.invalid` when it breaks `ALPHA *15( ALPHA / DIGIT / "-" )`, else the registered
    /// key it names in any case, or `.attribute` for an unregistered one.
    @inline(__always)
    static func read(_ bytes: Bytes, _ range: Range<Int>) -> KeyReading {
        guard (1...16).contains(range.count), ASCII.isLetter(bytes[range.lowerBound]) else { return .invalid }
        var packed: UInt64 = 0
        var invalidBytes: UInt64 = 0
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            // A bit test rather than comparisons per kind of byte, which compiled to mispredicted branches.
            let allowed = byte < 64 ? keyBytesBelow64 : keyBytesFrom64
            invalidBytes |= ~(allowed &>> UInt64(byte & 63)) & 1 | UInt64(byte >> 7)
            // Setting bit 5 lowercases a letter and leaves digits and "-" as they are.
            packed = packed << 8 | UInt64(byte | 0x20)
            index += 1
        }
        guard invalidBytes == 0 else { return .invalid }
        guard range.count <= 5, let key = registered(packed: packed) else { return .attribute }
        return .registered(key)
    }

    /// Bit n is set when byte n may appear in a key: "-" (0x2D) and the digits (0x30–0x39)...
    private static let keyBytesBelow64: UInt64 = 0x03FF_2000_0000_0000
    /// ...and, counting from 64, the letters (0x41–0x5A and 0x61–0x7A).
    private static let keyBytesFrom64: UInt64 = 0x07FF_FFFE_07FF_FFFE

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
        case 0x72_6570_6C79: return .reply
        default: return nil
        }
    }
}

/// A set of field keys as a bitmask, so checking "allowed" and "seen" costs one instruction.
struct FieldSet: Equatable, Sendable, ExpressibleByArrayLiteral {
    private var bits: UInt32 = 0

    init() {}

    /// Inlined so that a literal of constant keys folds into a constant mask, with no array built at run time.
    @inline(__always) init(arrayLiteral keys: FieldKey...) {
        for key in keys { insert(key) }
    }

    /// A counter must carry at least one of these.
    static var counterTerms: FieldSet { [.price, .qty, .eta] }

    @inline(__always) func contains(_ key: FieldKey) -> Bool { bits & (1 << key.rawValue) != 0 }
    @inline(__always) mutating func insert(_ key: FieldKey) { bits |= 1 << key.rawValue }
    @inline(__always) func isDisjoint(with other: FieldSet) -> Bool { bits & other.bits == 0 }

    /// The member that comes first in canonical order.
    var first: FieldKey? { bits == 0 ? nil : FieldKey(rawValue: UInt8(bits.trailingZeroBitCount)) }

    func subtracting(_ other: FieldSet) -> FieldSet {
        var difference = self
        difference.bits &= ~other.bits
        return difference
    }

    /// The members in canonical order.
    var keys: [FieldKey] { FieldKey.allCases.filter(contains) }
}
