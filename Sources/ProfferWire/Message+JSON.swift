extension Message {
    /// The message as one line of PROTOCOL.md §5 JSON: `{"ok":true,"canonical":…,"kind":…,…}`.
    ///
    /// `category` is present only for intents; `attributes` is always present (empty for other kinds).
    public var conformanceJSON: String {
        var output = [UInt8]()
        writeConformanceJSON(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the §5 JSON object (without a newline) to `output`.
    public func writeConformanceJSON(into output: inout [UInt8]) {
        output.append(contentsOf: #"{"ok":true,"canonical":"#.utf8)
        var canonical = [UInt8]()
        canonical.reserveCapacity(160)
        writeCanonicalForm(into: &canonical)
        output.appendJSONString(canonical)
        output.append(contentsOf: #","kind":""#.utf8)
        output.append(contentsOf: kind.rawValue.utf8)
        output.append(ASCII.quote)
        if let category {
            output.append(contentsOf: #","category":"#.utf8)
            output.appendJSONString(category.description.utf8)
        }
        output.append(contentsOf: #","fields":{"#.utf8)
        var first = true
        visitFields { key, value in
            if !first { output.append(ASCII.comma) }
            first = false
            output.append(ASCII.quote)
            output.append(contentsOf: key.description.utf8)
            output.append(contentsOf: #"":"#.utf8)
            value.writeJSON(into: &output)
        }
        output.append(contentsOf: #"},"attributes":{"#.utf8)
        for (index, attribute) in attributes.enumerated() {
            if index > 0 { output.append(ASCII.comma) }
            output.appendJSONString(attribute.key.utf8)
            output.append(ASCII.colon)
            output.appendJSONString(attribute.value.utf8)
        }
        output.append(contentsOf: "}}".utf8)
    }
}

extension MessageError {
    /// The error as one line of PROTOCOL.md §5 JSON: `{"ok":false,"error":{"code":…,"column":…,"message":…}}`.
    public var conformanceJSON: String {
        var output = [UInt8]()
        writeConformanceJSON(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the §5 JSON object (without a newline) to `output`.
    public func writeConformanceJSON(into output: inout [UInt8]) {
        output.append(contentsOf: #"{"ok":false,"error":{"code":""#.utf8)
        output.append(contentsOf: code.description.utf8)
        output.append(contentsOf: #"","column":"#.utf8)
        output.appendDecimal(column)
        output.append(contentsOf: #","message":"#.utf8)
        output.appendJSONString(message.utf8)
        output.append(contentsOf: "}}".utf8)
    }
}

extension FieldValue {
    func writeJSON(into output: inout [UInt8]) {
        switch self {
        case .money(let money):
            output.append(contentsOf: #"{"amount":""#.utf8)
            money.writeAmount(into: &output)
            output.append(contentsOf: #"","currency":""#.utf8)
            output.append(contentsOf: money.currency.description.utf8)
            output.append(contentsOf: #""}"#.utf8)
        case .quantity(let quantity):
            output.appendDecimal(quantity.value)
        case .list(let items):
            output.append(0x5B)
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(ASCII.comma) }
                output.appendJSONString(item.utf8)
            }
            output.append(0x5D)
        case .text(let text), .plain(let text):
            output.appendJSONString(text.utf8)
        case .id(let id):
            output.append(ASCII.quote)
            id.write(into: &output)
            output.append(ASCII.quote)
        }
    }
}

extension [UInt8] {
    /// Appends `bytes` (valid UTF-8) as a JSON string literal, escaping only what JSON requires.
    mutating func appendJSONString(_ bytes: some Sequence<UInt8>) {
        append(ASCII.quote)
        for byte in bytes {
            switch byte {
            case ASCII.quote, ASCII.backslash:
                append(ASCII.backslash)
                append(byte)
            case 0x0A:
                append(contentsOf: #"\n"#.utf8)
            case 0x0D:
                append(contentsOf: #"\r"#.utf8)
            case 0x09:
                append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                append(contentsOf: #"\u00"#.utf8)
                append(hex[Int(byte >> 4)])
                append(hex[Int(byte & 0xF)])
            default:
                append(byte)
            }
        }
        append(ASCII.quote)
    }
}
