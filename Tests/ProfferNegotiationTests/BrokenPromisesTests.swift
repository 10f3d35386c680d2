import Foundation
import GRDB
import Hummingbird
import NIOCore
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Synchronization
import Testing

@testable import ProfferTestSupport

/// A network hop that holds back every inbox POST carrying an `#accept` until released, as anyone on the path can.
final class AcceptHolder: Sendable {
    private let held = Mutex<[[UInt8]]>([])
    let released = Flag()
    /// Whether a released accept goes on to the vendor through the hop (else the test delivers it itself).
    let deliversWhenReleased = Flag()

    var heldAccepts: [[UInt8]] { held.withLock { $0 } }

    /// The vendor's router with the hop in front of its inbox.
    func router(for vendor: TestVendor) -> Router<BasicRequestContext> {
        vendor.router(inbox: { body in
            let message = (try? Envelope.decode(json: body)).flatMap { try? Message.parse($0.envelope.msg) }
            guard message?.kind == .accept else {
                let answer = await vendor.inbox.handle(body: body)
                return (answer.status, answer.body)
            }
            self.held.withLock { $0.append(body) }
            for _ in 0..<600 where !self.released.isOn {
                try? await Task.sleep(for: .milliseconds(50))
            }
            guard self.released.isOn, self.deliversWhenReleased.isOn else { return (504, Array("held".utf8)) }
            let answer = await vendor.inbox.handle(body: body)
            return (answer.status, answer.body)
        })
    }
}

/// Checks that what `holdings --json` says agrees with the audit chain (`audit list --json`), through any vault the
/// environment names: every (deal, category) the chain records as disclosed is a holding, and none other; a holding
/// is `forgotten` exactly when the chain records the vendor's confirmation; `vendor show --json` of each vendor lists
/// the same holdings as `holdings` does for it.
func expectHoldingsAgreeWithChain(
    _ environment: [String: String], sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    func json(_ arguments: String...) async throws -> Any {
        let outcome = try await ProfferProcess.run(arguments, environment: environment)
        return try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
    }
    let entries = try await json("audit", "list", "--json") as? [[String: Any]] ?? []
    var disclosed = Set<String>()
    var forgotten = Set<String>()
    for entry in entries {
        guard let deal = entry["deal"] as? String else { continue }
        switch entry["kind"] as? String {
        case "disclosure":
            for category in entry["categories"] as? [String] ?? [] { disclosed.insert(deal + "/" + category) }
        case "forget-confirmed": forgotten.insert(deal)
        default: break
        }
    }
    let holdings = try await json("holdings", "--json") as? [[String: Any]] ?? []
    let held = Set(holdings.map { "\($0["deal"] as? String ?? "")/\($0["category"] as? String ?? "")" })
    #expect(
        held == disclosed, "holdings \(held.sorted()) against the chain's \(disclosed.sorted())",
        sourceLocation: sourceLocation)
    for holding in holdings {
        let deal = holding["deal"] as? String ?? ""
        #expect(
            (holding["state"] as? String == "forgotten") == forgotten.contains(deal), "deal \(deal)",
            sourceLocation: sourceLocation)
    }
    for vendor in Set(holdings.compactMap { $0["vendor"] as? String }) {
        let shown = try await json("vendor", "show", vendor, "--json") as? [String: Any] ?? [:]
        let listed = (shown["holdings"] as? [[String: Any]] ?? []).map { "\($0["deal"] ?? "")/\($0["category"] ?? "")" }
        let expected = holdings.filter { $0["vendor"] as? String == vendor }.map {
            "\($0["deal"] ?? "")/\($0["category"] ?? "")"
        }
        #expect(Set(listed) == Set(expected), "vendor show \(vendor)", sourceLocation: sourceLocation)
    }
}

/// The cases of the second outside attack (issue 19), each through the CLI against vendors on 127.0.0.1.
@Suite("Promises kept under attack: crossings, reused ids and names, symlinks, salvage, keys", .serialized)
struct BrokenPromisesTests {
    /// The deal the person's vault lists last, as `deal list --json` gives it.
    func lastDeal(_ person: CLIPerson) async throws -> [String: Any] {
        try #require(try await person.json("deal", "list", "--json").last)
    }

