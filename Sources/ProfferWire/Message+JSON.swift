extension Message {
    /// The message as one line of PROTOCOL.md §5 JSON: `{"ok":true,"canonical":…,"kind":…,…}`.
    ///
    /// `category` is present only for intents; `attributes` is always present (empty for other kinds).
    public var conformanceJSON: String {
        var writer = ByteWriter(capacity: 512)
        writeConformanceJSON(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Appends the §5 JSON object (without a newline) to `writer`.
    public func writeConformanceJSON(to writer: inout ByteWriter) {
        writer.append(#"{"ok":true,"canonical":""#)
        writeCanonicalForm(to: &writer, jsonEscaped: true)
        writer.append(#"","kind":""#)
        writer.append(utf8: kind.rawValue)
        writer.append(ASCII.quote)
        if let category {
            writer.append(#","category":""#)
            writer.append(utf8: category.description)
            writer.append(ASCII.quote)
        }
        writer.append(#","fields":{"#)
        var first = true
        visitFields(with: &writer) { key, value, writer in
            if !first { writer.append(ASCII.comma) }
            first = false
            writer.append(ASCII.quote)
            writer.append(key.name)
            writer.append(#"":"#)
            value.writeJSON(to: &writer)
        }
        writer.append(#"},"attributes":{"#)
        for (index, attribute) in attributes.enumerated() {
            if index > 0 { writer.append(ASCII.comma) }
            writer.appendJSONString(attribute.key)
            writer.append(ASCII.colon)
            writer.appendJSONString(attribute.value)
        }
        writer.append("}}")
    }
}

extension MessageError {
    /// The error as one line of PROTOCOL.md §5 JSON: `{"ok":false,"error":{"code":…,"column":…,"message":…}}`.
    public var conformanceJSON: String {
        var writer = ByteWriter(capacity: 256)
        writeConformanceJSON(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Appends the §5 JSON object (without a newline) to `writer`.
    public func writeConformanceJSON(to writer: inout ByteWriter) {
        writer.append(#"{"ok":false,"error":{"code":""#)
        writer.append(utf8: code.description)
        writer.append(#"","column":"#)
        writer.appendDecimal(column)
        writer.append(#","message":"#)
        writer.appendJSONString(message)
        writer.append("}}")
    }
}

extension FieldValue {
    func writeJSON(to writer: inout ByteWriter) {
        switch self {
        case .money(let money):
            writer.append(#"{"amount":""#)
            money.writeAmount(to: &writer)
            writer.append(#"","currency":""#)
            money.currency.write(to: &writer)
            writer.append(#""}"#)
        case .quantity(let quantity):
            writer.appendDecimal(quantity.value)
        case .text(let text):
            writer.appendJSONString(text)
        case .regions(let regions):
            writer.append("[")
            for (index, region) in regions.enumerated() {
                writer.append(index > 0 ? #",""# : #"""#)
                region.write(to: &writer)
                writer.append(ASCII.quote)
            }
            writer.append("]")
        case .terms(let terms):
            writer.append("[")
            for (index, id) in terms.enumerated() {
                writer.append(index > 0 ? #",""# : #"""#)
                writer.append(utf8: id.description)
                writer.append(ASCII.quote)
            }
            writer.append("]")
        case .categories(let categories):
            writer.append("[")
            for (index, category) in categories.enumerated() {
                writer.append(index > 0 ? #",""# : #"""#)
                writer.append(category.name)
                writer.append(ASCII.quote)
            }
            writer.append("]")
        case .id, .sku, .when, .span, .reply:
            // Their canonical text never needs escaping (a reply's is lowercase bech32).
            writer.append(ASCII.quote)
            writeCanonical(to: &writer)
            writer.append(ASCII.quote)
        }
    }
}
