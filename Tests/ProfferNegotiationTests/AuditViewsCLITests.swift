import Foundation
import GRDB
import Hummingbird
import NIOCore
import ProfferAudit
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// A catalog whose shop name is markup, and whose offers lapse within a day.
let hostileCatalogJSON = cameraCatalogJSON.replacingOccurrences(
    of: "\"name\": \"Test Cameras\"", with: "\"name\": \"<script>alert(1)</script> Cameras & Co\""
).replacingOccurrences(of: "\"offerValidity\": \"2d\"", with: "\"offerValidity\": \"12h\"")

/// A vault with three vendors on 127.0.0.1 and three deals made through the CLI:
/// - with `cameras` (a profile name holding `<script>`): confirmed and received;
/// - with `bicycles`: forgotten, confirmed by the vendor;
/// - with `flaky`: a forget that never reached it (it answers 503), and then a key change.
/// Plus an intent whose offers from `cameras` lapse within the day.
final class AuditedPerson: Sendable {
    let person: CLIPerson
    let deals: [String: String]
    let cameraOffersIntent: String

    private init(person: CLIPerson, deals: [String: String], cameraOffersIntent: String) {
        (self.person, self.deals, self.cameraOffersIntent) = (person, deals, cameraOffersIntent)
    }

    static func made() async throws -> AuditedPerson {
        let cameras = try TestVendor(catalogJSON: hostileCatalogJSON)
        let bicycles = try TestVendor()
        let flaky = try TestVendor()
        let impostor = try TestVendor()
        let failing = Flag()
        let swapped = Flag()
        let person = try await CLIPerson()
        let flakyRouter = flaky.swappingRouter(replacement: impostor, swapped: swapped, failing: failing)
        var deals: [String: String] = [:]
        var pending = ""
        try await withServer(cameras.router()) { camerasURL in
            try await withServer(bicycles.router()) { bicyclesURL in
                try await withServer(flakyRouter) { flakyURL in
                    for (url, name) in [(camerasURL, "cameras"), (bicyclesURL, "bicycles"), (flakyURL, "flaky")] {
                        try await person.expectSuccess("vendor", "add", url, "--name", name, "--yes")
                    }
                    for vendor in ["cameras", "bicycles", "flaky"] {
                        let intent = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                        try await person.expectSuccess("intent", "publish", intent, "--vendor", vendor)
                        let offer = try await person.json("offer", "list", intent, "--json").first {
                            ($0["item"] as? String) == "X-T5 body"
                        }
                        try await person.expectSuccess("offer", "accept", offer!["name"] as! String, "--yes")
                        deals[vendor] = try await person.json("deal", "list", "--json").last?["id"] as? String
                    }
                    try await person.expectSuccess("deal", "forget", deals["bicycles"]!, "--yes")
                    failing.set(true)
                    let unconfirmed = try await person.run("deal", "forget", deals["flaky"]!, "--timeout", "5", "--yes")
                    #expect(unconfirmed.status != 0)
                    failing.set(false)
                    swapped.set(true)
                    let another = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                    let refused = try await person.run("intent", "publish", another, "--vendor", "flaky")
                    #expect(refused.stdout.contains("presents another signing key"), "\(refused.stdout)")
                    pending = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                    try await person.expectSuccess("intent", "publish", pending, "--vendor", "cameras")
                }
            }
        }
        return AuditedPerson(person: person, deals: deals, cameraOffersIntent: pending)
    }
}

@Suite("Audit views through the CLI, on deals made against vendors on 127.0.0.1", .serialized)
struct AuditViewsCLITests {
    @Test("vendor show and holdings: held, forgotten, pending; notes; the kept-promise record")
    func holdings() async throws {
        let audited = try await AuditedPerson.made()
        let person = audited.person
        try await person.expectSuccess("vendor", "note", "cameras", "arrived a week late <img src=x onerror=alert(1)>")
        try await person.expectSuccess("deal", "received", audited.deals["cameras"]!)
        let noted = try await person.run("vendor", "note", "cameras", "two\nlines")
        #expect(noted.status == 65, "\(noted.stderr)")
        #expect(noted.stderr.contains("control or text-direction characters"))

        let cameras = try await object(person, "vendor", "show", "cameras", "--json")
        let cameraDeals = cameras["deals"] as? [[String: Any]] ?? []
        #expect(cameraDeals.count == 1)
        #expect(cameraDeals.first?["disclosed"] as? [String] == ["name", "postal"])
        #expect(cameraDeals.first?["received"] != nil)
        let record = cameras["record"] as? [String: Any] ?? [:]
        #expect(record["confirmed"] as? Int == 1)
        #expect(record["etasMet"] as? Int == 1)
        #expect(
            (cameras["notes"] as? [[String: Any]])?.first?["text"] as? String
                == "arrived a week late <img src=x onerror=alert(1)>")
        let shown = try await person.expectSuccess("vendor", "show", "cameras")
        #expect(shown.stdout.contains("1 of 1 deal confirmed, 1 of 1 deliveries on time"), "\(shown.stdout)")
        #expect(shown.stdout.contains("arrived a week late"))

