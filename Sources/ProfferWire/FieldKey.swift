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

    /// Matches a key of any case; `nil` for an unregistered key (an attribute in an intent).
    static func lookup(_ bytes: Bytes, _ range: Range<Int>) -> FieldKey? {
        guard (2...5).contains(range.count) else { return nil }
        var packed: UInt64 = 0
        for index in range { packed = packed << 8 | UInt64(ASCII.lowercased(bytes[index])) }
        return packedKeys[packed]
    }

    private static let packedKeys: [UInt64: FieldKey] = Dictionary(
        uniqueKeysWithValues: allCases.map { key in (key.description.utf8.reduce(0) { $0 << 8 | UInt64($1) }, key) })
}

/// A set of field keys as a bitmask, so checking "allowed" and "seen" costs one instruction.
struct FieldSet: OptionSet, Sendable {
    let rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ key: FieldKey) { rawValue = 1 << key.rawValue }

    static let id = FieldSet(.id), re = FieldSet(.re), price = FieldSet(.price), min = FieldSet(.min)
    static let max = FieldSet(.max), qty = FieldSet(.qty), item = FieldSet(.item), sku = FieldSet(.sku)
    static let `in` = FieldSet(.in), by = FieldSet(.by), eta = FieldSet(.eta), exp = FieldSet(.exp)
    static let terms = FieldSet(.terms), needs = FieldSet(.needs), give = FieldSet(.give), why = FieldSet(.why)
    static let note = FieldSet(.note)

    func contains(_ key: FieldKey) -> Bool { rawValue & (1 << key.rawValue) != 0 }

    /// The members in canonical order.
    var keys: [FieldKey] { FieldKey.allCases.filter(contains) }
}
