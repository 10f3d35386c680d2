/// Builds each error with a one-line message that says what is wrong and how to write it instead.
///
/// Messages quote what the user wrote (shortened), never more: the parser has already ruled out control characters
/// by the time a token is quoted, and `bad-encoding` quotes nothing.
enum MessageErrors {
    static func badEncoding(column: Int) -> MessageError {
        MessageError(.badEncoding, column: column, message: "the message is not valid UTF-8 — save it as UTF-8 text")
    }

    static func empty() -> MessageError {
        MessageError(.empty, column: 1, message: "the message is empty — start with a kind, like #buy camera")
    }

    static func tooLong(scalars: Int) -> MessageError {
        MessageError(
            .tooLong, column: 1,
            message:
                "the message has \(scalars) characters; at most \(Message.maximumScalars) fit — shorten notes or drop optional fields"
        )
    }

    static func canonicalFormTooLong(scalars: Int) -> MessageError {
        MessageError(
            .tooLong, column: 1,
            message:
                "written canonically (a backslash in text is quoted and escaped) the message has \(scalars) characters; at most \(Message.maximumScalars) fit — shorten a text value"
        )
    }

    static func controlCharacter(_ bytes: Bytes, at index: Int, column: Int) -> MessageError {
        let scalar = Unicode.UTF8.decode(bytes, at: index)
        let hex = String(scalar, radix: 16, uppercase: true)
        let name = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return MessageError(
            .controlCharacter, column: column,
            message: "control character \(name) is not allowed — use plain spaces and one line")
    }

    static func unterminatedQuote(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        MessageError(
            .unterminatedQuote, column: column,
            message: "\(quoted(bytes, range)) opens a quote that never closes — end the value with \"")
    }

    static func badEscape(_ bytes: Bytes, at index: Int, column: Int) -> MessageError {
        let sequence = quoted(bytes, index..<min(bytes.count, index + 1 + scalarLength(bytes, at: index + 1)))
        return MessageError(
            .badEscape, column: column,
            message: "bad escape \(sequence) — inside quotes only \\\" and \\\\ are escapes")
    }

    static func badToken(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        MessageError(
            .badToken, column: column,
            message:
                "\(quoted(bytes, range)) has a stray quote — quotes enclose a whole text value, like note:\"two words\""
        )
    }

    static func missingKind(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        let word = bytes.string(range)
        let hint =
            MessageKind(rawValue: word.lowercased()).map { " — did you mean \"#\($0.rawValue)\"?" }
            ?? " — start with a kind, like #buy, #offer or #accept"
        return MessageError(
            .missingKind, column: column, message: "the message starts with \(quoted(bytes, range)), not a kind" + hint)
    }

    static func unknownKind(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        let word = String(bytes.string(range).dropFirst()).lowercased()
        let kinds = MessageKind.allCases.map(\.rawValue)
        let hint =
            Suggestions.nearest(to: word, among: kinds).map { " — did you mean \"#\($0)\"?" }
            ?? " — kinds are " + kinds.map { "#" + $0 }.joined(separator: ", ")
        return MessageError(.unknownKind, column: column, message: "unknown kind \(quoted(bytes, range))" + hint)
    }

    static func unexpectedWord(_ bytes: Bytes, _ range: Range<Int>, kind: MessageKind, column: Int)
        -> MessageError
    {
        // `max:1200 EUR`: a currency written apart from its amount.
        let isCurrency = range.count == 3 && range.allSatisfy { ASCII.isLetter(bytes[$0]) }
        // Right after an amount, bare or with the currency a default added (`1200` or `1200EUR`).
        var before = range.lowerBound - 2
        while before >= 0, before >= range.lowerBound - 5, ASCII.isLetter(bytes[before]) { before -= 1 }
        let afterAmount = before >= 0 && ASCII.isDigit(bytes[before])
        let hint =
            isCurrency && afterAmount
            ? "write the currency right after the amount, without a space, like 1200\(bytes.string(range).uppercased())"
            : kind.isIntent
                ? "the category comes right after #\(kind.rawValue); everything else is key:value"
                : "#\(kind.rawValue) takes only key:value fields"
        return MessageError(
            .unexpectedWord, column: column, message: "unexpected word \(quoted(bytes, range)) — \(hint)")
    }