        let flaky = try await object(person, "vendor", "show", "flaky", "--json")
        let flakyRecord = flaky["record"] as? [String: Any] ?? [:]
        #expect(flakyRecord["forgetsAsked"] as? Int == 1)
        #expect(flakyRecord["forgetsConfirmed"] as? Int == 0)
        #expect((flaky["keyChange"] as? [String: Any])?["what"] as? String != nil)

        let holdings = try await person.json("holdings", "--json")
        func state(_ vendor: String, _ category: String) -> String? {
            holdings.first { $0["vendor"] as? String == vendor && $0["category"] as? String == category }?["state"]
                as? String
        }
        #expect(state("cameras", "postal") == "held")
        #expect(state("bicycles", "postal") == "forgotten")
        #expect(state("flaky", "postal") == "pending")
        #expect(state("cameras", "email") == nil)
        let forgotten = holdings.first { $0["vendor"] as? String == "bicycles" }
        #expect(forgotten?["forgotten"] != nil)
        // Times are the vault's own: a forget is never asked before the disclosure it concerns.
        for holding in holdings {
            guard let asked = holding["forgetAsked"] as? String, let since = holding["since"] as? String else {
                continue
            }
            #expect(asked >= since, "\(holding)")
        }
        let table = try await person.expectSuccess("holdings", "--category", "postal")
        let lines = table.stdoutLines
        #expect(lines.count == 4)
        #expect(lines.contains { $0.hasPrefix("postal") && $0.contains("bicycles") && $0.contains("forgotten") })
        #expect(lines.contains { $0.contains("flaky") && $0.contains("not delivered") })
        // Values never appear in these views.
        #expect(!table.stdout.contains("Example Street"))
        let unknown = try await person.run("holdings", "--category", "shoesize")
        #expect(unknown.status == 64)

