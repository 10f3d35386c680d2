/// A JSON value as read by ``StrictJSON``.
public enum JSONValue: Hashable, Sendable {
    case string(String)
    /// A number, kept as its JSON text so that nothing is lost or rounded.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Members in document order; names are unique.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .string(let text), .number(let text): hasher.combine(text)
        case .bool(let value): hasher.combine(value)
        case .null: hasher.combine(0)
        case .array(let items): hasher.combine(items)
        case .object(let members):
            for (name, value) in members {
                hasher.combine(name)
                hasher.combine(value)
            }
        }
    }

    /// The string, or `nil` for any other type.
    public var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }
}

/// An RFC 8259 JSON reader for protocol messages, stricter than Foundation's: duplicate member names, a byte order
/// mark, invalid UTF-8, lone surrogates, trailing bytes and nesting deeper than 16 are refused, because two readers
/// must never disagree about what a signed document says.
public enum StrictJSON {
    public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The 0-based byte offset where reading stopped.
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    static let maximumDepth = 16

    /// Reads one JSON value that spans all of `bytes`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SyntaxError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw reader.failure("unexpected bytes after the JSON value") }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SyntaxError) in try parse(buffer) }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func failure(_ reason: String) -> SyntaxError { SyntaxError(offset: position, reason: reason) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func expect(_ literal: StaticString) throws(SyntaxError) {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - position >= count,
                memcmpEqual(literal.utf8Start, bytes.baseAddress! + position, count)
            else { throw failure("invalid literal") }
            position += count
        }

        mutating func value(depth: Int) throws(SyntaxError) -> JSONValue {
            guard depth <= StrictJSON.maximumDepth else { throw failure("nested too deeply") }
            switch current {
            case 0x7B: return try object(depth: depth)
            case 0x5B: return try array(depth: depth)
            case 0x22: return .string(try string())
            case 0x74:
                try expect("true")
                return .bool(true)
            case 0x66:
                try expect("false")
                return .bool(false)
            case 0x6E:
                try expect("null")
                return .null
            case .some(let byte) where byte == 0x2D || (0x30...0x39).contains(byte): return .number(try number())
            case nil: throw failure("unexpected end of the JSON text")
            default: throw failure("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> JSONValue {
            position += 1
            var members: [(String, JSONValue)] = []
            var names = Set<String>()
            skipWhitespace()
            if current == 0x7D {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == 0x22 else { throw failure("expected a member name") }
                let namePosition = position
                let name = try string()
                guard names.insert(name).inserted else {
                    throw SyntaxError(offset: namePosition, reason: "duplicate member \"\(name)\"")
                }
                skipWhitespace()
                guard current == 0x3A else { throw failure("expected ':'") }
                position += 1
                skipWhitespace()
                members.append((name, try value(depth: depth + 1)))
                skipWhitespace()
                switch current {
                case 0x2C: position += 1
                case 0x7D:
                    position += 1
                    return .object(members)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> JSONValue {
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == 0x5D {
                position += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                switch current {
                case 0x2C: position += 1
                case 0x5D:
                    position += 1
                    return .array(items)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        mutating func number() throws(SyntaxError) -> String {
            let start = position
            if current == 0x2D { position += 1 }
            guard let first = current, (0x30...0x39).contains(first) else { throw failure("invalid number") }
            position += 1
            if first != 0x30 { skipDigits() }
            if current == 0x2E {
                position += 1
                guard try requireDigit() else { throw failure("invalid number") }
            }
            if current == 0x65 || current == 0x45 {
                position += 1
                if current == 0x2B || current == 0x2D { position += 1 }
                guard try requireDigit() else { throw failure("invalid number") }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }

        private mutating func requireDigit() throws(SyntaxError) -> Bool {
            guard let byte = current, (0x30...0x39).contains(byte) else { return false }
            skipDigits()
            return true
        }

        private mutating func skipDigits() {
            while let byte = current, (0x30...0x39).contains(byte) { position += 1 }
        }

        mutating func string() throws(SyntaxError) -> String {
            position += 1
            let start = position
            // The common case, no escapes: validate the UTF-8 once and copy it once.
            while let byte = current, byte != 0x22, byte != 0x5C {
                guard byte >= 0x20 else { throw failure("control character in a string") }
                position += 1
            }
            guard let stop = current else { throw failure("unterminated string") }
            if stop == 0x22 {
                let text = try validatedText(start..<position)
                position += 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: try validatedText(start..<position).unicodeScalars)
            while true {
                guard let byte = current else { throw failure("unterminated string") }
                switch byte {
                case 0x22:
                    position += 1
                    return String(scalars)
                case 0x5C:
                    position += 1
                    scalars.append(try escape())
                case ..<0x20:
                    throw failure("control character in a string")
                default:
                    let runStart = position
                    while let next = current, next != 0x22, next != 0x5C, next >= 0x20 { position += 1 }
                    scalars.append(contentsOf: try validatedText(runStart..<position).unicodeScalars)
                }
            }
        }

        private func validatedText(_ range: Range<Int>) throws(SyntaxError) -> String {
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
                throw SyntaxError(offset: range.lowerBound, reason: "invalid UTF-8")
            }
            return text
        }

        private mutating func escape() throws(SyntaxError) -> Unicode.Scalar {
            guard let byte = current else { throw failure("unterminated string") }
            position += 1
            switch byte {
            case 0x22: return "\""
            case 0x5C: return "\\"
            case 0x2F: return "/"
            case 0x62: return "\u{08}"
            case 0x66: return "\u{0C}"
            case 0x6E: return "\n"
            case 0x72: return "\r"
            case 0x74: return "\t"
            case 0x75:
                let unit = try hexUnit()
                if (0xD800..<0xDC00).contains(unit) {
                    guard current == 0x5C else { throw failure("lone surrogate") }
                    position += 1
                    guard current == 0x75 else { throw failure("lone surrogate") }
                    position += 1
                    let low = try hexUnit()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("lone surrogate") }
                    return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
                }
                guard let scalar = Unicode.Scalar(unit) else { throw failure("lone surrogate") }
                return scalar
            default:
                throw failure("invalid escape")
            }
        }

        private mutating func hexUnit() throws(SyntaxError) -> UInt32 {
            guard bytes.count - position >= 4 else { throw failure("invalid \\u escape") }
            var unit: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw failure("invalid \\u escape")
                }
                unit = unit << 4 | UInt32(digit)
                position += 1
            }
            return unit
        }
    }
}

private func memcmpEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for index in 0..<count where lhs[index] != rhs[index] { return false }
    return true
}
