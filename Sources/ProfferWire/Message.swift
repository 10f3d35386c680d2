/// One short message (PROTOCOL.md §1): a kind, for intents a category, typed fields and attributes.
///
/// Parse text with ``parse(_:)``; write the canonical form with ``canonicalForm``. Two messages are equal when they
/// have the same canonical form.
///
/// ```swift
/// let intent = try Message.parse("#buy camera.mirrorless max:1200eur in:de")
/// intent.max?.description   // "1200EUR"
/// intent.canonicalForm      // "#buy camera.mirrorless max:1200EUR in:DE"
/// ```
public struct Message: Hashable, Sendable {
    public var kind: MessageKind = .buy
    /// What an intent is about; `nil` for every other kind.
    public var category: IntentCategory?

    public var id: MessageID?
    public var re: MessageID?
    public var price: Money?
    public var min: Money?
    public var max: Money?
    public var qty: Quantity?
    public var item: String?
    public var sku: SKU?
    /// The `in` field: where the person is, or wants delivery or service.
    public var regions: FieldList<Region>?
    public var by: When?
    public var eta: TimeSpan?
    public var exp: When?
    public var terms: FieldList<TermsID>?
    public var needs: FieldList<DataCategory>?
    public var give: FieldList<DataCategory>?
    public var why: String?
    public var note: String?
    /// Where private answers to a public intent go (§6): a Nostr key and its relays.
    public var reply: NostrReply?
    /// An intent's unregistered keys, describing what is wanted, sorted by key.
    public var attributes: [Attribute] = []

    /// The message checked against every rule of the protocol, as a receiver would check it.
    ///
    /// - Throws: ``MessageError`` naming the first rule the message breaks.
    public func validated() throws(MessageError) -> Message {
        var sorted = self
        sorted.attributes.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let reparsed = try Message.parse(sorted.canonicalForm)
        guard reparsed == sorted else {
            throw MessageError(.badToken, column: 1, message: "a field value cannot be written canonically")
        }
        return reparsed
    }

    /// Attributes whose key is one edit away from a field this kind takes, such as `mxa` for `max`, or a price or
    /// quantity field's name with a word stuck to it, such as `maxprice`: valid, but
    /// probably a typo, so tools can warn.
    public var likelyMisspelledAttributes: [(attribute: String, field: FieldKey)] {
        let fields = kind.allowedFields.keys
        return attributes.compactMap { attribute in
            if let nearest = Suggestions.nearest(to: attribute.key, among: fields.map(\.description)) {
                return (attribute.key, fields.first { $0.description == nearest }!)
            }
            // Words people use for a price limit: `under:1300` sets no limit at all.
            if let field = Self.priceLimitWords[attribute.key], fields.contains(field) { return (attribute.key, field) }
            // `maxprice`, `pricemax`: a field's name with a word stuck to it.
            let glued = fields.first { field in
                let name = field.description
                return [.max, .min, .price, .qty].contains(field)
                    && (attribute.key.hasPrefix(name) || attribute.key.hasSuffix(name))
            }
            return glued.map { (attribute.key, $0) }
        }
    }

    private static let priceLimitWords: [String: FieldKey] = [
        "under": .max, "upto": .max, "budget": .max, "below": .max, "limit": .max, "maximum": .max, "most": .max,
        "over": .min, "above": .min, "minimum": .min, "least": .min, "quantity": .qty, "count": .qty, "amount": .qty,
    ]

    /// Whether the field is present.
    public func has(_ key: FieldKey) -> Bool {
        switch key {
        case .id: id != nil
        case .re: re != nil
        case .price: price != nil
        case .min: min != nil
        case .max: max != nil
        case .qty: qty != nil
        case .item: item != nil
        case .sku: sku != nil
        case .in: regions != nil
        case .by: by != nil
        case .eta: eta != nil
        case .exp: exp != nil
        case .terms: terms != nil
        case .needs: needs != nil
        case .give: give != nil
        case .why: why != nil
        case .note: note != nil
        case .reply: reply != nil
        }
    }
}

extension Message {
    /// A message of `kind` with no fields; set the fields you need, then check it with ``validated()``.
    public init(kind: MessageKind, category: IntentCategory? = nil) {
        self.init()
        self.kind = kind
        self.category = category
    }
}

/// An intent's description of what is wanted, such as `size:42` or `format:"full frame"`.
public struct Attribute: Hashable, Sendable {
    /// The key, lowercase.
    public let key: String
    /// The value's text, unescaped: 1 to 64 scalars.
    public let value: String

    public init(key: String, value: String) {
        self.key = key.lowercased()
        self.value = value
    }
}