    static func badCategory(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        MessageError(
            .badCategory, column: column,
            message:
                "bad category \(quoted(bytes, range)) — write 1 to 6 dot-separated parts of a-z, 0-9 and -, like camera.mirrorless"
        )
    }

    static func badKey(_ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        MessageError(
            .badKey, column: column,
            message:
                "bad key in \(quoted(bytes, range)) — a key is a letter then up to 15 letters, digits or -, like size:42"
        )
    }

    static func emptyValue(_ bytes: Bytes, _ keyRange: Range<Int>, column: Int) -> MessageError {
        let key = bytes.string(keyRange)
        return MessageError(
            .emptyValue, column: column, message: "\"\(key):\" has no value — write \(key):VALUE or leave it out")
    }

    static func fieldNotAllowed(_ key: FieldKey, kind: MessageKind, column: Int) -> MessageError {
        let allowed = kind.allowedFields.keys.map(\.description).joined(separator: ", ")
        return MessageError(
            .fieldNotAllowed, column: column,
            message: "field \"\(key)\" is not allowed in #\(kind.rawValue) — allowed: \(allowed)")
    }

    static func unknownField(_ bytes: Bytes, _ keyRange: Range<Int>, kind: MessageKind, column: Int)
        -> MessageError
    {
        let key = bytes.lowercasedString(keyRange)
        let allowed = kind.allowedFields.keys.map(\.description)
        let hint =
            Suggestions.nearest(to: key, among: allowed).map { " — did you mean \"\($0)\"?" }
            ?? " — #\(kind.rawValue) takes " + allowed.joined(separator: ", ")
        return MessageError(
            .unknownField, column: column, message: "unknown field \(quoted(bytes, keyRange))" + hint)
    }

    static func duplicateField(_ key: String, column: Int) -> MessageError {
        MessageError(.duplicateField, column: column, message: "field \"\(key)\" is given twice — keep one")
    }

    static func badText(_ bytes: Bytes, _ range: Range<Int>, limit: Int, column: Int) -> MessageError {
        MessageError(
            .badText, column: column,
            message: "\(quoted(bytes, range)) is too long — an attribute value has at most \(limit) characters")
    }

    static func badValue(_ code: MessageError.Code, _ bytes: Bytes, _ range: Range<Int>, column: Int) -> MessageError {
        let misnamed = code == .badRegion ? misnamedRegions(bytes.string(range)) : nil
        return MessageError(
            code, column: column,
            message: "\(quoted(bytes, range)) — \(misnamed.map { $0 + "; " } ?? "")\(valueHint(code))")
    }

    /// The codes people write for places that ISO 3166-1 names otherwise.
    private static func misnamedRegions(_ value: String) -> String? {
        let known = ["UK": "the United Kingdom is GB", "EU": "EU is not a country: list the countries, like DE,FR"]
        let hints = value.uppercased().split(separator: ",").compactMap { known[String($0.prefix(2))] }
        return hints.isEmpty ? nil : Array(Set(hints)).sorted().joined(separator: "; ")
    }

