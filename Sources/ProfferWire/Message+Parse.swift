extension Message {
    /// The longest message, in Unicode scalars after trimming.
    public static let maximumScalars = 280
    /// The most fields (registered or attributes) one message may carry.
    public static let maximumFields = 16
    /// The longest text value (`item`, `why`, `note`), in Unicode scalars.
    public static let maximumTextScalars = 120
    /// The longest attribute value, in Unicode scalars.
    public static let maximumAttributeScalars = 64

    /// Parses one message. Total: every input gives a message or exactly one ``MessageError``.
    ///
    /// - Parameter text: The message, with or without surrounding spaces.
    /// - Returns: The message, with every value in canonical form.
    /// - Throws: ``MessageError`` for the first fault, in the order of PROTOCOL.md §1.7.
    public static func parse(_ text: String) throws(MessageError) -> Message {
        try text.withBytes { bytes throws(MessageError) in try parse(utf8: bytes) }
    }

    /// Parses one message from raw bytes, which need not be valid UTF-8 (that is `bad-encoding`).
    public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(MessageError) -> Message {
        var parser = MessageParser(bytes: bytes, columnOffset: 0)
        return try parser.parse()
    }

    /// Parses one message from raw bytes, which need not be valid UTF-8 (that is `bad-encoding`).
    public static func parse(utf8 bytes: [UInt8]) throws(MessageError) -> Message {
        let result: Result<Message, MessageError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(MessageError) { return .success(try parse(utf8: buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses a message whose leading spaces were already removed by a streaming reader, counting columns as if
    /// `leadingSpaces` spaces stood before it. Encoding, emptiness and length must have been checked by the caller.
    package static func parse(trimmed bytes: UnsafeBufferPointer<UInt8>, leadingSpaces: Int) throws(MessageError)
        -> Message
    {
        var parser = MessageParser(bytes: bytes, columnOffset: leadingSpaces)
        return try parser.parse()
    }
}

/// One pass over the text, then one over the tokens. Reads bytes only; allocates only what the message keeps.
struct MessageParser {
    let bytes: Bytes
    /// Scalars that stood before `bytes` in the input the user sees, added to every positional column.
    let columnOffset: Int
    private var message = Message(kind: .buy)
    private var seen = FieldSet()
    private var fieldCount = 0

    init(bytes: Bytes, columnOffset: Int) {
        self.bytes = bytes
        self.columnOffset = columnOffset
    }

    mutating func parse() throws(MessageError) -> Message {
        let (start, end) = try checkText()
        try readTokens(from: start, to: end)
        try checkCompleteness()
        return message
    }

    /// The column of the scalar starting at byte `index`.
    func column(at index: Int) -> Int { columnOffset + bytes.scalarCount(0..<index) + 1 }

    // MARK: - Text

    /// Checks encoding, emptiness, length and forbidden scalars, in that order; returns the trimmed byte range.
    private func checkText() throws(MessageError) -> (Int, Int) {
        let count = bytes.count
        var index = 0
        var scalars = 0
        var firstForbidden = -1
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                if (byte < 0x20 || byte == 0x7F) && firstForbidden < 0 { firstForbidden = index }
                index += 1
                scalars += 1
                continue
            }
            guard let (length, forbidden) = decodeMultiByte(at: index) else {
                throw MessageErrors.badEncoding(column: columnOffset + scalars + 1)
            }
            if forbidden && firstForbidden < 0 { firstForbidden = index }
            index += length
            scalars += 1
        }
        var start = 0
        while start < count && bytes[start] == ASCII.space { start += 1 }
        guard start < count else { throw MessageErrors.empty() }
        var end = count
        while bytes[end - 1] == ASCII.space { end -= 1 }
        let trimmedScalars = scalars - start - (count - end)
        guard trimmedScalars <= Message.maximumScalars else { throw MessageErrors.tooLong(scalars: trimmedScalars) }
        if firstForbidden >= 0 {
            throw MessageErrors.controlCharacter(bytes, at: firstForbidden, column: column(at: firstForbidden))
        }
        return (start, end)
    }

    /// Validates one multi-byte UTF-8 sequence strictly (no overlongs, surrogates or values past U+10FFFF).
    /// Returns its length and whether it encodes a forbidden scalar (C1, U+200E/F, U+2028–202E, U+2066–2069).
    @inline(__always) private func decodeMultiByte(at index: Int) -> (Int, Bool)? {
        let lead = bytes[index]
        let remaining = bytes.count - index
        @inline(__always) func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
        switch lead {
        case 0xC2...0xDF:
            guard remaining >= 2, isContinuation(bytes[index + 1]) else { return nil }
            return (2, lead == 0xC2 && bytes[index + 1] < 0xA0)
        case 0xE0...0xEF:
            guard remaining >= 3 else { return nil }
            let second = bytes[index + 1]
            let third = bytes[index + 2]
            let lowest: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
            let highest: UInt8 = lead == 0xED ? 0x9F : 0xBF
            guard second >= lowest, second <= highest, isContinuation(third) else { return nil }
            let forbidden =
                lead == 0xE2
                && ((second == 0x80 && (third == 0x8E || third == 0x8F || (0xA8...0xAE).contains(third)))
                    || (second == 0x81 && (0xA6...0xA9).contains(third)))
            return (3, forbidden)
        case 0xF0...0xF4:
            guard remaining >= 4 else { return nil }
            let second = bytes[index + 1]
            let lowest: UInt8 = lead == 0xF0 ? 0x90 : 0x80
            let highest: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
            guard second >= lowest, second <= highest, isContinuation(bytes[index + 2]),
                isContinuation(bytes[index + 3])
            else { return nil }
            return (4, false)
        default:
            return nil
        }
    }

    // MARK: - Tokens

    /// Where a token and its parts lie. A value is quoted when `key:` is directly followed by `"`.
    private struct Token {
        var start: Int
        var end: Int
        /// The first colon, or `nil` for a word (or kind).
        var colon: Int?
        var valueStart: Int
        var valueEnd: Int
        var isQuoted = false
        var hasEscapes = false

        var keyRange: Range<Int> { start..<(colon ?? end) }
        var valueRange: Range<Int> { valueStart..<valueEnd }
    }

    /// Finds the token starting at `start`, raising its lexical faults: unterminated quote, bad escape, bad token.
    private func scanToken(from start: Int, to end: Int) throws(MessageError) -> Token {
        var index = start
        var colon: Int?
        var hasStrayQuote = false
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.space { break }
            if byte == ASCII.colon && colon == nil {
                colon = index
                if index + 1 < end && bytes[index + 1] == ASCII.quote {
                    return try scanQuotedValue(token: start, colon: index, end: end, hasStrayQuote: hasStrayQuote)
                }
            } else if byte == ASCII.quote {
                hasStrayQuote = true
            }
            index += 1
        }
        if hasStrayQuote { throw MessageErrors.badToken(bytes, start..<index, column: column(at: start)) }
        let valueStart = colon.map { $0 + 1 } ?? index
        return Token(start: start, end: index, colon: colon, valueStart: valueStart, valueEnd: index)
    }

    private func scanQuotedValue(token start: Int, colon: Int, end: Int, hasStrayQuote: Bool) throws(MessageError)
        -> Token
    {
        var index = colon + 2
        var firstBadEscape = -1
        var hasEscapes = false
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.quote { break }
            if byte == ASCII.backslash {
                hasEscapes = true
                if index + 1 < end, bytes[index + 1] != ASCII.quote, bytes[index + 1] != ASCII.backslash,
                    firstBadEscape < 0
                {
                    firstBadEscape = index
                }
                index += 2
                continue
            }
            index += 1
        }
        guard index < end else {
            throw MessageErrors.unterminatedQuote(bytes, start..<end, column: column(at: start))
        }
        if firstBadEscape >= 0 {
            throw MessageErrors.badEscape(bytes, at: firstBadEscape, column: column(at: firstBadEscape))
        }
        var tokenEnd = index + 1
        if hasStrayQuote || (tokenEnd < end && bytes[tokenEnd] != ASCII.space) {
            while tokenEnd < end && bytes[tokenEnd] != ASCII.space { tokenEnd += 1 }
            throw MessageErrors.badToken(bytes, start..<tokenEnd, column: column(at: start))
        }
        return Token(
            start: start, end: tokenEnd, colon: colon, valueStart: colon + 2, valueEnd: index, isQuoted: true,
            hasEscapes: hasEscapes)
    }

    private mutating func readTokens(from start: Int, to end: Int) throws(MessageError) {
        var token = try scanToken(from: start, to: end)
        try readKind(token)
        var position = token.end
        var wordsAllowed = message.kind.isIntent
        while position < end {
            while bytes[position] == ASCII.space { position += 1 }
            token = try scanToken(from: position, to: end)
            if token.colon == nil {
                try readWord(token, isCategory: wordsAllowed)
            } else {
                try readField(token)
            }
            wordsAllowed = false
            position = token.end
        }
    }

    private mutating func readKind(_ token: Token) throws(MessageError) {
        guard bytes[token.start] == ASCII.hash else {
            throw MessageErrors.missingKind(bytes, token.start..<token.end, column: column(at: token.start))
        }
        let letters = token.start + 1..<token.end
        guard token.colon == nil, let kind = MessageKind.lookup(bytes, letters) else {
            throw MessageErrors.unknownKind(bytes, token.start..<token.end, column: column(at: token.start))
        }
        message.kind = kind
    }

    private mutating func readWord(_ token: Token, isCategory: Bool) throws(MessageError) {
        let range = token.start..<token.end
        guard isCategory else {
            throw MessageErrors.unexpectedWord(bytes, range, kind: message.kind, column: column(at: token.start))
        }
        guard let category = IntentCategory.parse(bytes, range) else {
            throw MessageErrors.badCategory(bytes, range, column: column(at: token.start))
        }
        message.category = category
    }

    private mutating func readField(_ token: Token) throws(MessageError) {
        let keyRange = token.keyRange
        let tokenRange = token.start..<token.end
        guard isValidKey(keyRange) else {
            throw MessageErrors.badKey(bytes, tokenRange, column: column(at: token.start))
        }
        guard !token.valueRange.isEmpty else {
            throw MessageErrors.emptyValue(bytes, keyRange, column: column(at: token.start))
        }
        if let key = FieldKey.lookup(bytes, keyRange) {
            guard message.kind.allowedFields.contains(key) else {
                throw MessageErrors.fieldNotAllowed(key, kind: message.kind, column: column(at: token.start))
            }
            guard !seen.contains(key) else {
                throw MessageErrors.duplicateField(key.description, column: column(at: token.start))
            }
            try readValue(of: key, token)
            seen.insert(FieldSet(key))
        } else if message.kind.isIntent {
            let key = bytes.lowercasedString(keyRange)
            guard !message.attributes.contains(where: { $0.key == key }) else {
                throw MessageErrors.duplicateField(key, column: column(at: token.start))
            }
            guard let value = readText(token, maximumScalars: Message.maximumAttributeScalars) else {
                throw MessageErrors.badText(
                    bytes, (token.colon! + 1)..<token.end, limit: Message.maximumAttributeScalars,
                    column: column(at: token.start))
            }
            insertAttribute(Attribute(uncheckedKey: key, value: value))
        } else {
            throw MessageErrors.unknownField(bytes, keyRange, kind: message.kind, column: column(at: token.start))
        }
        fieldCount += 1
        guard fieldCount <= Message.maximumFields else {
            throw MessageErrors.tooManyFields(column: column(at: token.start))
        }
    }

    /// `key = ALPHA *15( ALPHA / DIGIT / "-" )`
    private func isValidKey(_ range: Range<Int>) -> Bool {
        guard (1...16).contains(range.count), ASCII.isLetter(bytes[range.lowerBound]) else { return false }
        for index in range.dropFirst() {
            let byte = bytes[index]
            guard ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte == ASCII.hyphen else { return false }
        }
        return true
    }

    private mutating func insertAttribute(_ attribute: Attribute) {
        var index = message.attributes.endIndex
        while index > 0 && attribute.key.utf8.lexicographicallyPrecedes(message.attributes[index - 1].key.utf8) {
            index -= 1
        }
        message.attributes.insert(attribute, at: index)
    }

    // MARK: - Values

    private mutating func readValue(of key: FieldKey, _ token: Token) throws(MessageError) {
        let range = token.valueRange
        let fault: (MessageError.Code, String)
        read: do {
            switch key {
            case .id, .re:
                guard !token.isQuoted, let id = MessageID.parse(bytes, range) else {
                    fault = (.badID, "write ids as 8 characters of 0-9 and a-z without i, l, o, u, like k7f3q2ab")
                    break read
                }
                if key == .id { message.id = id } else { message.re = id }
            case .price, .min, .max:
                guard !token.isQuoted, let money = Money.parse(bytes, range) else {
                    fault = (.badMoney, "write amounts like 1200EUR or 12.50USD")
                    break read
                }
                switch key {
                case .price: message.price = money
                case .min: message.min = money
                default: message.max = money
                }
            case .qty:
                guard !token.isQuoted, let quantity = Quantity.parse(bytes, range) else {
                    fault = (.badQuantity, "write a whole number from 1 to 1000000")
                    break read
                }
                message.qty = quantity
            case .item, .why, .note:
                guard let text = readText(token, maximumScalars: Message.maximumTextScalars) else {
                    fault = (.badText, "text is 1 to \(Message.maximumTextScalars) characters")
                    break read
                }
                switch key {
                case .item: message.item = text
                case .why: message.why = text
                default: message.note = text
                }
            case .sku:
                guard !token.isQuoted, let sku = SKU.parse(bytes, range) else {
                    fault = (.badToken, "an sku is 1 to 64 of A-Z, a-z, 0-9 and . _ / -")
                    break read
                }
                message.sku = sku
            case .in:
                switch readList(token, parseItem: Region.parse) {
                case .success(let regions): message.regions = regions
                case .failure(let listFault):
                    fault = listFault.describe(
                        .badRegion, "write ISO 3166-1 country codes like DE or subdivisions like US-CA, comma-separated"
                    )
                    break read
                }
            case .by, .exp:
                guard let when = readWhen(token) else {
                    // A quoted value is judged by its content, so max:"2026-02-30" reads as a bad date.
                    fault =
                        CalendarDate.looksLikeDate(bytes, range)
                        ? (.badDate, "write a real date from 2000-01-01 to 2999-12-31, like 2026-12-24")
                        : (.badDuration, "write a date like 2026-12-24 or a time like 30m, 48h, 3d or 2w")
                    break read
                }
                if key == .by { message.by = when } else { message.exp = when }
            case .eta:
                guard !token.isQuoted, let span = TimeSpan.parse(bytes, range) else {
                    fault = (.badDuration, "write a time like 30m, 48h, 3d or 2w (1 to 9999)")
                    break read
                }
                message.eta = span
            case .terms:
                switch readList(token, parseItem: TermsID.parse) {
                case .success(let terms): message.terms = terms
                case .failure(let listFault):
                    fault = listFault.describe(.badTerms, "write terms ids like sd-base, comma-separated")
                    break read
                }
            case .needs, .give:
                switch readList(token, parseItem: parseDataCategory) {
                case .success(let categories):
                    if key == .needs { message.needs = categories } else { message.give = categories }
                case .failure(let listFault):
                    fault = listFault.describe(
                        .unknownCategory,
                        "data categories are " + DataCategory.allCases.map(\.rawValue).joined(separator: ", "))
                    break read
                }
            }
            return
        }
        // Quote the value as written, quotes included, so the user sees exactly what was refused.
        let written = (token.colon! + 1)..<token.end
        throw MessageErrors.badValue(fault.0, bytes, written, hint: fault.1, column: column(at: token.start))
    }

    private func readWhen(_ token: Token) -> When? {
        guard !token.isQuoted else { return nil }
        if CalendarDate.looksLikeDate(bytes, token.valueRange) {
            return CalendarDate.parse(bytes, token.valueRange).map(When.date)
        }
        return TimeSpan.parse(bytes, token.valueRange).map(When.after)
    }

    private func parseDataCategory(_ bytes: Bytes, _ range: Range<Int>) -> DataCategory? {
        guard range.count <= 9 else { return nil }
        return DataCategory(rawValue: bytes.lowercasedString(range))
    }

    /// A text value, unescaped, or `nil` when it has more than `maximumScalars` scalars.
    private func readText(_ token: Token, maximumScalars: Int) -> String? {
        let range = token.valueRange
        guard token.hasEscapes else {
            guard bytes.scalarCount(range) <= maximumScalars else { return nil }
            return bytes.string(range)
        }
        var unescaped = [UInt8]()
        unescaped.reserveCapacity(range.count)
        var index = range.lowerBound
        while index < range.upperBound {
            if bytes[index] == ASCII.backslash { index += 1 }
            unescaped.append(bytes[index])
            index += 1
        }
        let text = String(decoding: unescaped, as: UTF8.self)
        return text.unicodeScalars.count <= maximumScalars ? text : nil
    }

    private enum ListFault: Error {
        case badItem, badList

        func describe(_ itemCode: MessageError.Code, _ itemHint: String) -> (MessageError.Code, String) {
            switch self {
            case .badItem: (itemCode, itemHint)
            case .badList: (.badList, "a list has no empty and no repeated items, like in:DE,FR")
            }
        }
    }

    /// A comma-separated list: empty items are `bad-list`, then each item must parse, then no item may repeat.
    private func readList<Item: Equatable>(_ token: Token, parseItem: (Bytes, Range<Int>) -> Item?) -> Result<
        [Item], ListFault
    > {
        guard !token.isQuoted else { return .failure(.badItem) }
        let range = token.valueRange
        var itemRanges: [Range<Int>] = []
        var itemStart = range.lowerBound
        for index in range where bytes[index] == ASCII.comma {
            guard index > itemStart else { return .failure(.badList) }
            itemRanges.append(itemStart..<index)
            itemStart = index + 1
        }
        guard itemStart < range.upperBound else { return .failure(.badList) }
        itemRanges.append(itemStart..<range.upperBound)
        var items: [Item] = []
        items.reserveCapacity(itemRanges.count)
        for itemRange in itemRanges {
            guard let item = parseItem(bytes, itemRange) else { return .failure(.badItem) }
            items.append(item)
        }
        for index in items.indices.dropFirst() where items[..<index].contains(items[index]) {
            return .failure(.badList)
        }
        return .success(items)
    }

    // MARK: - After the last token

    private func checkCompleteness() throws(MessageError) {
        if message.kind.isIntent && message.category == nil { throw MessageErrors.missingCategory(message.kind) }
        for key in message.kind.requiredFields where !seen.contains(key) {
            throw MessageErrors.missingField(key, kind: message.kind)
        }
        if message.kind == .counter && seen.isDisjoint(with: [.price, .qty, .eta]) {
            throw MessageErrors.missingCounterTerms()
        }
        if let min = message.min, let max = message.max {
            if min.currency != max.currency { throw MessageErrors.currencyConflict(min: min, max: max) }
            if min.thousandths > max.thousandths { throw MessageErrors.rangeConflict(min: min, max: max) }
        }
    }
}

extension Attribute {
    init(uncheckedKey key: String, value: String) {
        self.key = key
        self.value = value
    }
}
