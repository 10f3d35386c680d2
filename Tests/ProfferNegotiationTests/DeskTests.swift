import Foundation
import ProfferVendorKit
import Testing

@testable import ProfferTestSupport

/// The vendor's desk (issue 24), through `proffer-vendor desk`, over records written by a running vendor that real
/// clients reached over HTTP and over Nostr.
@Suite("The vendor's desk, through the CLI", .serialized)
struct DeskTests {
    /// `proffer-vendor desk ARGUMENTS… --json` over `place`'s records, parsed.
    static func desk(_ arguments: [String], at place: VendorPlace) async throws -> [[String: Any]] {
        let outcome = try await ProfferProcess.run(
            ["desk"] + arguments + ["--data", place.folder.path] + (place.databaseURL.map { ["--database", $0] } ?? [])
                + ["--json"],
            environment: [:], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return (try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    @Test(
        "desk intents lists every intent, from HTTP and Nostr, with what was done and why not, most valuable first",
        arguments: Engine.allCases)
    func intents(engine: Engine) async throws {
        let relay = try await NostrTestRelay()
        let vendor = try await NostrTestVendor(engine, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let answered = try await person.publish(
                "#buy camera.mirrorless max:1300EUR qty:2 in:DE terms:sd-base", toVendorAt: url)
            let cheap = try await person.intent("#buy camera.mirrorless max:1250EUR in:DE terms:sd-base")
            try await person.expectSuccess("intent", "publish", cheap)
            let tooCheap = try await person.intent("#buy camera.mirrorless max:100EUR in:DE terms:sd-base")
            try await person.expectSuccess("intent", "publish", tooCheap)
            // In public: a complaint, and terms the vendor does not offer.
            try await Task.sleep(for: .milliseconds(500))
            let (fix, _) = try await person.cast("#fix appliance.dishwasher in:DE terms:sd-base", relays: [relay.url])
            let (terms, _) = try await person.cast(
                "#buy camera.mirrorless max:1400EUR in:DE terms:sd-base-dp", relays: [relay.url])
            _ = (fix, terms)
            let end = ContinuousClock.now + .seconds(30)
            var rows: [[String: Any]] = []
            while ContinuousClock.now < end, rows.count < 5 {
                try await Task.sleep(for: .milliseconds(200))
                rows = try await Self.desk(["intents"], at: vendor.place)
            }
            #expect(rows.count == 5, "\(rows)")
            let answeredRows = rows.filter { $0["state"] as? String == "answered" }
            #expect(answeredRows.count == 2)
            // The most valuable first: 2 × 1300EUR before 1 × 1250EUR.
            #expect(answeredRows.first?["value"] as? Int == 2_600_000, "\(answeredRows)")
            #expect(
                answeredRows.allSatisfy {
                    $0["transport"] as? String == "http" && !(($0["offers"] as? [Any]) ?? []).isEmpty
                })
            let unmatched = rows.filter { $0["state"] as? String == "unmatched" }
            let reasons = Set(unmatched.compactMap { $0["reason"] as? String })
            #expect(reasons == ["price", "category", "terms"], "\(unmatched)")
            let complaint = try #require(rows.first { $0["complaint"] as? Bool == true })
            #expect(complaint["transport"] as? String == "nostr" && complaint["reason"] as? String == "category")
            #expect(rows.first { $0["reason"] as? String == "terms" }?["transport"] as? String == "nostr")
            _ = answered
            let onlyUnmatched = try await Self.desk(["intents", "--state", "unmatched"], at: vendor.place)
            #expect(onlyUnmatched.count == 3)
            let table = try await ProfferProcess.run(
                ["desk", "intents", "--data", vendor.place.folder.path]
                    + (vendor.place.databaseURL.map { ["--database", $0] } ?? []),
                environment: [:], executable: ProfferProcess.builtProduct("proffer-vendor"))
            #expect(
                table.stdout.contains("fix (complaint)") && table.stdout.contains("unmatched: terms"), "\(table.stdout)"
            )
        }
    }

    static let holdingCatalogJSON = """
        {"name": "Test Cameras", "terms": ["sd-base", "pdc-intent"], "categories": ["camera"], "regions": ["DE"],
         "offerValidity": "2d", "hold_above": "2000EUR",
         "items": [
           {"sku": "xt5", "title": "X-T5 body", "category": "camera.mirrorless", "price": "1149EUR", "floor": "1079EUR",
            "stock": 3, "eta": "3d", "needs": ["name", "postal"]},
           {"sku": "leica", "title": "Leica Q3", "category": "camera.compact", "price": "5990EUR", "stock": 1,
            "eta": "5d", "needs": ["name"], "answer": "hold"}
         ]}
        """

    @Test(
        "intents the catalog holds wait on the desk: an item to price by hand, or worth more than hold_above; over HTTP the person is told why",
        arguments: Engine.allCases)
    func held(engine: Engine) async throws {
        let relay = try await NostrTestRelay()
        let vendor = try await NostrTestVendor(engine, relays: [relay.url], catalogJSON: Self.holdingCatalogJSON)
        defer { Task { await vendor.stop() } }
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let compact = try await person.intent("#buy camera.compact max:6000EUR in:DE terms:sd-base")
            let published = try await person.expectSuccess("intent", "publish", compact)
            #expect(published.stdout.contains("held for the shop to price by hand"), "\(published.stdout)")
            #expect(try await person.json("offer", "list", compact, "--json").isEmpty)
            try await Task.sleep(for: .milliseconds(500))
            let (big, _) = try await person.cast(
                "#buy camera.mirrorless max:1300EUR qty:2 in:DE terms:sd-base", relays: [relay.url])
            let end = ContinuousClock.now + .seconds(30)
            var held: [[String: Any]] = []
            while ContinuousClock.now < end, held.count < 2 {
                try await Task.sleep(for: .milliseconds(200))
                held = try await Self.desk(["intents", "--state", "held"], at: vendor.place)
            }
            #expect(Set(held.compactMap { $0["transport"] as? String }) == ["http", "nostr"], "\(held)")
            #expect(held.allSatisfy { (($0["offers"] as? [Any]) ?? [1]).isEmpty })
            try await person.expectSuccess("inbox", "--timeout", "5")
            #expect(try await person.json("offer", "list", big, "--json").isEmpty, "a held public intent gets no offer")
            let all = try await Self.desk(["intents"], at: vendor.place)
            #expect(all.first?["state"] as? String == "held", "held ones come first: \(all)")
        }
    }
}
