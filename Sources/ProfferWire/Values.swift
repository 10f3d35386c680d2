/// A message id: exactly 8 Crockford base32 digits (`0-9a-z` without `i l o u`), canonical lowercase.
public struct MessageID: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The 40 bits the 8 digits encode, most significant digit first.
    public let bits: UInt64

    static let alphabet: [UInt8] = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// The value of each byte from `0` (0x30) to DEL (0x7F) as a digit, stored as the character `"0"` + value; `~`
    /// marks bytes that are not digits (Crockford skips i, l, o and u). A literal table needs no lazy initialisation.
    private static let digitTable: StaticString =
        "0123456789~~~~~~~:;<=>?@A~BC~DE~FGHIJ~KLMNO~~~~~~:;<=>?@A~BC~DE~FGHIJ~KLMNO~~~~~"

    /// Creates an id from its 40 bits; higher bits are ignored.
    public init(bits: UInt64) { self.bits = bits & 0xFF_FFFF_FFFF }

    /// Parses `cz8r2m4k`-style text; uppercase is accepted.
    public init?(_ description: String) {
        guard let id = description.withBytes({ MessageID.parse($0, 0..<$0.count) }) else { return nil }
        self = id
    }

    /// A fresh random id, as senders choose for their messages.
    public static func random() -> MessageID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random(using generator: inout some RandomNumberGenerator) -> MessageID {
        MessageID(bits: generator.next())
    }

    public var description: String {
        String(unsafeUninitializedCapacity: 8) { output in
            for index in 0..<8 { output[index] = MessageID.alphabet[Int((bits >> (35 - 5 * UInt64(index))) & 31)] }
            return 8
        }
    }

    public static func < (lhs: MessageID, rhs: MessageID) -> Bool { lhs.bits < rhs.bits }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> MessageID? {
        guard range.count == 8 else { return nil }
        // Without a branch per digit: ids are random, so a branch on each digit's kind is mispredicted about half
        // the time, which cost more than the rest of the parse of an id.
        let table = digitTable.utf8Start
        var bits: UInt64 = 0
        var allValues: UInt8 = 0
        for index in range {
            let byte = bytes[index]
            // Bytes below "0" wrap around and, like those above DEL, read the table's last entry, `~`, whose value
            // (78) has a bit above the five a digit uses.
            let value = table[Int(Swift.min(byte &- ASCII.zero, 79))] &- ASCII.zero
            allValues |= value
            bits = bits << 5 | UInt64(value & 31)
        }
        return allValues < 32 ? MessageID(bits: bits) : nil
    }
}

/// A three-letter currency code, canonical uppercase. Not checked against ISO 4217, so a new currency needs no new parser.
public struct CurrencyCode: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The three uppercase ASCII letters, first letter in the highest byte: cheap to copy, compare and hash.
    private let packed: UInt32

    public init?(_ description: String) {
        guard let code = description.withBytes({ CurrencyCode.parse($0, 0..<$0.count) }) else { return nil }
        self = code
    }

    private init(packed: UInt32) { self.packed = packed }

    public var description: String {
        String(unsafeUninitializedCapacity: 3) { output in
            output[0] = UInt8(truncatingIfNeeded: packed >> 16)
            output[1] = UInt8(truncatingIfNeeded: packed >> 8)
            output[2] = UInt8(truncatingIfNeeded: packed)
            return 3
        }
    }

    func write(to writer: inout ByteWriter) {
        writer.append(UInt8(truncatingIfNeeded: packed >> 16))
        writer.append(UInt8(truncatingIfNeeded: packed >> 8))
        writer.append(UInt8(truncatingIfNeeded: packed))
    }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> CurrencyCode? {
        guard range.count == 3 else { return nil }
        var packed: UInt32 = 0
        for index in range {
            guard ASCII.isLetter(bytes[index]) else { return nil }
            packed = packed << 8 | UInt32(ASCII.uppercased(bytes[index]))
        }
        return CurrencyCode(packed: packed)
    }
}