    @Test(
        "an accept held back past its timeout, then forgotten: the vendor confirms the forget, declines the late accept (why:forgotten) and stores nothing of it",
        arguments: Engine.allCases)
    func acceptCrossingItsForget(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let hop = AcceptHolder()
        let person = try await CLIPerson()
        try await withServer(hop.router(for: vendor)) { url in
            let intent = try await person.publish("#buy camera.mirrorless max:1300EUR terms:sd-base", toVendorAt: url)
            let offer = try await person.offer(for: intent)
            // Long enough for the profile check on a loaded machine: the accept itself is held, so it times out.
            let accepted = try await person.run("offer", "accept", offer, "--yes", "--timeout", "10")
            #expect(accepted.status != 0, "the accept's answer never came")
            #expect(!accepted.stderr.contains("Nothing was sent"), "the accept left: \(accepted.stderr)")
            let deal = try await lastDeal(person)
            #expect(deal["state"] as? String == "unconfirmed")
            let dealID = try #require(deal["id"] as? String)

            let forgot = try await person.expectSuccess("deal", "forget", dealID, "--yes")
            #expect(forgot.stdout.contains("confirmed it deleted"))

            // The held accept arrives now, at this instance or (PostgreSQL) at another one over the same database.
            let second = engine == .postgresql ? try await TestVendor.started(at: vendor.place) : vendor
            let held = try #require(hop.heldAccepts.first)
            let late = await second.inbox.handle(body: held)
            #expect(late.status == 200)
            let replies = TestVendor.replies(in: late.body).compactMap { envelope in
                envelope.first { $0.0 == "msg" }?.1.stringValue.flatMap { try? Message.parse($0) }
            }
            #expect(replies.count == 1)
            #expect(replies.first?.kind == .decline)
            #expect(replies.first?.why == "forgotten")
            #expect(replies.first?.re?.description == dealID)
            #expect(try await vendor.inbox.records.deals().isEmpty, "nothing of the late accept is stored")
            if engine == .sqlite {
                let disk = vendor.folder.rawBytes()
                #expect(!disk.contains("Ada Lovelace") && !disk.contains("Example Street"))
            }
            let holdings = try await person.json("holdings", "--json")
            #expect(holdings.count == 2 && holdings.allSatisfy { $0["state"] as? String == "forgotten" })
            hop.released.set(true)
        }
    }

