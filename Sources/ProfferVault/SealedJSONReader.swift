import Foundation
import ProfferWire

/// A record that reads back the JSON its ``SealedJSONWritable`` conformance wrote, without Foundation's JSONDecoder
/// (two thirds of the cost of opening an intent). It reads only exactly that shape; for anything else (a format-1
/// payload, another writer's field order) it returns `nil` and the caller decodes with `Vault.decoder`. `VaultTests`
/// checks that both give the same value.
protocol SealedJSONReadable {
    static func readSealedJSON(_ bytes: UnsafeRawBufferPointer) -> Self?
}

/// A cursor over the JSON written by ``SealedJSON``.
struct SealedJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    /// Consumes `literal` if the bytes continue with it.
    mutating func skip(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            memcmp(bytes.baseAddress! + offset, expected.baseAddress!, count) == 0
        }
        if matches { offset += count }
        return matches
    }

    /// A string in the escapes ``SealedJSON/appendString(_:to:)`` writes: `\"`, `\\` and `\u00XX`.
    mutating func string() -> String? {
        guard offset < bytes.count, bytes[offset] == 0x22 else { return nil }
        offset += 1
        let start = offset
        while offset < bytes.count, bytes[offset] != 0x22, bytes[offset] != 0x5C { offset += 1 }
        guard offset < bytes.count else { return nil }
        if bytes[offset] == 0x22 {
            defer { offset += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        }
        var unescaped = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case 0x22:
                return String(decoding: unescaped, as: UTF8.self)
            case 0x5C:
                guard offset < bytes.count else { return nil }
                let escaped = bytes[offset]
                offset += 1
                if escaped == 0x22 || escaped == 0x5C {
                    unescaped.append(escaped)
                } else if escaped == 0x75, offset + 4 <= bytes.count, bytes[offset] == 0x30, bytes[offset + 1] == 0x30,
                    let high = hexValue(bytes[offset + 2]), let low = hexValue(bytes[offset + 3]), high < 2
                {
                    unescaped.append(high << 4 | low)
                    offset += 4
                } else {
                    return nil
                }
            default:
                unescaped.append(byte)
            }
        }
        return nil
    }

    /// `"2026-11-23T10:00:00Z"`, as ``SealedJSON/appendDate(_:to:)`` writes it.
    mutating func date() -> Date? {
        guard offset + 22 <= bytes.count, bytes[offset] == 0x22, bytes[offset + 21] == 0x22,
            bytes[offset + 20] == 0x5A
        else { return nil }
        func number(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for index in offset + at..<offset + at + count {
                let digit = Int(bytes[index]) - 0x30
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(1, 4), let month = number(6, 2), let day = number(9, 2), let hour = number(12, 2),
            let minute = number(15, 2), let second = number(18, 2), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        offset += 22
        return Date(
            timeIntervalSince1970: Double(
                CalendarDate.daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60
                    + second))
    }

    /// Strings up to and including a `]`, after the `[` was read.
    mutating func stringsToClosingBracket() -> [String]? {
        var strings: [String] = []
        if skip("]") { return strings }
        repeat {
            guard let string = string() else { return nil }
            strings.append(string)
        } while skip(",")
        return skip("]") ? strings : nil
    }

    /// The members of an object of strings, after its `{`, through its `}`.
    mutating func stringMapToClosingBrace() -> [String: String]? {
        var strings: [String: String] = [:]
        if skip("}") { return strings }
        repeat {
            guard let key = string(), skip(":"), let value = string() else { return nil }
            strings[key] = value
        } while skip(",")
        return skip("}") ? strings : nil
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}

extension StoredIntent: SealedJSONReadable {
    static func readSealedJSON(_ bytes: UnsafeRawBufferPointer) -> StoredIntent? {
        var reader = SealedJSONReader(bytes)
        guard reader.skip("{\"id\":"), let id = reader.string(), reader.skip(",\"canonical\":"),
            let canonical = reader.string(), reader.skip(",\"persona\":"), let persona = reader.string(),
            reader.skip(",\"state\":"), let state = reader.string().flatMap(IntentState.init(rawValue:)),
            reader.skip(",\"createdAt\":"), let createdAt = reader.date(), reader.skip(",\"updatedAt\":"),
            let updatedAt = reader.date()
        else { return nil }
        var sentTo: [String]?
        if reader.skip(",\"sentTo\":[") {
            guard let vendors = reader.stringsToClosingBracket() else { return nil }
            sentTo = vendors
        }
        var vendorIDs: [String: MessageID]?
        if reader.skip(",\"vendorIDs\":{") {
            guard let ids = reader.stringMapToClosingBrace() else { return nil }
            vendorIDs = ids.compactMapValues(MessageID.init)
            guard vendorIDs?.count == ids.count else { return nil }
        }
        var untold: [String]?
        if reader.skip(",\"untold\":[") {
            guard let vendors = reader.stringsToClosingBracket() else { return nil }
            untold = vendors
        }
        var declinedBy: [String: String]?
        if reader.skip(",\"declinedBy\":{") {
            guard let reasons = reader.stringMapToClosingBrace() else { return nil }
            declinedBy = reasons
        }
        guard reader.skip("}"), reader.isAtEnd, let message = try? Message.parse(canonical), message.kind.isIntent,
            message.id?.description == id
        else { return nil }
        // The stored form was written from this message's canonical form, and parsing is a fixed point on it.
        var intent = StoredIntent(
            message: message, canonical: canonical, persona: persona, state: state, createdAt: createdAt,
            updatedAt: updatedAt, sentTo: sentTo)
        (intent.vendorIDs, intent.untold, intent.declinedBy) = (vendorIDs, untold, declinedBy)
        return intent
    }
}
