import Foundation
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// A newcomer's first week (issue 21): every silence explained, nothing lost by habit, text that says what is true.
@Suite("A newcomer's first week, through the CLI", .serialized)
struct FirstWeekTests {
    @Test(
        "an intent no item answers gets one decline saying what the vendor lacks, and publish shows it",
        arguments: Engine.allCases)
    func silenceExplained(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            for (intent, why) in [
                ("#buy camera.mirrorless max:100EUR in:DE terms:sd-base", "the lowest price is 1149EUR"),
                ("#buy camera.mirrorless max:1300EUR in:GB terms:sd-base", "does not serve GB"),
                ("#buy camera.mirrorless max:1300GBP in:DE terms:sd-base", "prices are in EUR"),
                ("#buy camera.compact max:1300EUR in:DE terms:sd-base", "no items in camera.compact"),
            ] {
                let id = try await person.intent(intent)
                let published = try await person.expectSuccess("intent", "publish", id)
                #expect(published.stdout.contains("no offer: "), "\(published.stdout)")
                #expect(published.stdout.contains(why), "\(intent): \(published.stdout)")
                let listed = try await person.expectSuccess("offer", "list", id)
                #expect(!listed.stdout.contains("publish"), "nothing suggests publishing it again: \(listed.stdout)")
                #expect(listed.stdout.contains("vendors that made no offer") && listed.stdout.contains(why))
            }
            let draft = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
            let hint = try await person.expectSuccess("offer", "list", draft)
            #expect(hint.stdout.contains("proffer intent publish \(draft)"), "\(hint.stdout)")
        }
    }

    @Test("a copy of vault.db alone, made between commands, is the whole vault")
    func fileAloneIsTheVault() async throws {
        let person = try CLIPerson(bare: ())
        for number in 0..<40 { try person.proffer(["pref", "set", "email", "ada\(number)@example.org"]) }
        let copy = person.folder.path + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: person.path, toPath: copy + "/vault.db")
        let listed = try person.proffer(
            ["pref", "get", "email"],
            environment: ["PROFFER_VAULT": copy + "/vault.db", "XDG_STATE_HOME": copy + "/state"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout == "ada39@example.org\n")
    }

    @Test(
        "text that says what is true: vault-wide settings, the birthdate's limit, a category's common name, vendor add, counter"
    )
    func truthfulText() async throws {
        let person = try await CLIPerson()
        let listed = try await person.expectSuccess("pref", "list")
        let timeoutRow = listed.stdout.split(separator: "\n").first { $0.contains("publish.timeout") }
        #expect(timeoutRow?.hasPrefix("(vault)") == true, "\(listed.stdout)")
        let old = try await person.run("pref", "set", "birthdate", "1815-12-10")
        #expect(old.status == 65)
        #expect(old.stderr.contains("from 1900-01-01 on"), "\(old.stderr)")
        let unknown = try await person.run("holdings", "--category", "adress")
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("did you mean postal?"), "\(unknown.stderr)")
        let misspelt = try await person.run("pref", "set", "address", "1 Main St")
        #expect(misspelt.stderr.contains("did you mean postal?"), "\(misspelt.stderr)")
        let vendor = try TestVendor()
        try await withServer(vendor.router()) { url in
            let added = try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            #expect(added.stdout.hasPrefix("added vendor shop\n"), "\(added.stdout)")
            #expect(!added.stdout.contains("ADDED"))
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
            try await person.expectSuccess("intent", "publish", id)
            let offer = try await person.offer(for: id)
            let prefix = String(offer.prefix(8))
            let countered = try await person.expectSuccess("offer", "counter", prefix, "--price", "1100EUR")
            #expect(countered.stdout.contains("(replaces \(offer))"), "\(countered.stdout)")
        }
    }

    @Test(
        "one convention: a finished forget asked again says so and exits 0; a report refuses an existing file without --force"
    )
    func conventions() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(toVendorAt: url)
            let offer = try await person.offer(for: id)
            try await person.expectSuccess("offer", "accept", offer, "--yes")
            let deal = try #require(try await person.json("deal", "list", "--json").last?["id"] as? String)
            // Before the goods arrived, a forget would delete the address they go to: it asks first.
            let early = try await person.run("deal", "forget", deal)
            #expect(early.status == 1)
            #expect(early.stderr.contains("not marked arrived") && early.stderr.contains("--yes"), "\(early.stderr)")
            #expect(try await vendor.inbox.records.deals().first?.state == .confirmed, "nothing was sent")
            try await person.expectSuccess("deal", "received", deal)
            try await person.expectSuccess("deal", "forget", deal)
            let again = try await person.expectSuccess("deal", "forget", deal)
            #expect(again.stdout.contains("already confirmed"), "\(again.stdout)")
        }
        let report = person.folder.path + "/report.html"
        try await person.expectSuccess("audit", "report", "--html", report)
        let refused = try await person.run("audit", "report", "--html", report)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--force"))
        try await person.expectSuccess("audit", "report", "--html", report, "--force")
    }

    @Test(
        "a second look: quantities show with their total, counters speak the offer's currency and say what was not met, typos get hints"
    )
    func secondLook() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        let glued = try await person.expectSuccess(
            "intent", "new", "#buy camera.mirrorless maxprice:1200EUR in:DE terms:sd-base")
        #expect(glued.stderr.contains("did you mean the field max:?"), "\(glued.stderr)")
        let kingdom = try await person.run("intent", "new", "#buy camera max:900EUR in:UK")
        #expect(kingdom.status == 65 && kingdom.stderr.contains("the United Kingdom is GB"), "\(kingdom.stderr)")
        // The relays public intents are cast to: 1 to 3, wss:// or ws:// to this machine, the same for every intent.
        try await person.expectSuccess("pref", "set", "nostr.relays", "wss://relay.example, ws://127.0.0.1:7447")
        let relays = try await person.expectSuccess("pref", "list")
        #expect(relays.stdout.contains("wss://relay.example,ws://127.0.0.1:7447"), "\(relays.stdout)")
        for bad in [
            "ws://relay.example", "https://relay.example", "wss://a.example,wss://a.example", "",
            "wss://a.example,wss://b.example,wss://c.example,wss://d.example",
        ] {
            let refused = try await person.run("pref", "set", "nostr.relays", bad)
            #expect(refused.status != 0 && refused.stderr.contains("1 to 3 Nostr relays"), "\(bad): \(refused.stderr)")
        }
        let terms = try await person.run("pref", "set", "terms.default", "sd-basic")
        #expect(terms.status != 0 && terms.stderr.contains("did you mean sd-base?"), "\(terms.stderr)")
        let change = try await person.run("passphrase", "change")
        #expect(change.status != 0 && change.stderr.contains("--new-passphrase-file"), "\(change.stderr)")
        chmod(person.passphraseFile, 0o644)
        let exposed = try await person.expectSuccess("intent", "list")
        #expect(exposed.stderr.contains("other users can read or change the passphrase file"), "\(exposed.stderr)")
        chmod(person.passphraseFile, 0o600)
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(toVendorAt: url)
            // A bare amount takes the offer's currency (EUR here, whatever currency.default says).
            try await person.expectSuccess("pref", "set", "currency.default", "GBP")
            let countered = try await person.expectSuccess(
                "offer", "counter", try await person.offer(for: id), "--price", "1100", "--qty", "2", "--eta", "1d")
            #expect(countered.stdout.contains("1100EUR × 2 = 2200EUR"), "\(countered.stdout)")
            #expect(countered.stdout.contains("not what you asked: you proposed eta 1d"), "\(countered.stdout)")
            let listed = try await person.json("offer", "list", "--json").first { $0["qty"] as? Int == 2 }
            let offer = try #require(listed?["name"] as? String)
            let accepted = try await person.expectSuccess("offer", "accept", offer, "--yes")
            #expect(accepted.stdout.contains("1100EUR × 2 = 2200EUR"), "\(accepted.stdout)")
            let deal = try #require(try await person.json("deal", "list", "--json").last)
            #expect(deal["quantity"] as? Int == 2 && deal["total"] as? String == "2200EUR", "\(deal)")
            let shown = try await person.expectSuccess("deal", "show", deal["id"] as! String)
            #expect(shown.stdout.contains("1100EUR × 2 = 2200EUR"))
        }
    }

    @Test(
        "a third look: a budget below the price but above the floor gets an offer at the budget, kinds a vendor does not answer are said, price words and a thousands dot are warned about"
    )
    func thirdLook() async throws {
        let vendor = try TestVendor(
            catalogJSON: cameraCatalogJSON.replacingOccurrences(
                of: #""regions""#, with: #""kinds": ["buy"], "regions""#, options: [], range: nil))
        let person = try await CLIPerson()
        let under = try await person.expectSuccess("intent", "new", "#buy camera.mirrorless under:1300EUR in:DE")
        #expect(under.stderr.contains("under: is kept as an attribute") && under.stderr.contains("max:?"))
        let dotted = try await person.expectSuccess("intent", "new", "#buy camera.mirrorless max:1.200EUR in:DE")
        #expect(dotted.stderr.contains("is read as 1.2EUR"), "\(dotted.stderr)")
        try await person.expectSuccess("pref", "set", "currency.default", "EUR")
        let spaced = try await person.run("intent", "new", "#buy camera max:1200 EUR")
        #expect(spaced.status == 65 && spaced.stderr.contains("without a space, like 1200EUR"), "\(spaced.stderr)")
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(
                "#buy camera.mirrorless max:1100EUR in:DE terms:sd-base", toVendorAt: url)
            let offers = try await person.json("offer", "list", id, "--json")
            #expect(offers.count == 1, "the X-T5's floor is 1079EUR; the Z6's price is its floor")
            #expect(offers.first?["price"] as? String == "1100EUR", "\(offers)")
            let rent = try await person.intent("#rent camera.mirrorless max:50EUR in:DE terms:sd-base")
            let published = try await person.expectSuccess("intent", "publish", rent)
            #expect(published.stdout.contains("answers #buy, not #rent"), "\(published.stdout)")
        }
    }

    @Test(
        "no dead ends: a vendor removed with --force and added again can still be asked to forget; reasons come at once"
    )
    func forgetAfterVendorAddedAgain() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(toVendorAt: url)
            try await person.expectSuccess("offer", "accept", try await person.offer(for: id), "--yes")
            let deal = try #require(try await person.json("deal", "list", "--json").last?["id"] as? String)
            try await person.expectSuccess(
                "intent", "publish", try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base"))
            let refused = try await person.run("vendor", "rm", "shop")
            #expect(refused.stderr.contains("may still hold your data") && refused.stderr.contains("published intents"))
            let forced = try await person.expectSuccess("vendor", "rm", "shop", "--force")
            #expect(forced.stderr.contains("only once you add it again"), "\(forced.stderr)")
            #expect(try await person.json("deal", "list", "--json").last?["vendor"] as? String == "shop (removed)")
            let gone = try await person.run("deal", "forget", deal, "--yes")
            #expect(gone.status != 0 && gone.stderr.contains("add it again"), "\(gone.stderr)")
            // The very vendor back, under another name: recognised by its key, it gets the forget signed as before.
            try await person.expectSuccess("vendor", "add", url, "--name", "shop2", "--yes")
            try await person.expectSuccess("deal", "forget", deal, "--yes")
            let deals = try await vendor.inbox.records.deals()
            #expect(deals.count == 1 && deals[0].state == .forgotten && deals[0].disclosed == nil)
        }
    }

    @Test("no dead ends: a persona removed while a vendor holds its data can still ask that vendor to forget")
    func forgetAfterPersonaRemoved() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "gifts")
        try await person.expectSuccess("pref", "set", "name", "Grace Hopper", "--share", "always", "--persona", "gifts")
        try await person.expectSuccess(
            "pref", "set", "postal", "1 Harbour Road, Kiel", "--share", "always", "--persona", "gifts")
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", persona: "gifts")
            try await person.expectSuccess("intent", "publish", id)
            try await person.expectSuccess("offer", "accept", try await person.offer(for: id), "--yes")
            let deal = try #require(try await person.json("deal", "list", "--json").last?["id"] as? String)
            // Refused, naming the data held as well as what else keeps the persona in use.
            let refused = try await person.run("persona", "rm", "gifts", "--yes")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("may still hold its data") && refused.stderr.contains(deal))
            #expect(refused.stderr.contains("still works"), "\(refused.stderr)")
            try await person.expectSuccess("persona", "rm", "gifts", "--force", "--yes")
            // A newcomer under the old name is another persona; the deal is still signed as the one that made it.
            try await person.expectSuccess("persona", "add", "gifts")
            #expect(try await person.json("deal", "list", "--json").last?["persona"] as? String == "gifts (removed)")
            try await person.expectSuccess("persona", "rename", "gifts", "presents")
            #expect(try await person.json("deal", "list", "--json").last?["persona"] as? String == "gifts (removed)")
            try await person.expectSuccess("persona", "rename", "presents", "gifts")
            try await person.expectSuccess("deal", "received", deal)
            let forgot = try await person.expectSuccess("deal", "forget", deal, "--yes")
            #expect(forgot.stdout.contains("confirmed it deleted name, postal"), "\(forgot.stdout)")
            let deals = try await vendor.inbox.records.deals()
            #expect(deals.count == 1 && deals[0].state == .forgotten && deals[0].disclosed == nil)
            try await person.expectSuccess("persona", "rm", "gifts", "--yes")
            try await person.expectSuccess("vendor", "rm", "shop")
        }
    }

    @Test(
        "no dead ends: a vendor holding published intents is not removed silently, and the intents keep their history")
    func vendorRemovedWithOpenIntents() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(toVendorAt: url)
            let refused = try await person.run("vendor", "rm", "shop")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("published intents \(id) open"), "\(refused.stderr)")
            let forced = try await person.expectSuccess("vendor", "rm", "shop", "--force")
            #expect(forced.stderr.contains("open until they lapse"), "\(forced.stderr)")
            // The removed vendor cannot be told; that is said once, and not as something to retry.
            let withdrawn = try await person.expectSuccess("intent", "withdraw", id)
            #expect(withdrawn.stdout.contains("shop (removed)") && withdrawn.stdout.contains("cannot be told"))
            #expect(!withdrawn.stdout.contains("again"), "\(withdrawn.stdout)")
            // Another vendor under the freed name is not taken for the one that got the intent.
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let shown = try await person.json("intent", "list", "--json").first { $0["id"] as? String == id }
            #expect(shown?["sentTo"] as? [String] == ["shop (removed)"], "\(String(describing: shown))")
            let again = try await person.run("intent", "withdraw", id)
            #expect(again.status != 0 && again.stderr.contains("already withdrawn"), "\(again.stderr)")
        }
    }

    @Test(
        "no dead ends: a persona whose intents vendors hold open is refused, or withdrawn first with --force; removing asks"
    )
    func personaWithOpenIntents() async throws {
        let vendor = try TestVendor()
        let received = Received()
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await withServer(vendor.recordingRouter(received)) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", persona: "work")
            try await person.expectSuccess("intent", "publish", id)
            let refused = try await person.run("persona", "rm", "work", "--yes")
            #expect(refused.status == 1)
            #expect(
                refused.stderr.contains("published intents open") && refused.stderr.contains(id), "\(refused.stderr)")
            let unasked = try await person.run("persona", "rm", "work", "--force")
            #expect(unasked.status == 1, "no terminal to ask on, and no --yes")
            #expect(unasked.stderr.contains("--yes"))
            #expect(!received.messages.contains { $0.kind == .withdraw }, "nothing was withdrawn without the yes")
            try await person.expectSuccess("persona", "rm", "work", "--force", "--yes")
            #expect(received.messages.last?.kind == .withdraw)
            #expect(try await person.json("intent", "list", "--json").first?["state"] as? String == "withdrawn")
            #expect(try await person.run("intent", "withdraw", id).status != 0, "withdrawn, and every vendor told")
        }
    }

    @Test(
        "no dead ends: a draft can be removed, a published intent cannot; a vendor that moved keeps its keys at a new URL"
    )
    func draftsAndMovedVendors() async throws {
        let vendor = try TestVendor()
        let other = try TestVendor()
        let person = try await CLIPerson()
        let draft = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
        try await person.expectSuccess("intent", "rm", draft)
        #expect(try await person.json("intent", "list", "--json").isEmpty)
        try await withServer(vendor.router()) { url in
            try await withServer(vendor.router()) { movedURL in
                try await withServer(other.router()) { otherURL in
                    try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
                    let published = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
                    try await person.expectSuccess("intent", "publish", published)
                    let kept = try await person.run("intent", "rm", published)
                    #expect(kept.status == 1)
                    #expect(kept.stderr.contains("proffer intent withdraw \(published)"), "\(kept.stderr)")
                    let impostor = try await person.run("vendor", "set-url", "shop", otherURL)
                    #expect(impostor.status == 1)
                    #expect(impostor.stderr.contains("presents another signing key"), "\(impostor.stderr)")
                    try await person.expectSuccess("vendor", "set-url", "shop", movedURL)
                    let shown = try await person.expectSuccess("vendor", "show", "shop")
                    #expect(shown.stdout.contains(movedURL))
                    try await person.expectSuccess("intent", "withdraw", published)
                    // A vendor that told you it moved and changed its keys: repin at the new URL moves it there.
                    #expect(impostor.stderr.contains("vendor repin shop --url \(otherURL)"), "\(impostor.stderr)")
                    let repinned = try await person.expectSuccess("vendor", "repin", "shop", "--url", otherURL, "--yes")
                    #expect(repinned.stdout.contains("now at \(otherURL)"), "\(repinned.stdout)")
                    let moved = try await person.json("vendor", "list", "--json").first
                    #expect(moved?["url"] as? String == otherURL)
                }
            }
        }
    }

    @Test("offer list shows, for each category an offer needs, whether the intent's persona shares it or lacks it")
    func canIAccept() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await person.expectSuccess("pref", "set", "name", "A. L.", "--persona", "work", "--share", "never")
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let home = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
            let work = try await person.intent(
                "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", persona: "work")
            try await person.expectSuccess("intent", "publish", home)
            try await person.expectSuccess("intent", "publish", work)
            let listed = try await person.json("offer", "list", "--json")
            let homeXT5 = listed.first { $0["intent"] as? String == home && $0["item"] as? String == "X-T5 body" }
            let workXT5 = listed.first { $0["intent"] as? String == work && $0["item"] as? String == "X-T5 body" }
            #expect(homeXT5?["sharing"] as? [String: String] == ["name": "always", "postal": "always"])
            #expect(workXT5?["sharing"] as? [String: String] == ["name": "never", "postal": "missing"])
            let table = try await person.expectSuccess("offer", "list", work)
            #expect(table.stdout.contains("name (never), postal (missing)"), "\(table.stdout)")
        }
    }

    @Test("due never proposes an accept that would be refused without saying what to change first")
    func dueSaysWhatToChange() async throws {
        let vendor = try TestVendor(
            catalogJSON: cameraCatalogJSON.replacingOccurrences(
                of: "\"offerValidity\": \"2d\"", with: "\"offerValidity\": \"12h\""))
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await person.expectSuccess("pref", "set", "name", "A. L.", "--persona", "work", "--share", "always")
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let work = try await person.intent(
                "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", persona: "work")
            try await person.expectSuccess("intent", "publish", work)
            let due = try await person.json("due", "--json").filter { $0["kind"] as? String == "offer-expiring" }
            let xt5 = due.first { ($0["what"] as? String)?.contains("set your postal") == true }
            #expect(xt5?["command"] as? String == "proffer pref set postal VALUE --persona work --share ask", "\(due)")
            let z6 = due.first { ($0["what"] as? String)?.contains("first") == false }
            #expect((z6?["command"] as? String)?.hasPrefix("proffer offer accept shop/") == true, "\(due)")
        }
    }

    @Test(
        "the vocabulary comes from the tool: unregistered terms, unserved categories and near misses are warned about")
    func vocabularyWarnings() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        let terms = try await person.expectSuccess("intent", "new", "#buy camera max:900EUR in:DE terms:sd-basic")
        #expect(
            terms.stderr.contains("terms sd-basic are not registered") && terms.stderr.contains("did you mean sd-base?")
        )
        let replied = try await person.run(
            "intent", "new",
            "#buy camera max:900EUR reply:nostr:npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg")
        #expect(replied.status == 64 && replied.stderr.contains("Remove the reply: field"), "\(replied.stderr)")
        try await withServer(vendor.router()) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let unserved = try await person.expectSuccess("intent", "new", "#buy camra max:900EUR in:DE terms:sd-base")
            #expect(
                unserved.stderr.contains("none of your vendors serves camra (did you mean camera?)"),
                "\(unserved.stderr)")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
            try await person.expectSuccess("intent", "publish", id)
            let shown = try await person.expectSuccess("vendor", "show", "shop")
            #expect(shown.stdout.contains("offered in     camera.mirrorless"), "\(shown.stdout)")
            let categories = try await person.json("vendor", "categories", "--json")
            let camera = categories.first { $0["category"] as? String == "camera" }
            #expect(camera?["vendors"] as? [String] == ["shop"], "\(categories)")
            #expect(camera?["offeredIn"] as? [String] == ["camera.mirrorless"], "\(categories)")
            let table = try await person.expectSuccess("vendor", "categories")
            #expect(table.stdout.hasPrefix("CATEGORY"), "\(table.stdout)")
            let typo = try await person.expectSuccess(
                "intent", "new", "#buy camera.mirorless max:1300EUR in:DE terms:sd-base")
            #expect(typo.stderr.contains("did you mean camera.mirrorless?"), "\(typo.stderr)")
            let fine = try await person.expectSuccess(
                "intent", "new", "#buy camera.mirrorless max:1200EUR in:DE terms:sd-base")
            #expect(!fine.stderr.contains("warning"), "\(fine.stderr)")
        }
    }

    @Test("shell completion offers ids and names from the vault only when a passphrase file is configured")
    func completion() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await withServer(vendor.router()) { url in
            let id = try await person.publish(toVendorAt: url)
            let intents = try await person.run(
                "---completion", "intent", "withdraw", "--", "positional@0", "0", "1", String(id.prefix(1)))
            #expect(intents.stdout.split(separator: "\n").map(String.init) == [id], "\(intents.stdout)")
            let offers = try await person.run("---completion", "offer", "accept", "--", "positional@0", "0", "2", "sh")
            #expect(offers.stdout.split(separator: "\n").count == 2 && offers.stdout.hasPrefix("shop/"))
            let vendors = try await person.run("---completion", "vendor", "show", "--", "positional@0", "0", "0", "")
            #expect(vendors.stdout == "shop\n")
            // Without a passphrase file the vault stays shut: nothing is offered, and nothing is asked.
            var environment = person.environment
            environment["PROFFER_PASSPHRASE_FILE"] = nil
            let shut = try await ProfferProcess.run(
                ["---completion", "vendor", "show", "--", "positional@0", "0", "0", ""], environment: environment)
            #expect(shut.status == 0 && shut.stdout.isEmpty)
        }
    }
}
