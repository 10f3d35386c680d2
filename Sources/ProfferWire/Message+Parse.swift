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
        try parse(bytes, columnOffset: 0)
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
        try parse(bytes, columnOffset: leadingSpaces)
    }

    private static func parse(_ bytes: Bytes, columnOffset: Int) throws(MessageError) -> Message {
        // The synthesized empty message: building it through init(kind:) made a copy of it that the optimiser
        // could not remove.
        var message = Message()
        var parser = MessageParser(bytes: bytes, columnOffset: columnOffset)
        try parser.read(into: &message)
        return message
    }
}

/// Builds a message from what its ``MessageReader`` reads: one pass over the text, then one over the tokens.
/// Allocates only what the message keeps.
struct MessageParser {
    private let reader: MessageReader
    private var bytes: Bytes { reader.bytes }
    /// The fields the message's kind allows, looked up once when the kind is read.
    private var allowed = FieldSet()
    private var seen = FieldSet()
    private var fieldCount = 0
    /// Set when a bare text value holds a backslash: its canonical form quotes and escapes it, so the message grows
    /// and must be measured again once complete.
    private var canonicalFormMayGrow = false

    init(bytes: Bytes, columnOffset: Int) {
        reader = MessageReader(bytes: bytes, columnOffset: columnOffset)
    }

    /// Reads the whole message into `message`, which must be fresh.
    @inline(__always)
    mutating func read(into message: inout Message) throws(MessageError) {
        let (start, end) = try reader.checkText()
        try readTokens(from: start, to: end, into: &message)
        try checkCompleteness(of: message)
    }

    private mutating func readTokens(from start: Int, to end: Int, into message: inout Message) throws(MessageError) {
        var token = try reader.scanToken(from: start, to: end)
        try readKind(token, into: &message)
        var position = token.end
        var wordsAllowed = message.kind.isIntent
        while position < end {
            while bytes[position] == ASCII.space { position += 1 }
            token = try reader.scanToken(from: position, to: end)
            if token.colon == nil {
                try readWord(token, isCategory: wordsAllowed, into: &message)
            } else {
                try readField(token, into: &message)
            }
            wordsAllowed = false
            position = token.end
        }
    }

    private mutating func readKind(_ token: MessageReader.Token, into message: inout Message) throws(MessageError) {
        guard bytes[token.start] == ASCII.hash else {
            throw MessageErrors.missingKind(bytes, token.start..<token.end, column: reader.column(at: token.start))
        }
        let letters = token.start + 1..<token.end
        guard token.colon == nil, let kind = MessageKind.lookup(bytes, letters) else {
            throw MessageErrors.unknownKind(bytes, token.start..<token.end, column: reader.column(at: token.start))
        }
        message.kind = kind
        allowed = kind.allowedFields
    }

    private func readWord(_ token: MessageReader.Token, isCategory: Bool, into message: inout Message)
        throws(MessageError)
    {
        let range = token.start..<token.end
        guard isCategory else {
            throw MessageErrors.unexpectedWord(bytes, range, kind: message.kind, column: reader.column(at: token.start))
        }
        guard let category = IntentCategory.parse(bytes, range) else {
            throw MessageErrors.badCategory(bytes, range, column: reader.column(at: token.start))
        }
        message.category = category
    }

    private mutating func readField(_ token: MessageReader.Token, into message: inout Message) throws(MessageError) {
        let keyRange = token.keyRange
        let tokenRange = token.start..<token.end
        let reading = FieldKey.read(bytes, keyRange)
        if case .invalid = reading {
            throw MessageErrors.badKey(bytes, tokenRange, column: reader.column(at: token.start))
        }
        guard !token.valueRange.isEmpty else {
            throw MessageErrors.emptyValue(bytes, keyRange, column: reader.column(at: token.start))
        }
        switch reading {
        case .registered(let key):
            guard allowed.contains(key) else {
                throw MessageErrors.fieldNotAllowed(key, kind: message.kind, column: reader.column(at: token.start))
            }
            guard !seen.contains(key) else {
                throw MessageErrors.duplicateField(key.description, column: reader.column(at: token.start))
            }
            try readValue(of: key, token, into: &message)
            seen.insert(key)
        case .attribute where message.kind.isIntent:
            let key = bytes.lowercasedString(keyRange)
            guard !message.attributes.contains(where: { $0.key == key }) else {
                throw MessageErrors.duplicateField(key, column: reader.column(at: token.start))
            }
            guard
                let value = reader.readText(
                    token, maximumScalars: Message.maximumAttributeScalars, growsWhenCanonical: &canonicalFormMayGrow)
            else {
                throw MessageErrors.badText(
                    bytes, (token.colon! + 1)..<token.end, limit: Message.maximumAttributeScalars,
                    column: reader.column(at: token.start))
            }
            insertAttribute(Attribute(uncheckedKey: key, value: value), into: &message)
        case .attribute, .invalid:
            throw MessageErrors.unknownField(
                bytes, keyRange, kind: message.kind, column: reader.column(at: token.start))
        }
        fieldCount += 1
        guard fieldCount <= Message.maximumFields else {
            throw MessageErrors.tooManyFields(column: reader.column(at: token.start))
        }
    }