/// An exact amount of money: up to 9 integer digits and 3 fraction digits, and a currency. Never a float.
public struct Money: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The largest amount the grammar can write, 999999999.999, in thousandths.
    public static let maximumThousandths: Int64 = 999_999_999_999

    /// The amount in thousandths of the currency unit: `1200.5EUR` is 1_200_500.
    public let thousandths: Int64
    public let currency: CurrencyCode

    /// Creates an amount; `nil` when it is negative or above what the grammar can write.
    public init?(thousandths: Int64, currency: CurrencyCode) {
        guard (0...Money.maximumThousandths).contains(thousandths) else { return nil }
        self.thousandths = thousandths
        self.currency = currency
    }

    /// Parses `1200EUR`, `12.50usd` or `01200.50eur`.
    public init?(_ description: String) {
        guard let money = description.withBytes({ Money.parse($0, 0..<$0.count) }) else { return nil }
        self = money
    }

    /// The canonical decimal amount without currency: `1200.5` (no leading zeros, no trailing fraction zeros).
    /// The price of `count` units at this unit price; nil past the largest amount a message can write.
    public func times(_ count: Int) -> Money? {
        let (total, overflow) = thousandths.multipliedReportingOverflow(by: Int64(count))
        return overflow ? nil : Money(thousandths: total, currency: currency)
    }

    public var amount: String {
        let whole = thousandths / 1000
        var fraction = thousandths % 1000
        guard fraction != 0 else { return String(whole) }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let fractionText = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - fractionText.utf8.count) + fractionText
    }

    public var description: String { amount + currency.description }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> Money? {
        var index = range.lowerBound
        var whole: Int64 = 0
        while index < range.upperBound, ASCII.isDigit(bytes[index]) {
            guard index - range.lowerBound < 9 else { return nil }
            whole = whole * 10 + Int64(bytes[index] - ASCII.zero)
            index += 1
        }
        guard index > range.lowerBound else { return nil }
        var fraction: Int64 = 0
        if index < range.upperBound, bytes[index] == ASCII.dot {
            index += 1
            let fractionStart = index
            while index < range.upperBound, ASCII.isDigit(bytes[index]) {
                guard index - fractionStart < 3 else { return nil }
                fraction = fraction * 10 + Int64(bytes[index] - ASCII.zero)
                index += 1
            }
            let fractionDigits = index - fractionStart
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<3 { fraction *= 10 }
        }
        guard let currency = CurrencyCode.parse(bytes, index..<range.upperBound) else { return nil }
        return Money(thousandths: whole * 1000 + fraction, currency: currency)
    }
}

/// A quantity, 1 to 1,000,000 units.
public struct Quantity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let range: ClosedRange<Int> = 1...1_000_000
    public let value: Int

    public init?(_ value: Int) {
        guard Quantity.range.contains(value) else { return nil }
        self.value = value
    }

    public var description: String { String(value) }
    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value < rhs.value }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> Quantity? {
        guard let value = parseDigits(bytes, range, maximumDigits: 7) else { return nil }
        return Quantity(value)
    }
}

/// A span of time such as `3d`: 1 to 9999 minutes, hours, days or weeks.
public struct TimeSpan: Hashable, Sendable, CustomStringConvertible {
    public enum Unit: UInt8, Sendable, CaseIterable {
        case minutes = 0x6D, hours = 0x68, days = 0x64, weeks = 0x77

        /// The unit's length in seconds.
        public var seconds: Int {
            switch self {
            case .minutes: 60
            case .hours: 3600
            case .days: 86_400
            case .weeks: 604_800
            }
        }
    }

    private let storedCount: UInt16
    public let unit: Unit

    /// How many units: 1 to 9999.
    public var count: Int { Int(storedCount) }

    public init?(_ count: Int, _ unit: Unit) {
        guard (1...9999).contains(count) else { return nil }
        self.storedCount = UInt16(count)
        self.unit = unit
    }

    public init?(_ description: String) {
        guard let span = description.withBytes({ TimeSpan.parse($0, 0..<$0.count) }) else { return nil }
        self = span
    }

    /// The span's length in seconds.
    public var seconds: Int { count * unit.seconds }
    public var description: String { String(count) + String(UnicodeScalar(unit.rawValue)) }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> TimeSpan? {
        guard range.count >= 2, let unit = Unit(rawValue: ASCII.lowercased(bytes[range.upperBound - 1])),
            let count = parseDigits(bytes, range.lowerBound..<range.upperBound - 1, maximumDigits: 4)
        else { return nil }
        return TimeSpan(count, unit)
    }
}

