import Foundation
import Testing

@testable import ProfferWire

/// Keeps the Swift registries equal to the normative data under `schema/registry/` and to Debian's iso-codes.
@Suite("Registries")
struct RegistryTests {
    static let schema = ConformanceVectors.directory.deletingLastPathComponent()

    struct TermsFile: Decodable {
        struct Entry: Decodable { let id, iri, meaning: String }
        let terms: [Entry]
    }

    struct CategoriesFile: Decodable {
        struct Entry: Decodable { let name, dpv, iri, meaning: String }
        let categories: [Entry]
    }

    @Test("terms.json and TermsDefinition.registry list the same ids, IRIs and meanings, in order")
    func termsAgree() throws {
        let data = try Data(contentsOf: Self.schema.appendingPathComponent("registry/terms.json"))
        let file = try JSONDecoder().decode(TermsFile.self, from: data)
        #expect(file.terms.map(\.id) == TermsDefinition.registry.map(\.id.description))
        #expect(file.terms.map(\.iri) == TermsDefinition.registry.map(\.iri))
        #expect(file.terms.map(\.meaning) == TermsDefinition.registry.map(\.meaning))
    }

    @Test("the registry holds exactly the terms PROTOCOL.md §2.1 names")
    func termsMatchTheSpec() {
        let named = [
            "sd-base", "sd-base-dp", "sd-base-a", "sd-base-at", "sd-base-atp", "sd-base-s3p", "pdc-intent",
            "pdc-ai", "pdc-good", "tpr",
        ]
        #expect(Set(TermsDefinition.registry.map(\.id.description)) == Set(named))
        #expect(TermsID("SD-BASE")?.definition?.iri == "https://w3id.org/dpv/standards/ieee/7012#SD-BASE")
        #expect(TermsID("sd-base-x")?.definition == nil)
    }

    @Test("data-categories.json and DataCategory agree, each mapped to a DPV personal-data term")
    func dataCategoriesAgree() throws {
        let data = try Data(contentsOf: Self.schema.appendingPathComponent("registry/data-categories.json"))
        let file = try JSONDecoder().decode(CategoriesFile.self, from: data)
        #expect(file.categories.map(\.name) == DataCategory.allCases.map(\.rawValue))
        #expect(file.categories.map(\.dpv) == DataCategory.allCases.map(\.dpvTerm))
        #expect(file.categories.map(\.iri) == DataCategory.allCases.map(\.dpvIRI))
        #expect(file.categories.map(\.meaning) == DataCategory.allCases.map(\.meaning))
    }

    @Test(
        "the generated country list equals Debian's iso-codes",
        .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/iso-codes/json/iso_3166-1.json")))
    func countriesAgreeWithISOCodes() throws {
        struct ISOFile: Decodable {
            struct Entry: Decodable {
                let alpha2: String
                let name: String
                let commonName: String?
                enum CodingKeys: String, CodingKey {
                    case alpha2 = "alpha_2", name, commonName = "common_name"
                }
            }
            let entries: [Entry]
            enum CodingKeys: String, CodingKey { case entries = "3166-1" }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: "/usr/share/iso-codes/json/iso_3166-1.json"))
        let entries = try JSONDecoder().decode(ISOFile.self, from: data).entries.sorted { $0.alpha2 < $1.alpha2 }
        #expect(entries.map(\.alpha2) == Country.assignedCodes.map(\.code))
        #expect(entries.map { $0.commonName ?? $0.name } == Country.assignedCodes.map(\.name))
    }

    @Test("every assigned code, and nothing else, is a region", arguments: ["DE", "de", "GB", "US", "FR", "JP"])
    func assignedCodesAreRegions(_ code: String) {
        #expect(Region(code)?.description == code.uppercased())
        #expect(Country.name(ofCode: code.uppercased()) != nil)
    }

    @Test("unassigned and reserved codes are not regions", arguments: ["XX", "EU", "UK", "ZZ", "AA", "QO"])
    func unassignedCodesAreNotRegions(_ code: String) {
        #expect(Region(code) == nil)
    }
}
