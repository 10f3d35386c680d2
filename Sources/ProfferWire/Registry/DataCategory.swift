/// A category of personal data that a vendor `needs` or a person will `give` (PROTOCOL.md §2.2).
///
/// Each maps to a W3C DPV personal-data term; `schema/registry/data-categories.json` is the normative list.
public enum DataCategory: String, CaseIterable, Hashable, Sendable, Codable {
    case name, email, phone, postal, age, birthdate, gender, location, size, language

    /// Matches a category name in any case.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> DataCategory? {
        guard (3...9).contains(range.count) else { return nil }
        return DataCategory(rawValue: bytes.lowercasedString(range))
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