/// A calendar date from 2000-01-01 to 2999-12-31.
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Small storage keeps a message compact, so it is cheap to create and copy.
    private let storedYear: UInt16
    private let storedMonth: UInt8
    private let storedDay: UInt8

    public var year: Int { Int(storedYear) }
    public var month: Int { Int(storedMonth) }
    public var day: Int { Int(storedDay) }

    public init?(year: Int, month: Int, day: Int) {
        guard (2000...2999).contains(year), (1...12).contains(month),
            (1...CalendarDate.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        (storedYear, storedMonth, storedDay) = (UInt16(year), UInt8(month), UInt8(day))
    }

    public init?(_ description: String) {
        guard let date = description.withBytes({ CalendarDate.parse($0, 0..<$0.count) }) else { return nil }
        self = date
    }

    public var description: String {
        let monthText = month < 10 ? "0\(month)" : "\(month)"
        let dayText = day < 10 ? "0\(day)" : "\(day)"
        return "\(year)-\(monthText)-\(dayText)"
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil): exact, and
    /// no Calendar needed. Shared by the envelope's timestamps and the vault's stored dates.
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Whether the value is written the way a date is (four digits and `-`), so a bad one is `bad-date`.
    static func looksLikeDate(_ bytes: Bytes, _ range: Range<Int>) -> Bool {
        range.count >= 5 && (0..<4).allSatisfy { ASCII.isDigit(bytes[range.lowerBound + $0]) }
            && bytes[range.lowerBound + 4] == ASCII.hyphen
    }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> CalendarDate? {
        let start = range.lowerBound
        guard range.count == 10, bytes[start + 4] == ASCII.hyphen, bytes[start + 7] == ASCII.hyphen,
            let year = parseDigits(bytes, start..<start + 4, maximumDigits: 4, exactly: true),
            let month = parseDigits(bytes, start + 5..<start + 7, maximumDigits: 2, exactly: true),
            let day = parseDigits(bytes, start + 8..<start + 10, maximumDigits: 2, exactly: true)
        else { return nil }
        return CalendarDate(year: year, month: month, day: day)
    }
}

/// A deadline: a calendar date, or a span relative to the message's sending time.
public enum When: Hashable, Sendable, CustomStringConvertible {
    case date(CalendarDate)
    case after(TimeSpan)

    public var description: String {
        switch self {
        case .date(let date): date.description
        case .after(let span): span.description
        }
    }
}

/// A region: an assigned ISO 3166-1 alpha-2 country (`DE`) or a subdivision of one (`US-CA`), canonical uppercase.
public struct Region: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The 2 to 6 uppercase ASCII bytes of the code, first byte lowest, zero-padded: no allocation, one comparison.
    private let packed: UInt64

    public init?(_ description: String) {
        guard let region = description.withBytes({ Region.parse($0, 0..<$0.count) }) else { return nil }
        self = region
    }

    private init(packed: UInt64) { self.packed = packed }

    private var length: Int { (64 - packed.leadingZeroBitCount + 7) / 8 }

    public var description: String {
        String(unsafeUninitializedCapacity: length) { output in
            for index in 0..<length { output[index] = UInt8(truncatingIfNeeded: packed >> (8 * UInt64(index))) }
            return length
        }
    }

    /// The alpha-2 country code, such as `US` for `US-CA`.
    public var countryCode: String { String(description.prefix(2)) }

    /// Whether this is a whole country rather than a subdivision.
    public var isCountry: Bool { length == 2 }

    func write(to writer: inout ByteWriter) {
        for index in 0..<length { writer.append(UInt8(truncatingIfNeeded: packed >> (8 * UInt64(index)))) }
    }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> Region? {
        let start = range.lowerBound
        guard range.count == 2 || (4...6).contains(range.count),
            Country.isAssigned(bytes[start], bytes[start + 1])
        else { return nil }
        if range.count > 2 {
            guard bytes[start + 2] == ASCII.hyphen else { return nil }
            for index in start + 3..<range.upperBound {
                guard ASCII.isLetter(bytes[index]) || ASCII.isDigit(bytes[index]) else { return nil }
            }
        }
        var packed: UInt64 = 0
        for index in range { packed |= UInt64(ASCII.uppercased(bytes[index])) << (8 * UInt64(index - start)) }
        return Region(packed: packed)
    }
}

