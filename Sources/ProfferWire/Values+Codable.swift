/// Ids and terms are stored and exchanged as their canonical text, so a vault or an export reads like the messages.
extension MessageID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = MessageID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a message id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension TermsID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = TermsID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a terms id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IntentCategory: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let category = IntentCategory(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an intent category")
        }
        self = category
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
