/// A registered privacy-terms agreement (IEEE 7012 "MyTerms"), as listed in `schema/registry/terms.json`.
public struct TermsDefinition: Hashable, Sendable {
    /// The lowercase id used in messages, such as `sd-base`.
    public let id: TermsID
    /// The agreement's IRI in the W3C Data Privacy Vocabulary.
    public let iri: String
    /// What the agreement allows, in one line a person can read.
    public let meaning: String
}

extension TermsDefinition {
    /// Every terms id this implementation knows. An id outside this list is *unsupported*, never silently agreed to.
    public static let registry: [TermsDefinition] = [
        .init(
            id: "sd-base", suffix: "SD-BASE",
            meaning: "service delivery only: no tracking, no profiling, no analytics, no sharing"),
        .init(
            id: "sd-base-dp", suffix: "SD-BASE-DP",
            meaning: "service delivery only, as sd-base, and my data must be portable"),
        .init(
            id: "sd-base-a", suffix: "SD-BASE-A",
            meaning: "service delivery; the vendor may run its own analytics, but no tracking, profiling or sharing"),
        .init(
            id: "sd-base-at", suffix: "SD-BASE-AT",
            meaning: "service delivery; the vendor may run its own analytics and tracking, but no profiling or sharing"),
        .init(
            id: "sd-base-atp", suffix: "SD-BASE-ATP",
            meaning: "service delivery; the vendor may analyse, track and profile itself, but nothing for third parties"
        ),
        .init(
            id: "sd-base-s3p", suffix: "SD-BASE-ATP-S3P",
            meaning: "as sd-base-atp, and fully anonymised data may be shared with third parties"),
        .init(id: "pdc-intent", suffix: "PDC-INTENT", meaning: "data provided for intent casting"),
        .init(id: "pdc-ai", suffix: "PDC-AI", meaning: "data contributed for training and operating AI"),
        .init(id: "pdc-good", suffix: "PDC-GOOD", meaning: "data contributed for the public good"),
        .init(id: "tpr", suffix: "TPR", meaning: "a trusted personal relationship between two people; no sharing"),
    ]

    /// The registered definition of `id`, or `nil` when this implementation does not know it.
    public static func lookup(_ id: TermsID) -> TermsDefinition? {
        registry.first { $0.id == id }
    }

    private init(id: StaticString, suffix: String, meaning: String) {
        self.id = TermsID(uncheckedLowercase: "\(id)")
        self.iri = "https://w3id.org/dpv/standards/ieee/7012#" + suffix
        self.meaning = meaning
    }
}
