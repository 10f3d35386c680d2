/// A value stored and exchanged as its canonical text, so a vault or an export reads like the messages: decoding
/// checks the text as the parser would.
public protocol CanonicalTextCodable: Codable, LosslessStringConvertible {}

extension CanonicalTextCodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = Self(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a valid \(Self.self)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension MessageID: CanonicalTextCodable {}
extension TermsID: CanonicalTextCodable {}
extension IntentCategory: CanonicalTextCodable {}
extension Money: CanonicalTextCodable {}
