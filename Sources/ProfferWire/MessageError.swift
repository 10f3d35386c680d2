/// Why a message was refused: the spec's error `code`, the 1-based `column` (in Unicode scalars of the untrimmed
/// input) where the fault starts, and a one-line `message` that says how to fix it.
public struct MessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Code
    public let column: Int
    public let message: String

    public init(_ code: Code, column: Int, message: String) {
        self.code = code
        self.column = column
        self.message = message
    }

    public var description: String { "\(code) at column \(column): \(message)" }

    /// An error code from PROTOCOL.md §1.7. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: UInt8, CaseIterable {
            case badEncoding, empty, tooLong, controlCharacter
            case unterminatedQuote, badEscape, badToken, missingKind, unknownKind, unexpectedWord, badCategory
            case badKey, emptyValue, fieldNotAllowed, unknownField, duplicateField, tooManyFields
            case badID, badMoney, badQuantity, badDuration, badDate, badRegion, badTerms, unknownCategory
            case badText, badList, badReply, missingCategory, missingField, conflict
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let badEncoding = Code(.badEncoding)
        public static let empty = Code(.empty)
        public static let tooLong = Code(.tooLong)
        public static let controlCharacter = Code(.controlCharacter)
        public static let unterminatedQuote = Code(.unterminatedQuote)
        public static let badEscape = Code(.badEscape)
        public static let badToken = Code(.badToken)
        public static let missingKind = Code(.missingKind)
        public static let unknownKind = Code(.unknownKind)
        public static let unexpectedWord = Code(.unexpectedWord)
        public static let badCategory = Code(.badCategory)
        public static let badKey = Code(.badKey)
        public static let emptyValue = Code(.emptyValue)
        public static let fieldNotAllowed = Code(.fieldNotAllowed)
        public static let unknownField = Code(.unknownField)
        public static let duplicateField = Code(.duplicateField)
        public static let tooManyFields = Code(.tooManyFields)
        public static let badID = Code(.badID)
        public static let badMoney = Code(.badMoney)
        public static let badQuantity = Code(.badQuantity)
        public static let badDuration = Code(.badDuration)
        public static let badDate = Code(.badDate)
        public static let badRegion = Code(.badRegion)
        public static let badTerms = Code(.badTerms)
        public static let unknownCategory = Code(.unknownCategory)
        public static let badText = Code(.badText)
        public static let badList = Code(.badList)
        public static let badReply = Code(.badReply)
        public static let missingCategory = Code(.missingCategory)
        public static let missingField = Code(.missingField)
        public static let conflict = Code(.conflict)

        /// Every code, in the order PROTOCOL.md lists them.
        public static var allCodes: [Code] { Value.allCases.map(Code.init) }

        /// The kebab-case name used on the wire, such as `bad-money`.
        public var description: String {
            switch value {
            case .badEncoding: "bad-encoding"
            case .empty: "empty"
            case .tooLong: "too-long"
            case .controlCharacter: "control-character"
            case .unterminatedQuote: "unterminated-quote"
            case .badEscape: "bad-escape"
            case .badToken: "bad-token"
            case .missingKind: "missing-kind"
            case .unknownKind: "unknown-kind"
            case .unexpectedWord: "unexpected-word"
            case .badCategory: "bad-category"
            case .badKey: "bad-key"
            case .emptyValue: "empty-value"
            case .fieldNotAllowed: "field-not-allowed"
            case .unknownField: "unknown-field"
            case .duplicateField: "duplicate-field"
            case .tooManyFields: "too-many-fields"
            case .badID: "bad-id"
            case .badMoney: "bad-money"
            case .badQuantity: "bad-quantity"
            case .badDuration: "bad-duration"
            case .badDate: "bad-date"
            case .badRegion: "bad-region"
            case .badTerms: "bad-terms"
            case .unknownCategory: "unknown-category"
            case .badText: "bad-text"
            case .badList: "bad-list"
            case .badReply: "bad-reply"
            case .missingCategory: "missing-category"
            case .missingField: "missing-field"
            case .conflict: "conflict"
            }
        }
    }
}
