import ProfferVault
import ProfferWire

/// The person's defaults for new intents (`terms.default`, `region.default`, `currency.default`), filled into
/// whatever an intent leaves out, so the printed canonical form is exactly what vendors will get.
public struct IntentDefaults: Sendable {
    public var terms: [TermsID]?
    public var regions: [Region]?
    public var currency: CurrencyCode?

    public init(terms: [TermsID]? = nil, regions: [Region]? = nil, currency: CurrencyCode? = nil) {
        (self.terms, self.regions, self.currency) = (terms, regions, currency)
    }

    /// The settings of `persona`, each falling back to the default persona's.
    public init(vault: Vault, persona: String) throws {
        func setting(_ key: AgentSetting) throws -> String? {
            let own = try vault.preference(key: key.rawValue, persona: persona)
            return try (own ?? vault.preference(key: key.rawValue, persona: Persona.defaultName))?.value
        }
        terms = try setting(.defaultTerms).map { $0.split(separator: ",").compactMap { TermsID(String($0)) } }
        regions = try setting(.defaultRegion).map { $0.split(separator: ",").compactMap { Region(String($0)) } }
        currency = try setting(.defaultCurrency).flatMap(CurrencyCode.init)
    }

    /// Fills the terms and regions an intent leaves out.
    public func fill(_ intent: inout Message) {
        if intent.terms == nil, let terms, let list = FieldList(terms) { intent.terms = list }
        if intent.regions == nil, let regions, let list = FieldList(regions) { intent.regions = list }
    }

    /// The message text with the default currency written after every amount that has none (`max:500` →
    /// `max:500EUR`). Quoted text is left alone; without a default currency the text is returned as it is.
    public func writingCurrency(into text: String) -> String {
        guard let currency else { return text }
        var inQuotes = false
        return text.split(separator: " ", omittingEmptySubsequences: false).map { token -> String in
            let wasInQuotes = inQuotes
            if token.filter({ $0 == "\"" }).count % 2 == 1 { inQuotes.toggle() }
            guard !wasInQuotes, let colon = token.firstIndex(of: ":"),
                ["min", "max", "price"].contains(token[..<colon].lowercased()),
                IntentDefaults.isBareAmount(token[token.index(after: colon)...])
            else { return String(token) }
            return token + currency.description
        }.joined(separator: " ")
    }

    /// Whether `value` is digits with at most one `.`: an amount that needs a currency.
    public static func isBareAmount(_ value: Substring) -> Bool {
        !value.isEmpty && value.filter { $0 == "." }.count <= 1
            && value.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
            && value.first != "." && value.last != "."
    }
}
