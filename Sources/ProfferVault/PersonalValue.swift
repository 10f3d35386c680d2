import Foundation
import ProfferWire

extension DataCategory {
    /// Checks a value of this category and returns it in canonical form, or says what is wrong with it.
    ///
    /// Values go to vendors in sealed disclosures; one that is plainly not what its category says (a phone number
    /// given as the e-mail) would be a wrong disclosure, so it is refused when set.
    public func canonicalValue(_ value: String) -> Result<String, VaultError> {
        func refuse(_ expected: String) -> Result<String, VaultError> {
            .failure(VaultError(.invalidInput("\"\(value)\" is not a valid \(rawValue): \(expected)")))
        }
        guard !value.isEmpty, value.count <= 1000 else {
            return .failure(VaultError(.invalidInput("a value for \(rawValue) is 1 to 1000 characters")))
        }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch self {
        case .email:
            let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
                !parts[1].hasSuffix("."), trimmed.utf8.count <= 254,
                !trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
            else { return refuse("write an e-mail address such as ada@example.org") }
            return .success(String(parts[0]) + "@" + parts[1].lowercased())
        case .birthdate:
            let fields = trimmed.split(separator: "-", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0].count == 4, fields[1].count == 2, fields[2].count == 2,
                let year = Int(fields[0]), let month = Int(fields[1]), let day = Int(fields[2]),
                (1...12).contains(month), (1...DataCategory.days(inMonth: month, year: year)).contains(day)
            else { return refuse("write a date as YYYY-MM-DD, such as 1990-04-17") }
            guard year >= 1900 else { return refuse("write a date from 1900-01-01 on") }
            guard let date = ISO8601DateFormatter().date(from: "\(trimmed)T00:00:00Z"), date <= Date() else {
                return refuse("write a date that has passed: a birthdate is in the past")
            }
            return .success(trimmed)
        case .age:
            guard let age = Int(trimmed), (0...150).contains(age) else {
                return refuse("write a number of years, 0 to 150")
            }
            return .success(String(age))
        case .location:
            guard let region = Region(trimmed.uppercased()) else {
                return refuse("write an ISO 3166 country or subdivision code, such as DE or US-CA")
            }
            return .success(region.description)
        case .language:
            guard let tag = DataCategory.canonicalLanguageTag(trimmed) else {
                return refuse("write a BCP 47 language tag, such as en, de-CH or zh-Hant-TW")
            }
            return .success(tag)
        case .phone:
            let allowed = trimmed.unicodeScalars.allSatisfy { "0123456789+-() ".unicodeScalars.contains($0) }
            let digits = trimmed.unicodeScalars.filter { ("0"..."9").contains($0) }.count
            guard allowed, (5...20).contains(digits) else {
                return refuse("write a telephone number of 5 to 20 digits, such as +49 30 1234567")
            }
            return .success(trimmed)
        case .name, .postal, .gender, .size:
            return .success(value)
        }
    }

    private static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// A well-formed BCP 47 tag (RFC 5646 §2.1's langtag: language, then optional script, region, variants,
    /// extensions and a private use part, in that order; grandfathered tags are not accepted) in its conventional
    /// case: language lowercase, script title case, region uppercase. `nil` when it is not well-formed.
    static func canonicalLanguageTag(_ text: String) -> String? {
        let subtags = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func isAlpha(_ s: String) -> Bool { s.allSatisfy { $0.isASCII && $0.isLetter } }
        func isDigit(_ s: String) -> Bool { s.allSatisfy { $0.isASCII && $0.isNumber } }
        func isAlnum(_ s: String) -> Bool { s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        guard text.utf8.count <= 64, let language = subtags.first, isAlpha(language),
            (2...3).contains(language.count) || (5...8).contains(language.count)
        else { return nil }
        var result = [language.lowercased()]
        var index = 1
        // Up to three extended language subtags follow a 2–3 letter language.
        var extended = 0
        while index < subtags.count, language.count <= 3, extended < 3, subtags[index].count == 3,
            isAlpha(subtags[index])
        {
            result.append(subtags[index].lowercased())
            (index, extended) = (index + 1, extended + 1)
        }
        if index < subtags.count, subtags[index].count == 4, isAlpha(subtags[index]) {
            result.append(subtags[index].prefix(1).uppercased() + subtags[index].dropFirst().lowercased())
            index += 1
        }
        if index < subtags.count,
            (subtags[index].count == 2 && isAlpha(subtags[index]))
                || (subtags[index].count == 3 && isDigit(subtags[index]))
        {
            result.append(subtags[index].uppercased())
            index += 1
        }
        while index < subtags.count, isAlnum(subtags[index]),
            (5...8).contains(subtags[index].count)
                || (subtags[index].count == 4 && subtags[index].first!.isNumber)
        {
            result.append(subtags[index].lowercased())
            index += 1
        }
        // Extensions and private use: a singleton, then one or more subtags of 2–8 (1–8 after x).
        while index < subtags.count, subtags[index].count == 1, isAlnum(subtags[index]) {
            let singleton = subtags[index].lowercased()
            let minimum = singleton == "x" ? 1 : 2
            result.append(singleton)
            index += 1
            var count = 0
            while index < subtags.count, (minimum...8).contains(subtags[index].count), isAlnum(subtags[index]),
                singleton == "x" || subtags[index].count > 1
            {
                result.append(subtags[index].lowercased())
                (index, count) = (index + 1, count + 1)
            }
            guard count > 0 else { return nil }
            if singleton == "x" { break }
        }
        return index == subtags.count ? result.joined(separator: "-") : nil
    }
}
