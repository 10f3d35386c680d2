/// A category of personal data that a vendor `needs` or a person will `give` (PROTOCOL.md §2.2).
///
/// Each maps to a W3C DPV personal-data term; `schema/registry/data-categories.json` is the normative list.
public enum DataCategory: String, CaseIterable, Hashable, Sendable, Codable {
    case name, email, phone, postal, age, birthdate, gender, location, size, language

    /// Matches a category name in any case, without building a string.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> DataCategory? {
        guard (3...9).contains(range.count) else { return nil }
        // Only "birthdate" has nine letters, one more than a UInt64 packs: check its last one apart.
        let packedRange = range.lowerBound..<min(range.upperBound, range.lowerBound + 8)
        if range.count == 9 && ASCII.lowercased(bytes[range.upperBound - 1]) != 0x65 { return nil }
        // The names' lowercase bytes, packed big-endian.
        switch (ASCII.packedLowercase(bytes, packedRange), range.count) {
        case (0x6E61_6D65, 4): return .name
        case (0x65_6D61_696C, 5): return .email
        case (0x70_686F_6E65, 5): return .phone
        case (0x706F_7374_616C, 6): return .postal
        case (0x61_6765, 3): return .age
        case (0x6269_7274_6864_6174, 9): return .birthdate
        case (0x6765_6E64_6572, 6): return .gender
        case (0x6C6F_6361_7469_6F6E, 8): return .location
        case (0x7369_7A65, 4): return .size
        case (0x6C61_6E67_7561_6765, 8): return .language
        default: return nil
        }
    }

    /// The DPV term, in its compact `pd:` form.
    public var dpvTerm: String {
        switch self {
        case .name: "pd:Name"
        case .email: "pd:EmailAddress"
        case .phone: "pd:TelephoneNumber"
        case .postal: "pd:PhysicalAddress"
        case .age: "pd:Age"
        case .birthdate: "pd:BirthDate"
        case .gender: "pd:Gender"
        case .location: "pd:Location"
        case .size: "pd:PhysicalCharacteristic"
        case .language: "pd:Language"
        }
    }

    /// The DPV term's full IRI.
    public var dpvIRI: String {
        "https://w3id.org/dpv/pd#" + dpvTerm.dropFirst(3)
    }

    /// What the category holds, in words a person reads before sharing it.
    public var meaning: String {
        switch self {
        case .name: "the name you are addressed by"
        case .email: "an e-mail address"
        case .phone: "a telephone number"
        case .postal: "a postal address for delivery or service"
        case .age: "your age"
        case .birthdate: "your date of birth"
        case .gender: "your gender"
        case .location: "where you are"
        case .size: "clothing sizes and body measurements"
        case .language: "the languages you speak"
        }
    }
}

extension DataCategory {
    /// The category someone meant by a word that is none: a near spelling (`adress` is not one, but `emial` is
    /// `email`), or a common name for one (`address` → `postal`, `dob` → `birthdate`); `nil` when nothing is close.
    public static func meant(by word: String) -> DataCategory? {
        let lowered = word.lowercased()
        let commonNames: [String: DataCategory] = [
            "address": .postal, "adress": .postal, "addr": .postal, "post": .postal, "mail": .email,
            "e-mail": .email, "tel": .phone, "telephone": .phone, "mobile": .phone, "dob": .birthdate,
            "birthday": .birthdate, "born": .birthdate, "sex": .gender, "lang": .language, "place": .location,
            "clothing": .size, "fullname": .name,
        ]
        if let known = commonNames[lowered] { return known }
        return Suggestions.nearest(to: lowered, among: allCases.map(\.rawValue)).flatMap(DataCategory.init)
    }
}