/// A privacy-terms id such as `sd-base`: `[a-z0-9][a-z0-9.-]{0,31}`, canonical lowercase.
///
/// The grammar accepts any such id; whether it is *supported* is a question for ``TermsDefinition/lookup(_:)``.
public struct TermsID: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let description: String

    public init?(_ description: String) {
        guard let id = description.withBytes({ TermsID.parse($0, 0..<$0.count) }) else { return nil }
        self = id
    }

    init(uncheckedLowercase: String) { description = uncheckedLowercase }

    /// The registered agreement this id names, if this implementation knows it.
    public var definition: TermsDefinition? { TermsDefinition.lookup(self) }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> TermsID? {
        guard (1...32).contains(range.count), ASCII.isLowerAlphanumeric(ASCII.lowercased(bytes[range.lowerBound]))
        else { return nil }
        var index = range.lowerBound + 1
        while index < range.upperBound {
            let byte = ASCII.lowercased(bytes[index])
            guard ASCII.isLowerAlphanumeric(byte) || byte == ASCII.dot || byte == ASCII.hyphen else { return nil }
            index += 1
        }
        return TermsID(uncheckedLowercase: registered(bytes, range) ?? bytes.lowercasedString(range))
    }

    /// A registered id's text as a literal, which costs nothing to create, where building a string from the
    /// bytes costs more than validating them. Nearly every message names registered terms.
    private static func registered(_ bytes: Bytes, _ range: Range<Int>) -> String? {
        let head = ASCII.packedLowercase(bytes, range.lowerBound..<min(range.upperBound, range.lowerBound + 8))
        let tail = range.count > 8 ? ASCII.packedLowercase(bytes, range.lowerBound + 8..<range.upperBound) : 0
        // The ids' lowercase bytes packed big-endian, eight then up to three: "sd-base-dp" is "sd-base-", "dp".
        switch (range.count, head, tail) {
        case (7, 0x73_642D_6261_7365, 0): return "sd-base"
        case (10, 0x7364_2D62_6173_652D, 0x6470): return "sd-base-dp"
        case (9, 0x7364_2D62_6173_652D, 0x61): return "sd-base-a"
        case (10, 0x7364_2D62_6173_652D, 0x6174): return "sd-base-at"
        case (11, 0x7364_2D62_6173_652D, 0x61_7470): return "sd-base-atp"
        case (11, 0x7364_2D62_6173_652D, 0x73_3370): return "sd-base-s3p"
        case (10, 0x7064_632D_696E_7465, 0x6E74): return "pdc-intent"
        case (6, 0x7064_632D_6169, 0): return "pdc-ai"
        case (8, 0x7064_632D_676F_6F64, 0): return "pdc-good"
        case (3, 0x74_7072, 0): return "tpr"
        default: return nil
        }
    }
}

/// What an intent is about: 1 to 6 dot-separated segments of `[a-z0-9][a-z0-9-]{0,23}`, such as `camera.mirrorless`.
public struct IntentCategory: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let description: String

    public init?(_ description: String) {
        guard let category = description.withBytes({ IntentCategory.parse($0, 0..<$0.count) }) else { return nil }
        self = category
    }

    /// The dot-separated segments, most general first.
    public var segments: [Substring] { description.split(separator: ".") }

    /// Whether this category is `prefix` or lies under it, segment by segment: `camera.mirrorless` is under `camera`,
    /// but not under `cam`.
    public func isWithin(_ prefix: IntentCategory) -> Bool {
        description == prefix.description || description.hasPrefix(prefix.description + ".")
    }

    private init(canonical: String) { description = canonical }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> IntentCategory? {
        var segments = 0
        var segmentLength = 0
        var hasUppercase = false
        for index in range {
            let byte = bytes[index]
            if byte == ASCII.dot {
                guard segmentLength > 0 else { return nil }
                segmentLength = 0
                continue
            }
            if segmentLength == 0 {
                segments += 1
                guard segments <= 6 else { return nil }
            }
            segmentLength += 1
            hasUppercase = hasUppercase || ASCII.isUppercase(byte)
            let lower = ASCII.lowercased(byte)
            guard segmentLength <= 24, ASCII.isLowerAlphanumeric(lower) || (segmentLength > 1 && lower == ASCII.hyphen)
            else { return nil }
        }
        guard segmentLength > 0 else { return nil }
        return IntentCategory(canonical: hasUppercase ? bytes.lowercasedString(range) : bytes.string(range))
    }
}

/// A vendor's item reference: 1 to 64 of `[A-Za-z0-9._/-]`, kept as written.
public struct SKU: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let description: String

    public init?(_ description: String) {
        guard let sku = description.withBytes({ SKU.parse($0, 0..<$0.count) }) else { return nil }
        self = sku
    }

    private init(canonical: String) { description = canonical }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> SKU? {
        guard (1...64).contains(range.count),
            range.allSatisfy({ index in
                let byte = bytes[index]
                return ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte == ASCII.dot || byte == 0x5F
                    || byte == 0x2F || byte == ASCII.hyphen
            })
        else { return nil }
        return SKU(canonical: bytes.string(range))
    }
}

/// Reads `1...maximumDigits` ASCII digits (exactly `maximumDigits` when `exactly`) as a number.
func parseDigits(_ bytes: Bytes, _ range: Range<Int>, maximumDigits: Int, exactly: Bool = false) -> Int? {
    guard !range.isEmpty, range.count <= maximumDigits, !exactly || range.count == maximumDigits else { return nil }
    var value = 0
    for index in range {
        let byte = bytes[index]
        guard ASCII.isDigit(byte) else { return nil }
        value = value * 10 + Int(byte - ASCII.zero)
    }
    return value
}
