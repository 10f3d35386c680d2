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
        try MessageParser(bytes: bytes, columnOffset: 0).parse()
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
        try MessageParser(bytes: bytes, columnOffset: leadingSpaces).parse()
    }
}

/// One pass over the text, then one over the tokens. Reads bytes only; allocates only what the message keeps.
struct MessageParser {
    let bytes: Bytes
    /// Scalars that stood before `bytes` in the input the user sees, added to every positional column.
    let columnOffset: Int
    private var message = Message(kind: .buy)
    /// The fields the message's kind allows, looked up once when the kind is read.
    private var allowed = FieldSet()
    private var seen = FieldSet()
    private var fieldCount = 0
    /// Set when a bare text value holds a backslash: its canonical form quotes and escapes it, so the message grows
    /// and must be measured again once complete.
    private var canonicalFormMayGrow = false

    init(bytes: Bytes, columnOffset: Int) {
        self.bytes = bytes
        self.columnOffset = columnOffset
    }

    /// Consuming, so the finished message moves out instead of being copied.
    consuming func parse() throws(MessageError) -> Message {
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
        let base = UnsafeRawPointer(bytes.baseAddress)
        while index < count {
            // Eight plain ASCII bytes at a time: no high bit, nothing below SP, no DEL.
            if index + 8 <= count, let base {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let ones: UInt64 = 0x0101_0101_0101_0101
                let highBits: UInt64 = 0x8080_8080_8080_8080
                let belowSpace = (word &- ones &* 0x20) & ~word & highBits
                let delete = ((word ^ (ones &* 0x7F)) &- ones) & ~(word ^ (ones &* 0x7F)) & highBits
                if (word | belowSpace | delete) & highBits == 0 {
                    index += 8
                    scalars += 8
                    continue
                }
            }
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
        allowed = kind.allowedFields
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
            guard allowed.contains(key) else {
                throw MessageErrors.fieldNotAllowed(key, kind: message.kind, column: column(at: token.start))
            }
            guard !seen.contains(key) else {
                throw MessageErrors.duplicateField(key.description, column: column(at: token.start))
            }
            try readValue(of: key, token)
            seen.formUnion(FieldSet(key))
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
        switch key {
        case .id, .re:
            guard !token.isQuoted, let id = MessageID.parse(bytes, range) else { throw valueError(.badID, token) }
            if key == .id { message.id = id } else { message.re = id }
        case .price, .min, .max:
            guard !token.isQuoted, let money = Money.parse(bytes, range) else { throw valueError(.badMoney, token) }
            switch key {
            case .price: message.price = money
            case .min: message.min = money
            default: message.max = money
            }
        case .qty:
            guard !token.isQuoted, let quantity = Quantity.parse(bytes, range) else {
                throw valueError(.badQuantity, token)
            }
            message.qty = quantity
        case .item, .why, .note:
            guard let text = readText(token, maximumScalars: Message.maximumTextScalars) else {
                throw valueError(.badText, token)
            }
            switch key {
            case .item: message.item = text
            case .why: message.why = text
            default: message.note = text
            }
        case .sku:
            guard !token.isQuoted, let sku = SKU.parse(bytes, range) else { throw valueError(.badToken, token) }
            message.sku = sku
        case .in:
            message.regions = try readList(token, itemError: .badRegion, parseItem: Region.parse)
        case .by, .exp:
            guard let when = readWhen(token) else {
                // A quoted value is judged by its content, so by:"2026-02-30" reads as a bad date.
                throw valueError(CalendarDate.looksLikeDate(bytes, range) ? .badDate : .badDuration, token)
            }
            if key == .by { message.by = when } else { message.exp = when }
        case .eta:
            guard !token.isQuoted, let span = TimeSpan.parse(bytes, range) else {
                throw valueError(.badDuration, token)
            }
            message.eta = span
        case .terms:
            message.terms = try readList(token, itemError: .badTerms, parseItem: TermsID.parse)
        case .needs, .give:
            let categories = try readList(token, itemError: .unknownCategory, parseItem: DataCategory.parse)
            if key == .needs { message.needs = categories } else { message.give = categories }
        }
    }

    /// The error for a value of the wrong form, quoting the value as written (quotes included).
    private func valueError(_ code: MessageError.Code, _ token: Token) -> MessageError {
        MessageErrors.badValue(code, bytes, (token.colon! + 1)..<token.end, column: column(at: token.start))
    }

    private func readWhen(_ token: Token) -> When? {
        guard !token.isQuoted else { return nil }
        if CalendarDate.looksLikeDate(bytes, token.valueRange) {
            return CalendarDate.parse(bytes, token.valueRange).map(When.date)
        }
        return TimeSpan.parse(bytes, token.valueRange).map(When.after)
    }

    /// A text value, unescaped, or `nil` when it has more than `maximumScalars` scalars.
    private mutating func readText(_ token: Token, maximumScalars: Int) -> String? {
        let range = token.valueRange
        guard token.hasEscapes else {
            guard bytes.scalarCount(range) <= maximumScalars else { return nil }
            if !token.isQuoted && !canonicalFormMayGrow {
                canonicalFormMayGrow = range.contains { bytes[$0] == ASCII.backslash }
            }
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

    /// A comma-separated list: empty items are `bad-list`, then each item must parse (else `itemError`), then no
    /// item may repeat (`bad-list`).
    private func readList<Item: Equatable>(
        _ token: Token, itemError: MessageError.Code, parseItem: (Bytes, Range<Int>) -> Item?
    ) throws(MessageError) -> [Item] {
        guard !token.isQuoted else { throw valueError(itemError, token) }
        let range = token.valueRange
        var itemCount = 1
        var itemStart = range.lowerBound
        var index = range.lowerBound
        while index < range.upperBound {
            if bytes[index] == ASCII.comma {
                guard index > itemStart else { throw valueError(.badList, token) }
                itemCount += 1
                itemStart = index + 1
            }
            index += 1
        }
        guard itemStart < range.upperBound else { throw valueError(.badList, token) }
        var items: [Item] = []
        items.reserveCapacity(itemCount)
        itemStart = range.lowerBound
        index = range.lowerBound
        while index <= range.upperBound {
            if index == range.upperBound || bytes[index] == ASCII.comma {
                guard let item = parseItem(bytes, itemStart..<index) else { throw valueError(itemError, token) }
                items.append(item)
                itemStart = index + 1
            }
            index += 1
        }
        for later in items.indices.dropFirst() where items[..<later].contains(items[later]) {
            throw valueError(.badList, token)
        }
        return items
    }

    // MARK: - After the last token

    private func checkCompleteness() throws(MessageError) {
        if message.kind.isIntent && message.category == nil { throw MessageErrors.missingCategory(message.kind) }
        for key in message.kind.requiredFields where !seen.contains(key) {
            throw MessageErrors.missingField(key, kind: message.kind)
        }
        if message.kind == .counter && seen.isDisjoint(with: FieldSet.counterTerms) {
            throw MessageErrors.missingCounterTerms()
        }
        if let min = message.min, let max = message.max {
            if min.currency != max.currency { throw MessageErrors.currencyConflict(min: min, max: max) }
            if min.thousandths > max.thousandths { throw MessageErrors.rangeConflict(min: min, max: max) }
        }
        // A valid message's canonical form must itself be valid, so it too must fit.
        if canonicalFormMayGrow {
            let canonicalScalars = message.canonicalForm.unicodeScalars.count
            if canonicalScalars > Message.maximumScalars {
                throw MessageErrors.canonicalFormTooLong(scalars: canonicalScalars)
            }
        }
    }
}

extension Attribute {
    init(uncheckedKey key: String, value: String) {
        self.key = key
        self.value = value
    }
}
