extension Message {
    /// The canonical form (PROTOCOL.md §1.6): what signatures cover and what two equal messages share.
    public var canonicalForm: String {
        var writer = ByteWriter(capacity: 320)
        writeCanonicalForm(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Appends the canonical form's UTF-8 bytes to `output`.
    public func writeCanonicalForm(into output: inout [UInt8]) {
        var writer = ByteWriter(capacity: 320)
        writeCanonicalForm(to: &writer)
        output.append(contentsOf: writer.bytes)
    }

    /// Appends the canonical form to `writer`, the fastest way to write many messages.
    public func writeCanonicalForm(to writer: inout ByteWriter) {
        writeCanonicalForm(to: &writer, jsonEscaped: false)
    }

    /// With `jsonEscaped`, the canonical form is written ready to sit inside a JSON string: only quoted text can hold
    /// `"` or `\`, so only the text writer needs to know.
    func writeCanonicalForm(to writer: inout ByteWriter, jsonEscaped: Bool) {
        writer.append(ASCII.hash)
        writer.append(utf8: kind.rawValue)
        if let category {
            writer.append(ASCII.space)
            writer.append(utf8: category.description)
        }
        visitFields(with: &writer) { key, value, writer in
            writer.append(ASCII.space)
            writer.append(key.name)
            writer.append(ASCII.colon)
            if case .text(let text) = value {
                FieldValue.writeCanonicalText(text, to: &writer, jsonEscaped: jsonEscaped)
            } else {
                value.writeCanonical(to: &writer)
            }
        }
        for attribute in attributes {
            writer.append(ASCII.space)
            writer.append(utf8: attribute.key)
            writer.append(ASCII.colon)
            FieldValue.writeCanonicalText(attribute.value, to: &writer, jsonEscaped: jsonEscaped)
        }
    }

    /// Calls `body` for each present field, in canonical order, lending it `writer`.
    func visitFields(with writer: inout ByteWriter, _ body: (FieldKey, FieldValue, inout ByteWriter) -> Void) {
        if let id { body(.id, .id(id), &writer) }
        if let re { body(.re, .id(re), &writer) }
        if let price { body(.price, .money(price), &writer) }
        if let min { body(.min, .money(min), &writer) }
        if let max { body(.max, .money(max), &writer) }
        if let qty { body(.qty, .quantity(qty), &writer) }
        if let item { body(.item, .text(item), &writer) }
        if let sku { body(.sku, .sku(sku), &writer) }
        if let regions { body(.in, .regions(regions), &writer) }
        if let by { body(.by, .when(by), &writer) }
        if let eta { body(.eta, .span(eta), &writer) }
        if let exp { body(.exp, .when(exp), &writer) }
        if let terms { body(.terms, .terms(terms), &writer) }
        if let needs { body(.needs, .categories(needs), &writer) }
        if let give { body(.give, .categories(give), &writer) }
        if let why { body(.why, .text(why), &writer) }
        if let note { body(.note, .text(note), &writer) }
        if let reply { body(.reply, .reply(reply), &writer) }
    }
}

/// A field's value as the formatter and the JSON writer see it; each case writes its bytes without allocating.
enum FieldValue {
    case id(MessageID)
    case money(Money)
    case quantity(Quantity)
    case text(String)
    case sku(SKU)
    case regions(FieldList<Region>)
    case when(When)
    case span(TimeSpan)
    case terms(FieldList<TermsID>)
    case categories(FieldList<DataCategory>)
    case reply(NostrReply)

    func writeCanonical(to writer: inout ByteWriter) {
        switch self {
        case .id(let id): id.write(to: &writer)
        case .money(let money): money.write(to: &writer)
        case .quantity(let quantity): writer.appendDecimal(quantity.value)
        case .sku(let sku): writer.append(utf8: sku.description)
        case .when(let when): when.write(to: &writer)
        case .span(let span): span.write(to: &writer)
        case .regions(let regions):
            for (index, region) in regions.enumerated() {
                if index > 0 { writer.append(ASCII.comma) }
                region.write(to: &writer)
            }
        case .terms(let terms):
            for (index, id) in terms.enumerated() {
                if index > 0 { writer.append(ASCII.comma) }
                writer.append(utf8: id.description)
            }
        case .categories(let categories):
            for (index, category) in categories.enumerated() {
                if index > 0 { writer.append(ASCII.comma) }
                writer.append(category.name)
            }
        case .text(let text):
            Self.writeCanonicalText(text, to: &writer, jsonEscaped: false)
        case .reply(let reply): writer.append(utf8: reply.description)
        }
    }

    /// Bare when it can be (non-empty, no SP, `"` or `\`), else quoted with `\"` and `\\`.
    static func writeCanonicalText(_ text: String, to writer: inout ByteWriter, jsonEscaped: Bool) {
        var contiguous = text
        contiguous.withUTF8 { bytes in
            var needsQuotes = bytes.isEmpty
            for byte in bytes where byte == ASCII.space || byte == ASCII.quote || byte == ASCII.backslash {
                needsQuotes = true
                break
            }
            guard needsQuotes else { return writer.append(bytes) }
            guard jsonEscaped else {
                writer.append(ASCII.quote)
                writer.appendEscapingQuotes(bytes)
                writer.append(ASCII.quote)
                return
            }
            // `"a \"b\""` inside a JSON string reads `\"a \\\"b\\\"\"`: every `"` and `\` escaped once more.
            writer.append(#"\""#)
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte == ASCII.quote || byte == ASCII.backslash {
                writer.append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                writer.append(byte == ASCII.quote ? #"\\\""# : #"\\\\"#)
                runStart = index + 1
            }
            writer.append(UnsafeBufferPointer(rebasing: bytes[runStart...]))
            writer.append(#"\""#)
        }
    }
}

extension FieldKey {
    /// The key's bytes, without building a String.
    var name: StaticString {
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
}

extension DataCategory {
    /// The category's bytes, without building a String.
    var name: StaticString {
        switch self {
        case .name: "name"
        case .email: "email"
        case .phone: "phone"
        case .postal: "postal"
        case .age: "age"
        case .birthdate: "birthdate"
        case .gender: "gender"
        case .location: "location"
        case .size: "size"
        case .language: "language"
        }
    }
}

extension MessageID {
    func write(to writer: inout ByteWriter) {
        for index in 0..<8 { writer.append(MessageID.alphabet[Int((bits >> (35 - 5 * UInt64(index))) & 31)]) }
    }
}

extension Money {
    /// Writes the canonical amount (no leading zeros, no trailing fraction zeros), without the currency.
    func writeAmount(to writer: inout ByteWriter) {
        writer.appendDecimal(Int(thousandths / 1000))
        var fraction = Int(thousandths % 1000)
        guard fraction != 0 else { return }
        writer.append(ASCII.dot)
        var divisor = 100
        while fraction != 0 {
            writer.append(ASCII.zero + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    func write(to writer: inout ByteWriter) {
        writeAmount(to: &writer)
        currency.write(to: &writer)
    }
}

extension When {
    func write(to writer: inout ByteWriter) {
        switch self {
        case .date(let date): date.write(to: &writer)
        case .after(let span): span.write(to: &writer)
        }
    }
}

extension CalendarDate {
    func write(to writer: inout ByteWriter) {
        writer.appendDecimal(year)
        writer.append(ASCII.hyphen)
        writer.append(ASCII.zero + UInt8(month / 10))
        writer.append(ASCII.zero + UInt8(month % 10))
        writer.append(ASCII.hyphen)
        writer.append(ASCII.zero + UInt8(day / 10))
        writer.append(ASCII.zero + UInt8(day % 10))
    }
}

extension TimeSpan {
    func write(to writer: inout ByteWriter) {
        writer.appendDecimal(count)
        writer.append(unit.rawValue)
    }
}