        // A backup keeps what the views are made of: notes, deliveries, key changes, forget times.
        let backup = person.folder.path + "/backup.export"
        try await person.expectSuccess("export", backup)
        var restored = person.environment
        restored["PROFFER_VAULT"] = person.folder.path + "/restored/vault.db"
        restored["XDG_STATE_HOME"] = person.folder.path + "/restored-state"
        let imported = try await ProfferProcess.run(["import", backup], environment: restored)
        #expect(imported.status == 0, "\(imported.stderr)")
        for arguments in [["vendor", "show", "cameras", "--json"], ["vendor", "show", "flaky", "--json"]] {
            let before = try await ProfferProcess.run(arguments, environment: person.environment)
            let after = try await ProfferProcess.run(arguments, environment: restored)
            #expect(after.status == 0)
            #expect(after.stdout == before.stdout, "\(arguments)")
        }
        let holdingsAfter = try await ProfferProcess.run(["holdings", "--json"], environment: restored)
        let holdingsBefore = try await ProfferProcess.run(["holdings", "--json"], environment: person.environment)
        #expect(holdingsAfter.stdout == holdingsBefore.stdout)
    }

    @Test(
        "due lists the expiring offers first, then the key change, then the unconfirmed forget, each with its command")
    func due() async throws {
        let audited = try await AuditedPerson.made()
        let person = audited.person
        let items = try await person.json("due", "--json")
        let kinds = items.map { $0["kind"] as? String ?? "" }
        #expect(kinds.first == "offer-expiring", "\(kinds)")
        #expect(kinds.contains("key-changed"))
        #expect(kinds.contains("delivery-overdue") == false)
        let forget = items.first { $0["kind"] as? String == "forget-unconfirmed" }
        #expect(forget?["command"] as? String == "proffer deal forget \(audited.deals["flaky"]!)")
        #expect(
            items.first { $0["kind"] as? String == "key-changed" }?["command"] as? String
                == "proffer vendor repin flaky")
        #expect(kinds == kinds.sorted { FollowUp.Kind(rawValue: $0)! < FollowUp.Kind(rawValue: $1)! })
        let human = try await person.expectSuccess("due")
        #expect(human.stdout.contains("proffer deal forget"))
        #expect(human.stderr.contains("forget.after"))

        // Later, from the vault alone: deliveries overdue, data held too long, intents past their by:.
        try await person.expectSuccess("pref", "set", "forget.after", "30d")
        let bad = try await person.run("pref", "set", "forget.after", "3h")
        #expect(bad.status == 65)
        _ = try await person.intent(
            "#buy camera.mirrorless max:1300EUR by:\(Date().addingTimeInterval(86_400).dayText)")
        var passphrase = Array("correct horse battery staple".utf8)
        let vault = try Vault.open(
            at: person.environment["PROFFER_VAULT"]!, passphrase: try SecretBytes(wiping: &passphrase))
        let later = try AuditFacts(vault: vault, now: Date().addingTimeInterval(40 * 86_400)).followUps()
        let laterKinds = Set(later.map(\.kind))
        #expect(laterKinds.contains(.deliveryOverdue))
        #expect(later.filter { $0.kind == .heldTooLong }.map(\.subject) == [audited.deals["cameras"]!])
        #expect(!laterKinds.contains(.offerExpiring))
        #expect(laterKinds.contains(.intentPastBy))
        let overdue = later.first { $0.kind == .deliveryOverdue }
        #expect(overdue?.command == "proffer deal received \(audited.deals["cameras"]!)")
        try await person.expectSuccess("deal", "received", audited.deals["cameras"]!)
        let settled = try AuditFacts(vault: vault, now: Date().addingTimeInterval(40 * 86_400)).followUps()
        #expect(!settled.contains { $0.kind == .deliveryOverdue })
        let future = try await person.run("deal", "received", audited.deals["cameras"]!, "--on", "2999-01-01")
        #expect(future.status == 65)
    }

    @Test(
        "consent records: JSON-LD with a context, absolute IRIs, the registry's IRIs, the pairwise key, both envelopes")
    func receipts() async throws {
        let audited = try await AuditedPerson.made()
        let person = audited.person
        let receipt = try await person.expectSuccess("deal", "receipt", audited.deals["cameras"]!)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(receipt.stdout.utf8)) as? [String: Any])
        let context = try #require(record["@context"] as? [String: String])
        for iri in context.values { #expect(isAbsoluteIRI(iri), "\(iri)") }
        var iris: [String] = []
        collectIRIs(record, context: context, into: &iris)
        for iri in iris { #expect(isAbsoluteIRI(iri), "\(iri)") }
        #expect(iris.contains("https://w3id.org/dpv#ConsentRecord"))
        #expect(iris.contains(DataCategory.name.dpvIRI))
        #expect(iris.contains(DataCategory.postal.dpvIRI))
        #expect(iris.contains(TermsDefinition.lookup(TermsID("sd-base")!)!.iri))
        #expect(iris.contains("https://w3id.org/dpv#ConsentGiven"))
        #expect(!iris.contains("https://w3id.org/dpv#ConsentWithdrawn"))
        // The subject is the key the vendor knows, as in the accept; never the person's name.
        let deal = try await object(person, "deal", "show", audited.deals["cameras"]!, "--json")
        let accept = try Envelope.decode(json: Array((deal["acceptEnvelope"] as! String).utf8))
        let subject = record["dpv:hasDataSubject"] as? [String: Any]
        #expect(subject?["@id"] as? String == ConsentRecord.didKey(accept.sender))
        #expect(!receipt.stdout.contains("Ada Lovelace") && !receipt.stdout.contains("Example Street"))
        let evidence = record["proffer:evidence"] as? [[String: Any]] ?? []
        #expect(evidence.map { $0["proffer:role"] as? String } == ["accept", "reply"])
        let again = try await person.expectSuccess("deal", "receipt", audited.deals["cameras"]!)
        #expect(again.stdout == receipt.stdout)

        let withdrawn = try await person.expectSuccess("deal", "receipt", audited.deals["bicycles"]!)
        #expect(withdrawn.stdout.contains("https://w3id.org/dpv#ConsentWithdrawn"))
        let pending = try await person.expectSuccess("deal", "receipt", audited.deals["flaky"]!)
        #expect(!pending.stdout.contains("ConsentWithdrawn"))
        let plain = try await object(person, "deal", "receipt", audited.deals["flaky"]!, "--format", "json")
        #expect(plain["state"] as? String == "forget-pending")

        let folder = person.folder.path + "/records"
        try await person.expectSuccess("audit", "export", "--format", "iso27560", folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == audited.deals.values.map { "\($0).jsonld" }.sorted())
        let exported = try String(contentsOfFile: folder + "/\(audited.deals["cameras"]!).jsonld", encoding: .utf8)
        #expect(exported == receipt.stdout)
        let onFile = try await person.run("audit", "export", "--format", "iso27560", folder + "/\(files[0])")
        #expect(onFile.status == 1)
        #expect(onFile.stderr.contains("is a file"))
    }

    @Test(
        "the report in headless Chromium: the grid, the states, markup shown as text, nothing fetched, values only when asked"
    )
    func reportInBrowser() async throws {
        let audited = try await AuditedPerson.made()
        let person = audited.person
        try await person.expectSuccess("vendor", "note", "bicycles", "<b>bold</b> claim")
        let report = person.folder.path + "/report.html"
        let written = try await person.expectSuccess("audit", "report", "--html", report)
        #expect(written.stdout.contains("audit chain intact"))
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!html.contains("Ada Lovelace") && !html.contains("Example Street"))
        var status = stat()
        stat(report, &status)
        #expect(status.st_mode & 0o777 == 0o600)

        let browser = try HeadlessChromium()
        // The check can fail: a page that loads an image and a font is caught.
        let canary = person.folder.path + "/canary.html"
        try Data(
            """
            <!DOCTYPE html><img src="http://127.0.0.1:9/canary.png">
            <link rel="stylesheet" href="https://fonts.example/css">
            """.utf8
        ).write(to: URL(fileURLWithPath: canary))
        #expect(try browser.load(canary, screenshot: "canary.png").requests.count == 2)
        let page = try browser.load(report, screenshot: "audit-report.png")
        #expect(page.requests.isEmpty, "the page asked for \(page.requests)")
        let dom = page.dom
        // Markup from a vendor and from a note arrives as text, never as elements.
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; Cameras &amp; Co"))
        #expect(dom.contains("&lt;b&gt;bold&lt;/b&gt; claim"))
        #expect(!dom.contains("<script"))
        #expect(!dom.contains("<img"))
        #expect(!dom.contains("<b>bold"))
        #expect(dom.contains("data-intact=\"true\""))
        #expect(gridCell(dom, vendor: "cameras", column: "postal") == "held")
        #expect(gridCell(dom, vendor: "bicycles", column: "postal") == "forgotten")
        #expect(gridCell(dom, vendor: "flaky", column: "name") == "pending")
        #expect(dom.contains("id=\"unconfirmed\""))
        #expect(dom.contains(audited.deals["flaky"]!))
        #expect(dom.contains(TermsDefinition.lookup(TermsID("sd-base")!)!.meaning))

        let withValues = person.folder.path + "/report-values.html"
        try await person.expectSuccess("audit", "report", "--html", withValues, "--with-values")
        let valuesPage = try browser.load(withValues, screenshot: "audit-report-with-values.png")
        #expect(valuesPage.dom.contains("12 Example Street, Berlin"))
        #expect(valuesPage.requests.isEmpty)
    }

    @Test("nothing is written among the vault's own files; a reused vendor name is another party; damage is stated")
    func attacks() async throws {
        let audited = try await AuditedPerson.made()
        let person = audited.person
        let vaultPath = person.environment["PROFFER_VAULT"]!
        let anchors = person.environment["XDG_STATE_HOME"]! + "/proffer"
        for target in [vaultPath + "-wal", vaultPath, anchors + "/report.html"] {
            let refused = try await person.run("audit", "report", "--html", target)
            #expect(refused.status == 64, "\(target): \(refused.stderr)")
            #expect(refused.stderr.contains("holds the vault's own files"))
        }
        // A hard link elsewhere is still the vault.
        let link = person.folder.path + "/innocent.html"
        #expect(Foundation.link(vaultPath, link) == 0)
        let linked = try await person.run("audit", "report", "--html", link)
        #expect(linked.status == 64, "\(linked.stderr)")
        #expect(try await person.run("vault", "check").status == 0)
        let deal = audited.deals["flaky"]!
        #expect(try await person.run("deal", "receipt", deal, "--output", anchors + "/r.json").status == 64)
        let folder = (vaultPath as NSString).deletingLastPathComponent
        #expect(try await person.run("audit", "export", "--format", "iso27560", folder).status == 64)
        let passphrase = try await person.run(
            "audit", "report", "--html", person.environment["PROFFER_PASSPHRASE_FILE"]!)
        #expect(passphrase.status == 1)
        #expect(
            try String(contentsOfFile: person.environment["PROFFER_PASSPHRASE_FILE"]!, encoding: .utf8)
                .hasPrefix("correct horse"))

        // flaky is removed; another vendor gets its name. flaky's deal stays flaky's, shown as removed.
        let before = try await person.expectSuccess("deal", "receipt", deal)
        try await person.expectSuccess("vendor", "rm", "flaky", "--force")
        let newcomer = try TestVendor()
        _ = try await withServer(newcomer.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "flaky", "--yes")
        }
        let shown = try await object(person, "vendor", "show", "flaky", "--json")
        #expect((shown["deals"] as? [Any])?.isEmpty == true)
        #expect((shown["holdings"] as? [Any])?.isEmpty == true)
        #expect((shown["earlierVendorDeals"] as? [[String: Any]])?.map { $0["id"] as? String } == [deal])
        let removed = try await object(person, "vendor", "show", "flaky (removed)", "--json")
        #expect(removed.keys.contains("vendor") && removed["vendor"] is NSNull)
        #expect((removed["deals"] as? [[String: Any]])?.count == 1)
        let holdings = try await person.json("holdings", "--json")
        #expect(holdings.filter { $0["vendor"] as? String == "flaky (removed)" }.count == 2)
        #expect(!holdings.contains { $0["vendor"] as? String == "flaky" })
        // The record names the controller as the deal recorded it: the same bytes after the vendor's removal.
        let after = try await person.expectSuccess("deal", "receipt", deal)
        #expect(after.stdout == before.stdout)
        #expect(!after.stdout.contains(ConsentRecord.didKey(newcomer.inbox.profile.signingKey)))

        // A deal row deleted by hand: the report still renders, and says the vault is damaged.
        let queue = try DatabaseQueue(path: vaultPath)
        try await queue.write { db in try db.execute(sql: "DELETE FROM deals WHERE id = (SELECT max(id) FROM deals)") }
        try queue.close()
        let report = person.folder.path + "/damaged.html"
        let damaged = try await person.run("audit", "report", "--html", report)
        #expect(damaged.status == 1)
        #expect(damaged.stdout.contains("DAMAGED"))
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.contains("id=\"damaged\""))
        #expect(html.contains("This vault failed its integrity check"))
    }

    func object(_ person: CLIPerson, _ arguments: String...) async throws -> [String: Any] {
        let outcome = try await ProfferProcess.run(arguments, environment: person.environment)
        #expect(outcome.status == 0, "\(arguments): \(outcome.stderr)")
        return (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]) ?? [:]
    }
}

