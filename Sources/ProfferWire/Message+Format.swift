extension Message {
    /// The canonical form (PROTOCOL.md §1.6): what signatures cover and what two equal messages share.
    public var canonicalForm: String {
        var output = [UInt8]()
        output.reserveCapacity(160)
        writeCanonicalForm(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the canonical form's UTF-8 bytes to `output`.
    public func writeCanonicalForm(into output: inout [UInt8]) {
        output.append(ASCII.hash)
        output.append(contentsOf: kind.rawValue.utf8)
        if let category {
            output.append(ASCII.space)
            output.append(contentsOf: category.description.utf8)
        }
        visitFields { key, value in
            output.append(ASCII.space)
            output.append(contentsOf: key.description.utf8)
            output.append(ASCII.colon)
            value.writeCanonical(into: &output)
        }
        for attribute in attributes {
            output.append(ASCII.space)
            output.append(contentsOf: attribute.key.utf8)
            output.append(ASCII.colon)
            FieldValue.text(attribute.value).writeCanonical(into: &output)
        }
    }

    /// Calls `body` for each present field, in canonical order.
    func visitFields(_ body: (FieldKey, FieldValue) -> Void) {
        if let id { body(.id, .id(id)) }
        if let re { body(.re, .id(re)) }
        if let price { body(.price, .money(price)) }
        if let min { body(.min, .money(min)) }
        if let max { body(.max, .money(max)) }
        if let qty { body(.qty, .quantity(qty)) }
        if let item { body(.item, .text(item)) }
        if let sku { body(.sku, .plain(sku.description)) }
        if let regions { body(.in, .list(regions.map(\.description))) }
        if let by { body(.by, .plain(by.description)) }
        if let eta { body(.eta, .plain(eta.description)) }
        if let exp { body(.exp, .plain(exp.description)) }
        if let terms { body(.terms, .list(terms.map(\.description))) }
        if let needs { body(.needs, .list(needs.map(\.rawValue))) }
        if let give { body(.give, .list(give.map(\.rawValue))) }
        if let why { body(.why, .text(why)) }
        if let note { body(.note, .text(note)) }
    }
}

/// A field's value as the formatter and the JSON writer see it.
enum FieldValue {
    case id(MessageID)
    case money(Money)
    case quantity(Quantity)
    case text(String)
    /// A value whose canonical text is written as is.
    case plain(String)
    case list([String])

    func writeCanonical(into output: inout [UInt8]) {
        switch self {
        case .id(let id): id.write(into: &output)
        case .money(let money): money.write(into: &output)
        case .quantity(let quantity): output.appendDecimal(quantity.value)
        case .plain(let text): output.append(contentsOf: text.utf8)
        case .list(let items):
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(ASCII.comma) }
                output.append(contentsOf: item.utf8)
            }
        case .text(let text):
            let utf8 = text.utf8
            let canBeBare =
                !utf8.isEmpty && !utf8.contains { $0 == ASCII.space || $0 == ASCII.quote || $0 == ASCII.backslash }
            if canBeBare {
                output.append(contentsOf: utf8)
                return
            }
            output.append(ASCII.quote)
            for byte in utf8 {
                if byte == ASCII.quote || byte == ASCII.backslash { output.append(ASCII.backslash) }
                output.append(byte)
            }
            output.append(ASCII.quote)
        }
    }
}

extension MessageID {
    func write(into output: inout [UInt8]) {
        for index in 0..<8 { output.append(MessageID.alphabet[Int((bits >> (35 - 5 * UInt64(index))) & 31)]) }
    }
}

extension Money {
    /// Writes the canonical amount (no leading zeros, no trailing fraction zeros), without the currency.
    func writeAmount(into output: inout [UInt8]) {
        output.appendDecimal(Int(thousandths / 1000))
        var fraction = Int(thousandths % 1000)
        guard fraction != 0 else { return }
        output.append(ASCII.dot)
        var divisor = 100
        while fraction != 0 {
            output.append(ASCII.zero + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    func write(into output: inout [UInt8]) {
        writeAmount(into: &output)
        output.append(contentsOf: currency.description.utf8)
    }
}

extension [UInt8] {
    /// Appends a non-negative integer's decimal digits.
    mutating func appendDecimal(_ value: Int) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            append(ASCII.zero + UInt8(remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
    }
}