    @Test(
        "an accept still sending in one process while another forgets the deal: forgotten stays forgotten, and the vendor keeps nothing",
        arguments: Engine.allCases)
    func forgetWhileAnotherProcessAccepts(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let hop = AcceptHolder()
        hop.deliversWhenReleased.set(true)
        let person = try await CLIPerson()
        try await withServer(hop.router(for: vendor)) { url in
            let intent = try await person.publish("#buy camera.mirrorless max:1300EUR terms:sd-base", toVendorAt: url)
            let offer = try await person.offer(for: intent)
            async let accepting = person.run("offer", "accept", offer, "--yes", "--timeout", "40")
            var dealID: String?
            for _ in 0..<400 where dealID == nil || hop.heldAccepts.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                dealID =
                    try await person.json("deal", "list", "--json").first { $0["state"] as? String == "sending" }?[
                        "id"] as? String
            }
            let sending = try #require(dealID)
            try await person.expectSuccess("deal", "forget", sending, "--yes")
            hop.released.set(true)
            let accepted = try await accepting
            #expect(accepted.status != 0)
            #expect(
                accepted.stderr.contains("a forget was sent while this accept was on its way"), "\(accepted.stderr)")
            #expect(!accepted.stderr.contains("deal retry"))
            let deal = try await lastDeal(person)
            #expect(deal["state"] as? String == "forgotten")
            #expect(try await vendor.inbox.records.deals().isEmpty)
            let audit = try await person.json("audit", "list", "--json").map { $0["kind"] as? String }
            #expect(audit.contains("forget-confirmed"))
        }
    }

    @Test(
        "a forget from a key that was never made an offer is refused (422), and remembers nothing",
        arguments: Engine.allCases)
    func forgetFromAStranger(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let stranger = try SigningKeyPair.generate()
        let forget = Envelope.signed(
            message: "#forget id:\(MessageID.random()) re:\(MessageID.random())", by: stranger,
            to: vendor.inbox.keys.signing.publicKey)
        let answer = await vendor.inbox.handle(body: Array(forget.json.utf8))
        #expect(answer.status == 422)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("unknown-ref"))
    }

    /// A vendor that lies about offer ids: each new intent gets two offers, with the next pair of ids (the last pair
    /// again once they run out), and a counter is answered with `counterAnswer(the intents' ids toward it)`.
    final class LyingVendor: Sendable {
        let vendor: TestVendor
        private let intents = Mutex<[MessageID]>([])
        private let idPairs: [(String, String)] = [("aaaaaaaa", "bbbbbbbb"), ("cccccccc", "dddddddd")]
        let counterAnswer: @Sendable (_ intentIDs: [MessageID]) -> String

        init(counterAnswer: @escaping @Sendable (_ intentIDs: [MessageID]) -> String) throws {
            vendor = try TestVendor()
            self.counterAnswer = counterAnswer
        }

        var router: Router<BasicRequestContext> {
            vendor.router(inbox: { body in
                let message = try! Message.parse(Envelope.decode(json: body).envelope.msg)
                switch message.kind {
                case .counter:
                    return (200, self.vendor.replies(to: body, [self.counterAnswer(self.intents.withLock { $0 })]))
                case .buy:
                    // The same intent sent again gets the same offers; each new one the next pair of ids.
                    let index = self.intents.withLock { intents in
                        if let known = intents.firstIndex(of: message.id!) { return known }
                        intents.append(message.id!)
                        return intents.count - 1
                    }
                    let (cheap, dear) = self.idPairs[min(index, self.idPairs.count - 1)]
                    return (
                        200,
                        self.vendor.replies(
                            to: body,
                            [
                                "#offer id:\(cheap) re:\(message.id!) price:900EUR item:Cheap terms:sd-base needs:name",
                                "#offer id:\(dear) re:\(message.id!) price:1500EUR item:Dear terms:sd-base needs:name,postal",
                            ])
                    )
                default: return (200, self.vendor.replies(to: body, []))
                }
            })
        }
    }

    @Test(
        "a counter answered with the id of the vendor's own dearer offer is refused, never merged; the offers stay as they were"
    )
    func counterAnsweredWithAnotherOffersID() async throws {
        let lying = try LyingVendor { intents in
            "#offer id:bbbbbbbb re:\(intents[0]) price:450EUR item:Dear terms:sd-base needs:name,postal"
        }
        let person = try await CLIPerson()
        try await withServer(lying.router) { url in
            _ = try await person.publish("#buy camera.mirrorless max:1300EUR terms:sd-base", toVendorAt: url)
            let countered = try await person.run("offer", "counter", "shop/aaaaaaaa", "--price", "450EUR")
            #expect(countered.status != 0)
            #expect(countered.stderr.contains("bbbbbbbb"), "\(countered.stderr)")
            #expect(!countered.stdout.contains("new offer"))
            let offers = try await person.json("offer", "list", "--all", "--json")
            let dear = offers.first { ($0["name"] as? String) == "shop/bbbbbbbb" }
            #expect(dear?["price"] as? String == "1500EUR")
            #expect(offers.first { ($0["name"] as? String) == "shop/aaaaaaaa" }?["state"] as? String == "open")
            #expect(offers.count == 2)
        }
    }

    @Test(
        "a counter of the default persona answered with the id of the work persona's offer is refused: no accept can send work's data"
    )
    func counterAnsweredWithAnotherPersonasOfferID() async throws {
        let lying = try LyingVendor { intents in
            "#offer id:cccccccc re:\(intents[0]) price:450EUR item:Cheap terms:sd-base needs:name"
        }
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await person.expectSuccess(
            "pref", "set", "name", "A. Lovelace (work)", "--persona", "work", "--share", "always")
        try await withServer(lying.router) { url in
            _ = try await person.publish("#buy camera.mirrorless max:1300EUR terms:sd-base", toVendorAt: url)
            let work = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base", persona: "work")
            try await person.expectSuccess("intent", "publish", work)
            let countered = try await person.run("offer", "counter", "shop/aaaaaaaa", "--price", "450EUR")
            #expect(countered.status != 0)
            #expect(countered.stderr.contains("cccccccc"), "\(countered.stderr)")
            let offers = try await person.json("offer", "list", "--all", "--json")
            let workOffer = offers.first { ($0["name"] as? String) == "shop/cccccccc" }
            #expect(workOffer?["intent"] as? String == work)
            #expect(workOffer?["price"] as? String == "900EUR")
        }
    }

    @Test(
        "an answer to a second intent reusing the first intent's offer ids is refused whole; two vendors may use one id"
    )
    func idsScopedPerVendorAndIntent() async throws {
        let reusing = try LyingVendor { _ in "" }
        let other = try LyingVendor { _ in "" }
        let person = try await CLIPerson()
        try await withServer(reusing.router) { url in
            try await withServer(other.router) { otherURL in
                try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
                try await person.expectSuccess("vendor", "add", otherURL, "--name", "other", "--yes")
                let first = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                try await person.expectSuccess("intent", "publish", first)
                // Both vendors chose aaaaaaaa and bbbbbbbb: ids are each vendor's own, so all four are kept.
                let names = Set(try await person.json("offer", "list", "--json").compactMap { $0["name"] as? String })
                #expect(names == ["shop/aaaaaaaa", "shop/bbbbbbbb", "other/aaaaaaaa", "other/bbbbbbbb"])
                // Published again, the same offers come back: duplicates, ignored without complaint.
                try await person.expectSuccess("intent", "publish", first, "--vendor", "shop")
                // A second and a third intent: the third's answer reuses the second's ids (cccccccc, dddddddd).
                let second = try await person.intent("#buy camera.mirrorless max:1200EUR terms:sd-base")
                try await person.expectSuccess("intent", "publish", second, "--vendor", "shop")
                let third = try await person.intent("#buy camera.mirrorless max:1100EUR terms:sd-base")
                let refused = try await person.run("intent", "publish", third, "--vendor", "shop", "--json")
                #expect(refused.status != 0)
                #expect(refused.stdout.contains("another of your intents"), "\(refused.stdout)")
                #expect(try await person.json("offer", "list", third, "--json").isEmpty)
                let kept = try await person.json("offer", "list", second, "--json")
                #expect(kept.count == 2 && kept.allSatisfy { $0["intent"] as? String == second })
            }
        }
    }

    @Test("a vendor removed and another added under its name gets its own intent id, never the first vendor's")
    func reusedVendorName() async throws {
        let (first, second) = (try TestVendor(), try TestVendor())
        let (firstReceived, secondReceived) = (Received(), Received())
        let person = try await CLIPerson()
        try await withServer(first.recordingRouter(firstReceived)) { firstURL in
            try await withServer(second.recordingRouter(secondReceived)) { secondURL in
                try await person.expectSuccess("vendor", "add", firstURL, "--name", "shop", "--yes")
                let intent = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                try await person.expectSuccess("intent", "publish", intent)
                try await person.expectSuccess("vendor", "rm", "shop", "--force")
                try await person.expectSuccess("vendor", "add", secondURL, "--name", "shop", "--yes")
                try await person.expectSuccess("intent", "publish", intent)
                let (a, b) = (try #require(firstReceived.messages.first), try #require(secondReceived.messages.first))
                #expect(a.id != b.id, "the two vendors could match the person by the intent's id")
                #expect(firstReceived.envelopes[0].sender != secondReceived.envelopes[0].sender)
                try await person.expectSuccess("intent", "withdraw", intent)
                #expect(secondReceived.messages.last?.kind == .withdraw)
                #expect(secondReceived.messages.last?.re == b.id)
                #expect(firstReceived.messages.count == 1, "the removed vendor hears nothing more")
            }
        }
    }

    @Test("a vault reached through symbolic links: no command writes onto its files, whichever path names them")
    func symlinkedVaultPaths() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        let folder = person.folder.path
        try await withServer(vendor.router()) { url in
            let intent = try await person.publish("#buy camera.mirrorless max:1300EUR terms:sd-base", toVendorAt: url)
            try await person.expectSuccess("offer", "accept", try await person.offer(for: intent), "--yes")
        }
        let dealID = try #require(try await lastDeal(person)["id"] as? String)
        let real = folder + "/vault"
        // A link to the vault file in another folder, and a link to the vault's folder.
        try FileManager.default.createDirectory(atPath: folder + "/links", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: folder + "/links/v.db", withDestinationPath: real + "/vault.db")
        try FileManager.default.createSymbolicLink(atPath: folder + "/folder-link", withDestinationPath: real)
        let before = try await person.expectSuccess("pref", "list")
        for vaultPath in [folder + "/links/v.db", folder + "/folder-link/vault.db", real + "/vault.db"] {
            var environment = person.environment
            environment["PROFFER_VAULT"] = vaultPath
            func run(_ arguments: String...) async throws -> ProfferProcess.Outcome {
                try await ProfferProcess.run(arguments, environment: environment)
            }
            // Every command that writes a file, aimed at the vault's journal through each name it has.
            for target in [real + "/vault.db-wal", folder + "/folder-link/vault.db-wal", real + "/vault.db"] {
                let attempts = [
                    try await run("audit", "report", "--html", target),
                    try await run("export", target, "--force"),
                    try await run("deal", "receipt", dealID, "--output", target),
                ]
                for outcome in attempts {
                    #expect(outcome.status != 0, "\(vaultPath) → \(target): \(outcome.stdout)")
                    #expect(outcome.stderr.contains("refusing"), "\(vaultPath) → \(target): \(outcome.stderr)")
                }
            }
            for target in [real, real + "/", folder + "/folder-link", folder + "/links/../vault"] {
                let written = try await run("audit", "export", "--format", "iso27560", target)
                #expect(written.status != 0, "\(vaultPath) → \(target)")
                #expect(written.stderr.contains("refusing"))
            }
            let checked = try await run("vault", "check")
            #expect(checked.status == 0, "\(checked.stdout) \(checked.stderr)")
        }
        #expect(try await person.expectSuccess("pref", "list").stdout == before.stdout)
        #expect(try await person.json("deal", "list", "--json").count == 1)
        // Elsewhere, through a link, writing still works.
        try FileManager.default.createDirectory(atPath: folder + "/reports", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: folder + "/reports-link", withDestinationPath: folder + "/reports")
        try await person.expectSuccess("audit", "report", "--html", folder + "/reports-link/report.html")
        #expect(FileManager.default.fileExists(atPath: folder + "/reports/report.html"))
    }

    @Test(
        "a deal's record damaged and left out by a salvage: every view still shows what the chain records, vendor rm is refused, and the deal can still be forgotten",
        arguments: Engine.allCases)
    func salvageKeepsWhatTheChainKnows(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try await CLIPerson()
        let folder = person.folder.path
        try await withServer(vendor.router()) { url in
            let (environment, dealID) = try await salvagedDeal(url: url, person: person)
            func run(_ arguments: String...) async throws -> ProfferProcess.Outcome {
                try await ProfferProcess.run(arguments, environment: environment)
            }
            #expect(try await run("deal", "list").stdout.contains(dealID) == false, "the record is gone")

            let holdings = try await run("holdings", "--json")
            let held = (try JSONSerialization.jsonObject(with: Data(holdings.stdout.utf8)) as? [[String: Any]]) ?? []
            #expect(Set(held.compactMap { $0["category"] as? String }) == ["name", "postal"])
            #expect(held.allSatisfy { $0["state"] as? String == "held" && $0["recordLost"] as? Bool == true })
            #expect(try await run("holdings").stdout.contains("record lost"))
            let due = try await run("due")
            #expect(due.stdout.contains("proffer deal forget \(dealID)"), "\(due.stdout)")
            #expect(try await run("vendor", "show", "shop").stdout.contains("postal"))
            let report = folder + "/report.html"
            #expect(try await run("audit", "report", "--html", report).status == 0)
            let page = try String(contentsOfFile: report, encoding: .utf8)
            #expect(!page.contains("No personal data was ever disclosed"))
            #expect(page.contains("record lost") && page.contains(dealID))
            try await expectHoldingsAgreeWithChain(environment)
            let removal = try await run("vendor", "rm", "shop")
            #expect(removal.status != 0)
            #expect(removal.stderr.contains("record lost"), "\(removal.stderr)")

            let forgot = try await run("deal", "forget", dealID, "--yes")
            #expect(forgot.status == 0, "\(forgot.stdout) \(forgot.stderr)")
            let deals = try await vendor.inbox.records.deals()
            #expect(deals.count == 1 && deals[0].state == .forgotten && deals[0].disclosed == nil)
            let after = try await run("holdings", "--json")
            #expect(after.stdout.contains("\"forgotten\"") && !after.stdout.contains("\"held\""))
            try await expectHoldingsAgreeWithChain(environment)
            #expect(try await run("vault", "check").status == 0)
            #expect(try await run("audit", "verify").status == 0)
            #expect(try await run("vendor", "rm", "shop").status == 0)
        }
    }

    @Test("a vendor whose profile's box key is 32 zero bytes is refused at vendor add, and nothing is pinned")
    func zeroBoxKey() async throws {
        let signer = try SigningKeyPair.generate()
        let sign = Base64URL.encode(signer.publicKey.bytes)
        let box = Base64URL.encode([UInt8](repeating: 0, count: 32))
        let ts = Timestamp.now.description
        let input = "proffer-profile/1\nZero\n\(sign)\n\(box)\nsd-base\ncamera\n\(ts)"
        let sig = Base64URL.encode(signer.signature(for: Array(input.utf8)))
        let profile =
            "{\"proffer\":1,\"name\":\"Zero\",\"sign\":\"\(sign)\",\"box\":\"\(box)\",\"terms\":[\"sd-base\"],"
            + "\"categories\":[\"camera\"],\"ts\":\"\(ts)\",\"sig\":\"\(sig)\"}"
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router(profile: Array(profile.utf8))) { url in
            let added = try await person.run("vendor", "add", url, "--name", "zero", "--yes")
            #expect(added.status != 0)
            #expect(added.stderr.contains("box key"), "\(added.stderr)")
            #expect(try await person.run("vendor", "list").stdout.contains("no vendors yet"))
        }
    }

    @Test("persona rm logs the end of each of its sharing rules, as pref rm does")
    func personaRemovalIsAudited() async throws {
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await person.expectSuccess("pref", "set", "name", "A. L.", "--persona", "work", "--share", "ask")
        try await person.expectSuccess(
            "pref", "set", "email", "a@work.example", "--persona", "work", "--share", "never")
        try await person.expectSuccess("persona", "rm", "work", "--yes")
        let removed = try await person.json("audit", "list", "--json").filter {
            $0["kind"] as? String == "preference-removed" && $0["persona"] as? String == "work"
        }
        #expect(Set(removed.compactMap { ($0["categories"] as? [String])?.first }) == ["name", "email"])
        #expect(removed.allSatisfy { ($0["note"] as? String)?.contains("persona work removed") == true })
        #expect(Set(removed.compactMap { $0["previousRule"] as? String }) == ["ask", "never"])
        #expect(try await person.expectSuccess("audit", "verify").status == 0)
    }

    @Test("every holdings view agrees with the audit chain: held, pending, forgotten, and with a vendor removed")
    func holdingsAgreeWithTheChain() async throws {
        let audited = try await AuditedPerson.made()
        try await expectHoldingsAgreeWithChain(audited.person.environment)
        try await audited.person.expectSuccess("vendor", "rm", "cameras", "--force")
        try await expectHoldingsAgreeWithChain(audited.person.environment)
    }

    /// A person with a confirmed deal with the vendor at `url` (added as `shop`), made by `persona`, whose deal record
    /// was then damaged (one byte flipped by someone with the file but not the passphrase) and left out by a salvage:
    /// the environment naming the restored vault, and the deal's id.
    func salvagedDeal(url: String, person: CLIPerson, persona: String = "default") async throws -> (
        environment: [String: String], deal: String
    ) {
        let folder = person.folder.path
        if persona != "default" {
            try await person.expectSuccess("persona", "add", persona)
            for (key, value) in [("name", "A. Lovelace (\(persona))"), ("postal", "1 Works Road")] {
                try await person.expectSuccess("pref", "set", key, value, "--persona", persona, "--share", "always")
            }
        }
        try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
        let intent = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base", persona: persona)
        try await person.expectSuccess("intent", "publish", intent)
        try await person.expectSuccess("offer", "accept", try await person.offer(for: intent), "--yes")
        let dealID = try #require(try await lastDeal(person)["id"] as? String)
        try await DatabaseQueue(path: folder + "/vault/vault.db").write { db in
            var sealed = [UInt8](try Data.fetchOne(db, sql: "SELECT sealed FROM deals LIMIT 1")!)
            sealed[40] ^= 0x01
            try db.execute(sql: "UPDATE deals SET sealed = ?", arguments: [Data(sealed)])
        }
        try await person.expectSuccess("export", folder + "/salvaged.proffer", "--salvage")
        var environment = person.environment
        environment["PROFFER_VAULT"] = folder + "/restored/vault.db"
        let imported = try await ProfferProcess.run(
            ["import", folder + "/salvaged.proffer", "--vault", folder + "/restored/vault.db"], environment: environment
        )
        #expect(imported.status == 0)
        return (environment, dealID)
    }

    @Test(
        "a lost deal's forget goes only to the very vendor and persona it was made with: found after a rename, refused for a newcomer"
    )
    func lostDealKeepsItsParties() async throws {
        let (vendor, newcomer) = (try TestVendor(), try TestVendor())
        let person = try await CLIPerson()
        let newcomerReceived = Received()
        try await withServer(vendor.router()) { url in
            try await withServer(newcomer.recordingRouter(newcomerReceived)) { newcomerURL in
                let (environment, dealID) = try await salvagedDeal(url: url, person: person, persona: "work")
                func run(_ arguments: String...) async throws -> ProfferProcess.Outcome {
                    try await ProfferProcess.run(arguments, environment: environment)
                }
                // Another vendor under the old name: the forget must not go to it, nor be taken as confirmed.
                #expect(try await run("vendor", "rm", "shop", "--force").status == 0)
                #expect(try await run("vendor", "add", newcomerURL, "--name", "shop", "--yes").status == 0)
                let wrongVendor = try await run("deal", "forget", dealID, "--yes")
                #expect(wrongVendor.status != 0)
                #expect(wrongVendor.stderr.contains("no longer in the vault"), "\(wrongVendor.stderr)")
                #expect(!newcomerReceived.messages.contains { $0.kind == .forget })
                #expect(try await run("holdings").stdout.contains("record lost"))
                #expect(try await run("deal", "list").stdout.contains(dealID) == false, "nothing was recovered")
                // The very vendor back (its keys), and the persona renamed: the forget reaches it, signed as work.
                #expect(try await run("vendor", "rm", "shop", "--force").status == 0)
                #expect(try await run("vendor", "add", url, "--name", "shop", "--yes").status == 0)
                #expect(try await run("persona", "rename", "work", "job").status == 0)
                let forgot = try await run("deal", "forget", dealID, "--yes")
                #expect(forgot.status != 0, "a vendor added again is another party: the person's key toward it is new")
                #expect(forgot.stderr.contains("no longer in the vault"))
                let deals = try await vendor.inbox.records.deals()
                #expect(deals.count == 1 && deals[0].state == .confirmed, "the vendor still holds it, and says so")
            }
        }
    }

    @Test("a lost deal's persona renamed since: the forget is signed by that persona's key, and the vendor deletes")
    func lostDealAfterPersonaRename() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let (environment, dealID) = try await salvagedDeal(url: url, person: person, persona: "work")
            func run(_ arguments: String...) async throws -> ProfferProcess.Outcome {
                try await ProfferProcess.run(arguments, environment: environment)
            }
            #expect(try await run("persona", "rename", "work", "job").status == 0)
            // A newcomer under the old name is another persona: it cannot speak for the deal.
            #expect(try await run("persona", "add", "work").status == 0)
            let forgot = try await run("deal", "forget", dealID, "--yes")
            #expect(forgot.status == 0, "\(forgot.stdout) \(forgot.stderr)")
            let deals = try await vendor.inbox.records.deals()
            #expect(deals.count == 1 && deals[0].state == .forgotten && deals[0].disclosed == nil)
            #expect(try await run("deal", "show", dealID).stdout.contains("job"))
        }
    }

    @Test("an offer id two vendors share is never picked silently; a name resolves to the vendor now holding it")
    func sharedOfferIDsAreAmbiguous() async throws {
        let (first, second, third) = (
            try LyingVendor { _ in "" }, try LyingVendor { _ in "" }, try LyingVendor { _ in "" }
        )
        let person = try await CLIPerson()
        try await withServer(first.router) { firstURL in
            try await withServer(second.router) { secondURL in
                try await person.expectSuccess("vendor", "add", firstURL, "--name", "shop", "--yes")
                try await person.expectSuccess("vendor", "add", secondURL, "--name", "other", "--yes")
                let intent = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                try await person.expectSuccess("intent", "publish", intent)
                let ambiguous = try await person.run("offer", "accept", "aaaaaaaa", "--yes")
                #expect(ambiguous.status == 65, "\(ambiguous.stderr)")
                #expect(ambiguous.stderr.contains("names 2 offers"))
                #expect(try await person.run("offer", "decline", "bbbbbbbb").status == 65)
                #expect(try await person.json("deal", "list", "--json").isEmpty)
                // shop removed, another vendor added as shop, answering with the same ids: shop/aaaaaaaa is its.
                try await person.expectSuccess("vendor", "rm", "shop", "--force")
                try await withServer(third.router) { thirdURL in
                    try await person.expectSuccess("vendor", "add", thirdURL, "--name", "shop", "--yes")
                    let again = try await person.intent("#buy camera.mirrorless max:1200EUR terms:sd-base")
                    try await person.expectSuccess("intent", "publish", again, "--vendor", "shop")
                    // The lying vendor answers no accept: what counts is which offer the accept was for.
                    _ = try await person.run("offer", "accept", "shop/aaaaaaaa", "--yes", "--timeout", "5")
                    let deal = try await lastDeal(person)
                    #expect(deal["intent"] as? String == again, "the new shop's open offer, not the old withdrawn one")
                }
            }
        }
    }

    @Test(
        "a path with .. after a symbolic link, and vaults named like journals or put in the state folder, are refused")
    func dotDotThroughALink() async throws {
        let person = try await CLIPerson()
        let folder = person.folder.path
        try await person.expectSuccess("pref", "set", "email", "ada@example.org")
        try FileManager.default.createDirectory(atPath: folder + "/vault/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/vault/sub")
        for name in ["vault.db-journal", "vault.db-wal", "vault.db-shm", "vault.db"] {
            let target = folder + "/link/../" + name
            for outcome in [
                try await person.run("audit", "report", "--html", target),
                try await person.run("export", target, "--force"),
            ] {
                #expect(outcome.status != 0, "\(target)")
                #expect(outcome.stderr.contains("refusing"), "\(target): \(outcome.stderr)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/vault/vault.db-journal"))
        try await person.expectSuccess("vault", "check")
        try await person.expectSuccess("export", folder + "/backup.proffer")
        let journal = try await person.run(
            "import", folder + "/backup.proffer", "--vault", folder + "/vault/vault.db-journal")
        #expect(journal.status != 0)
        #expect(journal.stderr.contains("journal"), "\(journal.stderr)")
        try FileManager.default.createSymbolicLink(
            atPath: folder + "/state-link", withDestinationPath: folder + "/state/proffer")
        let inState = try await person.run("import", folder + "/backup.proffer", "--vault", folder + "/state-link/n.db")
        #expect(inState.status != 0)
        #expect(inState.stderr.contains("state folder"), "\(inState.stderr)")
        try await person.expectSuccess("vault", "check")
    }

    @Test(
        "a key forgetting accepts without end fills only its own share: past 200 remembered, a forget is refused (429)",
        arguments: Engine.allCases)
    func forgottenAcceptsPerSender(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let intent = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        #expect(intent.replies.count == 2)
        for _ in 0..<VendorLimits.forgottenAcceptsPerSender {
            let forget = await TestVendor.send(
                "#forget id:\(MessageID.random()) re:\(MessageID.random())", from: person, to: vendor)
            #expect(forget.status == 200)
        }
        let refused = await TestVendor.send(
            "#forget id:\(MessageID.random()) re:\(MessageID.random())", from: person, to: vendor)
        #expect(refused.status == 429)
        #expect(refused.replies.isEmpty, "a forget not remembered is not confirmed")
    }
}