/// Whether `iri` is absolute: a scheme of letters, digits, `+`, `-` or `.`, then `:`, then something.
func isAbsoluteIRI(_ iri: String) -> Bool {
    guard let colon = iri.firstIndex(of: ":"), colon != iri.startIndex, iri.index(after: colon) != iri.endIndex
    else { return false }
    let scheme = iri[..<colon]
    return scheme.first!.isLetter && scheme.allSatisfy { $0.isLetter || $0.isNumber || "+-.".contains($0) }
}

/// Every IRI in a JSON-LD object: keys (expanded by the context), `@id` and `@type` values.
func collectIRIs(_ value: Any, context: [String: String], into iris: inout [String]) {
    func expand(_ term: String) -> String {
        guard let colon = term.firstIndex(of: ":"), let base = context[String(term[..<colon])] else { return term }
        return base + term[term.index(after: colon)...]
    }
    if let object = value as? [String: Any] {
        for (key, member) in object where key != "@context" {
            if key == "@value" { continue }
            if !key.hasPrefix("@") { iris.append(expand(key)) }
            if key == "@id", let id = member as? String { iris.append(expand(id)) }
            if key == "@type" {
                for type in (member as? [String]) ?? [(member as? String) ?? ""] where type != "@json" {
                    iris.append(expand(type))
                }
            }
            collectIRIs(member, context: context, into: &iris)
        }
    } else if let array = value as? [Any] {
        for member in array { collectIRIs(member, context: context, into: &iris) }
    }
}