    /// How a value of each type is written.
    private static func valueHint(_ code: MessageError.Code) -> String {
        switch code {
        case .badID: "write ids as 8 characters of 0-9 and a-z without i, l, o, u, like k7f3q2ab"
        case .badMoney: "write amounts like 1200EUR or 12.50USD"
        case .badQuantity: "write a whole number from 1 to 1000000"
        case .badText: "text is 1 to \(Message.maximumTextScalars) characters"
        case .badToken: "an sku is 1 to 64 of A-Z, a-z, 0-9 and . _ / -"
        case .badRegion: "write ISO 3166-1 country codes like DE or subdivisions like US-CA, comma-separated"
        case .badDate: "write a real date from 2000-01-01 to 2999-12-31, like 2026-12-24"
        case .badDuration: "write a time like 30m, 48h, 3d or 2w (1 to 9999), or for by and exp a date like 2026-12-24"
        case .badTerms: "write terms ids like sd-base, comma-separated"
        case .unknownCategory: "data categories are " + DataCategory.allCases.map(\.rawValue).joined(separator: ", ")
        case .badList: "a list has no empty and no repeated items, like in:DE,FR"
        default: "see schema/message.abnf"
        }
    }

    /// A reply value, refused with the reason its NIP-19 string gives.
    static func badReply(
        _ failure: NostrReply.Failure, _ bytes: Bytes, _ token: MessageReader.Token, reader: MessageReader
    )
        -> MessageError
    {
        let range = (token.colon! + 1)..<token.end
        return MessageError(
            .badReply, column: reader.column(at: token.start),
            message: "\(quoted(bytes, range)) — \(failure); write reply:nostr:npub1… or reply:nostr:nprofile1…")
    }

    static func tooManyFields(column: Int) -> MessageError {
        MessageError(
            .tooManyFields, column: column,
            message: "more than \(Message.maximumFields) fields — drop the ones a vendor does not need")
    }

    static func missingCategory(_ kind: MessageKind) -> MessageError {
        MessageError(
            .missingCategory, column: 1,
            message: "#\(kind.rawValue) needs a category right after the kind, like #\(kind.rawValue) camera.mirrorless"
        )
    }

    static func missingField(_ key: FieldKey, kind: MessageKind) -> MessageError {
        MessageError(.missingField, column: 1, message: "#\(kind.rawValue) needs a \"\(key)\" field")
    }

    static func missingCounterTerms() -> MessageError {
        MessageError(
            .missingField, column: 1, message: "#counter needs at least one of \"price\", \"qty\" or \"eta\"")
    }

    static func currencyConflict(min: Money, max: Money) -> MessageError {
        MessageError(
            .conflict, column: 1,
            message: "min is in \(min.currency) but max is in \(max.currency) — use one currency for both")
    }

    static func rangeConflict(min: Money, max: Money) -> MessageError {
        MessageError(
            .conflict, column: 1, message: "min \(min) is more than max \(max) — swap them or fix one")
    }

    /// What the user wrote, in quotes, cut to 40 scalars so a message stays on one line.
    static func quoted(_ bytes: Bytes, _ range: Range<Int>) -> String {
        let text = bytes.string(range)
        let scalars = text.unicodeScalars
        guard scalars.count > 40 else { return "\"\(text)\"" }
        var shortened = String.UnicodeScalarView()
        shortened.append(contentsOf: scalars.prefix(39))
        return "\"\(String(shortened))…\""
    }

    private static func scalarLength(_ bytes: Bytes, at index: Int) -> Int {
        guard index < bytes.count else { return 0 }
        let lead = bytes[index]
        return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }
}

extension Unicode.UTF8 {
    /// The scalar value starting at `index` of bytes already validated as UTF-8.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32 {
        let lead = UInt32(bytes[index])
        if lead < 0x80 { return lead }
        if lead < 0xE0 { return (lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F) }
        if lead < 0xF0 {
            return (lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
        }
        return (lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12 | UInt32(bytes[index + 2] & 0x3F) << 6
            | UInt32(bytes[index + 3] & 0x3F)
    }
}

/// Finds the registered name nearest a misspelling.
package enum Suggestions {
    /// The candidate within a small edit distance of `word` (transpositions count as one edit), or `nil`.
    package static func nearest(to word: String, among candidates: [String]) -> String? {
        let limit = word.count <= 3 ? 1 : 2
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(Array(word.utf8), Array(candidate.utf8))
            if distance <= limit && distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent transpositions.
    package static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
