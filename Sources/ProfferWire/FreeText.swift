/// Intents in free text (PROTOCOL.md §6.2): a post, a forum message or an e-mail holding a short message among other
/// words. An intent starts at a token that is an intent kind (`#buy` `#rent` `#hire` `#fix`, any case) at the start of
/// a line or after a space; the next token is its category; it takes every following `key:value` token (a quoted
/// value may hold spaces) and ends before the first token that is not one, or at the end of the line.
public enum FreeText {
    /// The byte ranges of the intents in one line (no line breaks in it), in order.
    public static func intentRanges(in line: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        let count = line.count
        while index < count {
            // Find the next "#" that starts a token: the first byte of the line, or one after a space.
            guard let hash = nextHash(in: line, from: index) else { break }
            index = hash + 1
            guard hash == 0 || line[hash - 1] == ASCII.space, let kindEnd = intentKindEnd(in: line, at: hash) else {
                continue
            }
            var end = kindEnd
            // The category: the next token, whatever it is (the parser judges it).
            guard let categoryEnd = nextTokenEnd(in: line, after: end) else { continue }
            end = categoryEnd
            while let fieldEnd = fieldTokenEnd(in: line, after: end) { end = fieldEnd }
            ranges.append(hash..<end)
            index = end
        }
        return ranges
    }

    /// The intents in one line, each parsed as §1 says, with the byte range it was found at.
    public static func intents(in line: UnsafeBufferPointer<UInt8>) -> [(
        range: Range<Int>, result: Result<Message, MessageError>
    )] {
        intentRanges(in: line).map { range in
            (
                range,
                Result { () throws(MessageError) in try Message.parse(utf8: UnsafeBufferPointer(rebasing: line[range]))
                }
            )
        }
    }

    /// The intents in a string, which may hold several lines.
    public static func intents(in text: String) -> [Result<Message, MessageError>] {
        var text = text
        return text.withUTF8 { bytes in
            var found: [Result<Message, MessageError>] = []
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == 0x0A {
                var end = index
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                found += intents(in: UnsafeBufferPointer(rebasing: bytes[start..<end])).map(\.result)
                start = index + 1
            }
            return found
        }
    }

    @inline(__always)
    private static func nextHash(in line: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index < line.count {
            if line[index] == ASCII.hash { return index }
            index += 1
        }
        return nil
    }

    /// The end of `#buy` `#rent` `#hire` or `#fix` (any case) at `hash`, when a space or the line's end follows.
    private static func intentKindEnd(in line: UnsafeBufferPointer<UInt8>, at hash: Int) -> Int? {
        var end = hash + 1
        while end < line.count, line[end] != ASCII.space { end += 1 }
        guard (4...5).contains(end - hash),
            let kind = MessageKind.lookup(line, (hash + 1)..<end), kind.isIntent
        else { return nil }
        return end
    }

    /// The end of the token after the spaces that follow `position`; nil at the line's end.
    private static func nextTokenEnd(in line: UnsafeBufferPointer<UInt8>, after position: Int) -> Int? {
        var start = position
        while start < line.count, line[start] == ASCII.space { start += 1 }
        guard start < line.count else { return nil }
        var end = start
        while end < line.count, line[end] != ASCII.space { end += 1 }
        return end
    }

    /// The end of a `key:value` token after the spaces that follow `position` (a quoted value may hold spaces); nil
    /// when the next token is not one.
    private static func fieldTokenEnd(in line: UnsafeBufferPointer<UInt8>, after position: Int) -> Int? {
        var index = position
        while index < line.count, line[index] == ASCII.space { index += 1 }
        guard index < line.count, ASCII.isLetter(line[index]) else { return nil }
        // key: ALPHA *( ALPHA / DIGIT / "-" ), then ":"
        index += 1
        while index < line.count,
            ASCII.isLetter(line[index]) || ASCII.isDigit(line[index]) || line[index] == ASCII.hyphen
        {
            index += 1
        }
        guard index < line.count, line[index] == ASCII.colon else { return nil }
        index += 1
        guard index < line.count, line[index] == ASCII.quote else {
            while index < line.count, line[index] != ASCII.space { index += 1 }
            return index
        }
        // A quoted value runs to its closing quote; `\"` and `\\` are escapes. Unterminated, it runs to the line's
        // end, where the parser says what is wrong.
        index += 1
        while index < line.count {
            switch line[index] {
            case ASCII.backslash: index += 2
            case ASCII.quote:
                index += 1
                // The token goes on to the next space (the parser refuses anything stuck to the quote).
                while index < line.count, line[index] != ASCII.space { index += 1 }
                return index
            default: index += 1
            }
        }
        return line.count
    }
}
