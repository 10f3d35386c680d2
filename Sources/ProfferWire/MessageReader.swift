/// Reads a message's bytes: text rules, tokens and values. It holds only the bytes and a column offset, so it is
/// free to copy; the ``MessageParser`` that builds the message holds all the state.
struct MessageReader {
    let bytes: Bytes
    /// Scalars that stood before `bytes` in the input the user sees, added to every positional column.
    let columnOffset: Int

    /// The column of the scalar starting at byte `index`.
    func column(at index: Int) -> Int { columnOffset + bytes.scalarCount(0..<index) + 1 }

    // MARK: - Text

    /// Checks encoding, emptiness, length and forbidden scalars, in that order; returns the trimmed byte range.
    func checkText() throws(MessageError) -> (Int, Int) {
        let count = bytes.count
        var index = 0
        var scalars = 0
        var firstForbidden = -1
        let base = UnsafeRawPointer(bytes.baseAddress)
        /// The high bit of each byte of the eight at `offset` that is not plain ASCII: high bit, below SP, or DEL.
        func notPlain(at offset: Int, _ base: UnsafeRawPointer) -> UInt64 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            let belowSpace = (word &- ones &* 0x20) & ~word & highBits
            let delete = ((word ^ (ones &* 0x7F)) &- ones) & ~(word ^ (ones &* 0x7F)) & highBits
            return (word | belowSpace | delete) & highBits
        }
        // Nearly every message is plain ASCII: check it a word at a time, the last word overlapping the one before,
        // so no byte is handled alone. Anything else is checked again below, byte by byte where it must be.
        if count >= 8, let base {
            var found: UInt64 = 0
            var offset = 0
            while offset + 8 < count {
                found |= notPlain(at: offset, base)
                offset += 8
            }
            found |= notPlain(at: count - 8, base)
            if found == 0 {
                index = count
                scalars = count
            }
        }
        while index < count {
            // Eight plain ASCII bytes at a time.
            if index + 8 <= count, let base, notPlain(at: index, base) == 0 {
                index += 8
                scalars += 8
                continue
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
    @inline(__always) func decodeMultiByte(at index: Int) -> (Int, Bool)? {
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
    struct Token {
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
    // Eight bytes at a time where eight remain: a byte loop's exit depends on the key's length, which varies from
    // token to token, and its mispredictions cost more than the word arithmetic.
    @inline(__always)
    func scanToken(from start: Int, to end: Int) throws(MessageError) -> Token {
        var index = start
        var hasStrayQuote = false
        while index < end {
            if index + 8 <= end, let base = UnsafeRawPointer(bytes.baseAddress) {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let stops =
                    ASCII.bytesEqual(word, ASCII.space) | ASCII.bytesEqual(word, ASCII.colon)
                    | ASCII.bytesEqual(word, ASCII.quote)
                if stops == 0 {
                    index += 8
                    continue
                }
                index += stops.trailingZeroBitCount / 8
            }
            let byte = bytes[index]
            if byte == ASCII.space || byte == ASCII.colon { break }
            hasStrayQuote = hasStrayQuote || byte == ASCII.quote
            index += 1
        }
        guard index < end && bytes[index] == ASCII.colon else {
            if hasStrayQuote { throw MessageErrors.badToken(bytes, start..<index, column: column(at: start)) }
            return Token(start: start, end: index, colon: nil, valueStart: index, valueEnd: index)
        }
        let colon = index
        if colon + 1 < end && bytes[colon + 1] == ASCII.quote {
            return try scanQuotedValue(token: start, colon: colon, end: end, hasStrayQuote: hasStrayQuote)
        }
        index += 1
        // The value, up to a space.
        while index < end {
            if index + 8 <= end, let base = UnsafeRawPointer(bytes.baseAddress) {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let stops = ASCII.bytesEqual(word, ASCII.space) | ASCII.bytesEqual(word, ASCII.quote)
                if stops == 0 {
                    index += 8
                    continue
                }
                index += stops.trailingZeroBitCount / 8
            }
            let byte = bytes[index]
            if byte == ASCII.space { break }
            hasStrayQuote = hasStrayQuote || byte == ASCII.quote
            index += 1
        }
        if hasStrayQuote { throw MessageErrors.badToken(bytes, start..<index, column: column(at: start)) }
        return Token(start: start, end: index, colon: colon, valueStart: colon + 1, valueEnd: index)
    }

    func scanQuotedValue(token start: Int, colon: Int, end: Int, hasStrayQuote: Bool) throws(MessageError)
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

    /// The error for a value of the wrong form, quoting the value as written (quotes included).
    func valueError(_ code: MessageError.Code, _ token: Token) -> MessageError {
        MessageErrors.badValue(code, bytes, (token.colon! + 1)..<token.end, column: column(at: token.start))
    }

    func readWhen(_ token: Token) -> When? {
        guard !token.isQuoted else { return nil }
        if CalendarDate.looksLikeDate(bytes, token.valueRange) {
            return CalendarDate.parse(bytes, token.valueRange).map(When.date)
        }
        return TimeSpan.parse(bytes, token.valueRange).map(When.after)
    }

    /// A text value, unescaped, or `nil` when it has more than `maximumScalars` scalars. `growsWhenCanonical` is
    /// set when the value is bare and holds a backslash, which its canonical form must quote and escape.
    func readText(_ token: Token, maximumScalars: Int, growsWhenCanonical: inout Bool) -> String? {
        let range = token.valueRange
        guard token.hasEscapes else {
            guard bytes.scalarCount(range) <= maximumScalars else { return nil }
            if !token.isQuoted && !growsWhenCanonical {
                growsWhenCanonical = range.contains { bytes[$0] == ASCII.backslash }
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
    func readList<Item: Hashable & Sendable>(
        _ token: Token, itemError: MessageError.Code, parseItem: (Bytes, Range<Int>) -> Item?
    ) throws(MessageError) -> FieldList<Item> {
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
        if itemCount == 1 {
            guard let item = parseItem(bytes, range) else { throw valueError(itemError, token) }
            return FieldList(item)
        }
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
        return FieldList(uncheckedNonEmpty: items)
    }
}