    private func insertAttribute(_ attribute: Attribute, into message: inout Message) {
        var index = message.attributes.endIndex
        while index > 0 && attribute.key.utf8.lexicographicallyPrecedes(message.attributes[index - 1].key.utf8) {
            index -= 1
        }
        message.attributes.insert(attribute, at: index)
    }

    // MARK: - Values

    private mutating func readValue(of key: FieldKey, _ token: MessageReader.Token, into message: inout Message)
        throws(MessageError)
    {
        let range = token.valueRange
        switch key {
        case .id, .re:
            guard !token.isQuoted, let id = MessageID.parse(bytes, range) else {
                throw reader.valueError(.badID, token)
            }
            if key == .id { message.id = id } else { message.re = id }
        case .price, .min, .max:
            guard !token.isQuoted, let money = Money.parse(bytes, range) else {
                throw reader.valueError(.badMoney, token)
            }
            switch key {
            case .price: message.price = money
            case .min: message.min = money
            default: message.max = money
            }
        case .qty:
            guard !token.isQuoted, let quantity = Quantity.parse(bytes, range) else {
                throw reader.valueError(.badQuantity, token)
            }
            message.qty = quantity
        case .item, .why, .note:
            guard
                let text = reader.readText(
                    token, maximumScalars: Message.maximumTextScalars, growsWhenCanonical: &canonicalFormMayGrow)
            else {
                throw reader.valueError(.badText, token)
            }
            switch key {
            case .item: message.item = text
            case .why: message.why = text
            default: message.note = text
            }
        case .sku:
            guard !token.isQuoted, let sku = SKU.parse(bytes, range) else { throw reader.valueError(.badToken, token) }
            message.sku = sku
        case .in:
            message.regions = try reader.readList(token, itemError: .badRegion, parseItem: Region.parse)
        case .by, .exp:
            guard let when = reader.readWhen(token) else {
                // A quoted value is judged by its content, so by:"2026-02-30" reads as a bad date.
                throw reader.valueError(CalendarDate.looksLikeDate(bytes, range) ? .badDate : .badDuration, token)
            }
            if key == .by { message.by = when } else { message.exp = when }
        case .eta:
            guard !token.isQuoted, let span = TimeSpan.parse(bytes, range) else {
                throw reader.valueError(.badDuration, token)
            }
            message.eta = span
        case .terms:
            message.terms = try reader.readList(token, itemError: .badTerms, parseItem: TermsID.parse)
        case .reply:
            guard !token.isQuoted else { throw MessageErrors.badReply(.quoted, bytes, token, reader: reader) }
            switch NostrReply.parse(bytes, range) {
            case .success(let reply): message.reply = reply
            case .failure(let failure): throw MessageErrors.badReply(failure, bytes, token, reader: reader)
            }
        case .needs, .give:
            let categories = try reader.readList(token, itemError: .unknownCategory, parseItem: DataCategory.parse)
            if key == .needs { message.needs = categories } else { message.give = categories }
        }
    }

    // MARK: - After the last token

    // Inlined because passing the message to a call copied all of it.
    @inline(__always)
    private func checkCompleteness(of message: borrowing Message) throws(MessageError) {
        if message.kind.isIntent && message.category == nil { throw MessageErrors.missingCategory(message.kind) }
        if let missing = message.kind.requiredFields.subtracting(seen).first {
            throw MessageErrors.missingField(missing, kind: message.kind)
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