/// The state written in the grid's cell for `vendor` and the category `column`.
func gridCell(_ dom: String, vendor: String, column: String) -> String? {
    guard let grid = dom.range(of: "id=\"grid\"") else { return nil }
    let table = dom[grid.upperBound...]
    let end = table.range(of: "</table>").map { table[..<$0.lowerBound] } ?? table
    let header = end.components(separatedBy: "</thead>")[0]
    // The first header cell names the vendor column; the others are the categories, in the order of the cells.
    let columns = header.components(separatedBy: "</th>").dropLast().dropFirst().map {
        String($0.split(separator: ">").last ?? "")
    }
    guard let position = columns.firstIndex(of: column) else { return nil }
    for row in end.components(separatedBy: "<tr>").dropFirst() where row.contains(">\(vendor)</th>") {
        let cells = row.components(separatedBy: "data-state=\"").dropFirst()
        guard position < cells.count else { return nil }
        return String(cells[cells.startIndex + position].prefix { $0 != "\"" })
    }
    return nil
}

/// Debian's Chromium, headless, with a net log so a test sees every request a page makes.
struct HeadlessChromium {
    let executable: URL
    /// Screenshots go under the package's `.build/`, for a person to look at; they are never committed.
    let screenshots: URL

    init() throws {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CLIFailure("Chromium is not installed: run `make setup`, which installs Debian's chromium")
        }
        executable = URL(fileURLWithPath: path)
        screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/report-screenshots")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
    }

    struct Page {
        let dom: String
        /// Every URL the browser asked for other than the page's own file.
        let requests: [String]
    }

    func load(_ file: String, screenshot: String) throws -> Page {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let netLog = scratch.appendingPathComponent("net-log.json").path
        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
            "--user-data-dir=\(scratch.path)/profile", "--log-net-log=\(netLog)", "--net-log-capture-mode=Everything",
        ]
        let url = URL(fileURLWithPath: file).absoluteString
        let dumped = try ProfferProcess.run(
            common + ["--dump-dom", url], environment: ["HOME": scratch.path], executable: executable)
        guard dumped.status == 0, !dumped.stdout.isEmpty else {
            throw CLIFailure("chromium could not load \(file): \(dumped.stderr.suffix(800))")
        }
        let requests = try HeadlessChromium.pageRequests(inNetLog: netLog)
        let shot = try ProfferProcess.run(
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--user-data-dir=\(scratch.path)/profile-shot", "--hide-scrollbars", "--window-size=1280,1600",
                "--screenshot=\(screenshots.appendingPathComponent(screenshot).path)", url,
            ], environment: ["HOME": scratch.path], executable: executable)
        #expect(shot.status == 0, "\(shot.stderr.suffix(800))")
        return Page(dom: dumped.stdout, requests: requests)
    }
}

extension HeadlessChromium {
    /// The URLs a page asked for, from Chromium's net log. The browser's own traffic (update checks, accounts) has
    /// no origin as its initiator; what a page loads has the page's origin, `null` for a file.
    static func pageRequests(inNetLog path: String) throws -> [String] {
        guard
            let log = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                as? [String: Any],
            let constants = log["constants"] as? [String: Any],
            let types = constants["logEventTypes"] as? [String: Int], let start = types["URL_REQUEST_START_JOB"],
            let events = log["events"] as? [[String: Any]]
        else { throw CLIFailure("Chromium's net log at \(path) is not what it should be") }
        return events.compactMap { event in
            guard event["type"] as? Int == start, let parameters = event["params"] as? [String: Any],
                let url = parameters["url"] as? String, !url.hasPrefix("file:"),
                parameters["initiator"] as? String != "not an origin"
            else { return nil }
            return url
        }
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
