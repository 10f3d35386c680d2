import Foundation
import Hummingbird
import NIOCore
import ProfferAgent
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Synchronization
import Testing

@testable import ProfferTestSupport

@Suite("Negotiation promises, through the CLI, against vendors on 127.0.0.1", .serialized)
struct PromisesCLITests {
    @Test("an intent made for persona work discloses work's data, under work's key; the deal says persona work")
    func personas() async throws {
        let vendor = try TestVendor()
        let received = Received()
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "work")
        try await person.expectSuccess(
            "pref", "set", "name", "A. Lovelace (work)", "--persona", "work", "--share", "always")
        try await person.expectSuccess(
            "pref", "set", "postal", "1 Works Road", "--persona", "work", "--share", "always")
        try await withServer(vendor.recordingRouter(received)) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let home = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            let work = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base", persona: "work")
            try await person.expectSuccess("intent", "publish", home)
            try await person.expectSuccess("intent", "publish", work)
            let offer = try await person.json("offer", "list", work, "--json").first {
                ($0["item"] as? String) == "X-T5 body"
            }
            try await person.expectSuccess("offer", "accept", offer!["name"] as! String, "--yes")

            let deals = try await vendor.inbox.records.deals()
            #expect(deals.count == 1)
            #expect(deals[0].disclosed?.contains("A. Lovelace (work)") == true)
            #expect(deals[0].disclosed?.contains("Ada Lovelace") == false)
            #expect(!vendor.folder.rawBytes().contains("Ada Lovelace"))
            let shown = try await person.expectSuccess("deal", "show", deals[0].acceptID)
            #expect(shown.stdout.contains("persona         work"))
            // The two intents came from two keys: the vendor cannot tell they are one person's.
            let intents = received.envelopes.filter { $0.envelope.msg.hasPrefix("#buy") }
            #expect(intents.count == 2)
            #expect(intents[0].sender != intents[1].sender)
            let accept = received.envelopes.first { $0.envelope.msg.hasPrefix("#accept") }!
            #expect(accept.sender == intents[1].sender)

            let refused = try await person.run("persona", "rm", "work", "--yes")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("still in use") && refused.stderr.contains("may still hold its data"))
            try await person.expectSuccess("persona", "rename", "work", "office")
            let list = try await person.json("deal", "list", "--json")
            #expect(list.first?["persona"] as? String == "office")
            // Renamed, the persona keeps its key: the forget is signed as the accept was.
            try await person.expectSuccess("deal", "forget", deals[0].acceptID, "--yes")
            let forget = received.envelopes.first { $0.envelope.msg.hasPrefix("#forget") }!
            #expect(forget.sender == accept.sender)
            try await person.expectSuccess("persona", "rm", "office", "--yes")
        }
    }

    @Test("every vendor gets its own intent id and withdraw id; they share only the intent's content")
    func unlinkable() async throws {
        let first = try TestVendor()
        let second = try TestVendor()
        let (firstReceived, secondReceived) = (Received(), Received())
        let person = try await CLIPerson()
        try await withServer(first.recordingRouter(firstReceived)) { firstURL in
            try await withServer(second.recordingRouter(secondReceived)) { secondURL in
                try await person.expectSuccess("vendor", "add", firstURL, "--name", "first", "--yes")
                try await person.expectSuccess("vendor", "add", secondURL, "--name", "second", "--yes")
                let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                try await person.expectSuccess("intent", "publish", id)
                let a = firstReceived.messages[0]
                let b = secondReceived.messages[0]
                #expect(a.id != b.id)
                #expect(a.id?.description != id && b.id?.description != id)
                var (aWithoutID, bWithoutID) = (a, b)
                (aWithoutID.id, bWithoutID.id) = (nil, nil)
                #expect(aWithoutID.canonicalForm == bWithoutID.canonicalForm)
                #expect(firstReceived.envelopes[0].sender != secondReceived.envelopes[0].sender)
                #expect(firstReceived.envelopes[0].envelope.nonce != secondReceived.envelopes[0].envelope.nonce)

                try await person.expectSuccess("intent", "publish", id, "--vendor", "first", "--vendor", "FIRST")
                #expect(firstReceived.messages.count == 2, "one resend, not two")
                #expect(firstReceived.messages[1].id == a.id, "a resend keeps the vendor's id")
                try await person.expectSuccess("intent", "withdraw", id)
                let withdrawA = firstReceived.messages.last!
                let withdrawB = secondReceived.messages.last!
                #expect(withdrawA.kind == .withdraw && withdrawB.kind == .withdraw)
                #expect(withdrawA.re == a.id && withdrawB.re == b.id)
                #expect(withdrawA.id != withdrawB.id)
                let again = try await person.run("intent", "withdraw", id)
                #expect(again.status == 1)
                #expect(again.stderr.contains("already withdrawn"))
                #expect(firstReceived.messages.count == 3 && secondReceived.messages.count == 2, "nothing sent again")
            }
        }
    }

    @Test("defaults fill what an intent leaves out; settings and values are checked by category")
    func defaultsAndValues() async throws {
        let person = try await CLIPerson()
        try await person.expectSuccess("pref", "set", "terms.default", "sd-base")
        try await person.expectSuccess("pref", "set", "currency.default", "eur")
        try await person.expectSuccess("pref", "set", "region.default", "DE")
        let made = try await person.expectSuccess("intent", "new", "#buy camera.mirrorless max:500")
        #expect(made.stdout.contains("max:500EUR in:DE terms:sd-base"))
        let explicit = try await person.expectSuccess("intent", "new", "#buy lens min:20USD in:FR terms:pdc-intent")
        #expect(explicit.stdout.contains("min:20USD in:FR terms:pdc-intent"))
        let past = try await person.run("intent", "new", "#buy lens by:2020-01-01")
        #expect(past.status == 65)
        #expect(past.stderr.contains("has passed"))
        for (key, value) in [
            ("email", "not-an-address"), ("birthdate", "1990-02-30"), ("age", "old"), ("location", "XX"),
            ("language", "en_US"), ("phone", "call me"), ("colour.default", "blue"),
        ] {
            let refused = try await person.run("pref", "set", key, value)
            #expect(refused.status == 65, "\(key)=\(value) was accepted")
        }
        for (key, value) in [
            ("terms.default", "sd-base,sd-base"), ("terms.default", "bogus-term"), ("language", "xx-YY-zz"),
        ] {
            #expect(try await person.run("pref", "set", key, value).status == 65, "\(key)=\(value) was accepted")
        }
        let perPersona = try await person.run("pref", "set", "publish.timeout", "5", "--persona", "default2")
        #expect(perPersona.status == 65)
        let misspelt = try await person.run("pref", "set", "emial", "ada@example.org")
        #expect(misspelt.stderr.contains("did you mean email?"))
        try await person.expectSuccess("pref", "set", "language", "zh-hant-tw")
        #expect(try await person.expectSuccess("pref", "get", "language").stdout == "zh-Hant-TW\n")
        try await person.expectSuccess("pref", "set", "language", "DE-ch")
        #expect(try await person.expectSuccess("pref", "get", "language").stdout == "de-CH\n")
        try await person.expectSuccess("pref", "set", "postal", "--share", "ask")
        let list = try await person.json("pref", "list", "--json")
        let postal = list.first { $0["key"] as? String == "postal" }
        #expect(postal?["share"] as? String == "ask")
        #expect(postal?["value"] as? String == "12 Example Street, Berlin")
        try await person.expectSuccess("pref", "rm", "postal")
        let audit = try await person.json("audit", "list", "--json")
        #expect(audit.last?["kind"] as? String == "preference-removed")
    }

    @Test("an offer adding a term is marked; accepting it needs --agree-terms naming it, never just --yes")
    func addedTerms() async throws {
        let vendor = try TestVendor()
        let received = Received()
        let person = try await CLIPerson()
        let router = vendor.router(inbox: { body in
            received.append(body)
            let message = try! Message.parse(Envelope.decode(json: body).envelope.msg)
            switch message.kind {
            case .accept:
                return (200, vendor.replies(to: body, ["#confirm id:cccccccc re:\(message.id!)"]))
            default:
                return (
                    200,
                    vendor.replies(
                        to: body,
                        ["#offer id:aaaaaaaa re:\(message.id!) price:900EUR terms:sd-base,sd-base-s3p needs:name"])
                )
            }
        })
        try await withServer(router) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            try await person.expectSuccess("intent", "publish", id)
            let listed = try await person.expectSuccess("offer", "list")
            #expect(listed.stdout.contains("adds terms sd-base-s3p"))
            let refused = try await person.run("offer", "accept", "shop/aaaaaaaa", "--yes")
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("--agree-terms sd-base-s3p"))
            #expect(!received.messages.contains { $0.kind == .accept })
            let notAdded = try await person.run(
                "offer", "accept", "shop/aaaaaaaa", "--yes", "--agree-terms", "sd-base-s3p,pdc-good")
            #expect(notAdded.status == 1)
            #expect(notAdded.stderr.contains("does not add that term"))
            try await person.expectSuccess("offer", "accept", "shop/aaaaaaaa", "--yes", "--agree-terms", "sd-base-s3p")
            let accept = received.messages.first { $0.kind == .accept }!
            #expect(accept.terms.map { $0.map(\.description) } == ["sd-base", "sd-base-s3p"])
        }
    }

    @Test("transport: https or this machine only; a changed box key or an older profile is a key change")
    func transport() async throws {
        let person = try await CLIPerson()
        let plain = try await person.run("vendor", "add", "http://shop.example.org", "--yes")
        #expect(plain.status == 1)
        #expect(plain.stderr.contains("--allow-http"))
        let vendor = try TestVendor()
        let other = try BoxKeyPair.generate()
        let profile = Mutex<[UInt8]?>(nil)
        let router = Router()
        let inbox = vendor.inbox
        router.get("profile") { _, _ in
            Response(
                status: .ok,
                body: .init(byteBuffer: ByteBuffer(bytes: profile.withLock { $0 } ?? inbox.profile.jsonBytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let answer = await inbox.handle(body: body)
            return Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        try await withServer(router) { url in
            let unconfirmed = try await person.run("vendor", "add", url, "--name", "shop")
            #expect(unconfirmed.status == 1, "no terminal to confirm on, and no --yes")
            #expect(unconfirmed.stderr.contains(fingerprint(of: inbox.profile.signingKey)))
            #expect(unconfirmed.stderr.contains("--yes"))
            #expect(try await person.run("vendor", "list").stdout.contains("no vendors yet"))
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let listed = try await person.expectSuccess("vendor", "list")
            #expect(listed.stdout.contains("http (this machine)"))
            let twice = try await person.run("vendor", "add", url + "/", "--name", "again", "--yes")
            #expect(twice.status == 65)
            #expect(twice.stderr.contains("already known as vendor shop"))
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")

            profile.withLock {
                $0 =
                    VendorProfile.signed(
                        name: "Test Cameras", signer: inbox.keys.signing, boxKey: other.publicKey,
                        terms: [TermsID("sd-base")!, TermsID("pdc-intent")!], categories: [IntentCategory("camera")!]
                    ).jsonBytes
            }
            let swapped = try await person.run("intent", "publish", id)
            #expect(swapped.status == 69 || swapped.status == 1)
            #expect(swapped.stdout.contains("another key for sealed data"), "\(swapped.stdout)")

            profile.withLock {
                $0 =
                    VendorProfile.signed(
                        name: "Test Cameras", signer: inbox.keys.signing, boxKey: inbox.keys.box.publicKey,
                        terms: [TermsID("sd-base")!, TermsID("pdc-intent")!], categories: [IntentCategory("camera")!],
                        at: Timestamp.now.adding(seconds: -86_400)
                    ).jsonBytes
            }
            let old = try await person.run("intent", "publish", id)
            #expect(old.stdout.contains("older than the pinned one"), "\(old.stdout)")
            #expect(try await vendor.inbox.records.deals().isEmpty)
        }
    }

    @Test("a vendor that drips its answer is cut off at --timeout; the honest vendor's outcome is printed")
    func drippingVendor() async throws {
        let honest = try TestVendor()
        let dripping = try TestVendor()
        let person = try await CLIPerson()
        let drip = Router()
        let profileBytes = dripping.inbox.profile.jsonBytes
        drip.get("profile") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: profileBytes)))
        }
        drip.post("inbox") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for byte in Array("{\"replies\":[]}".utf8) {
                        try await writer.write(ByteBuffer(bytes: [byte]))
                        try await Task.sleep(for: .milliseconds(500))
                    }
                    try await writer.finish(nil)
                })
        }
        try await withServer(honest.router()) { honestURL in
            try await withServer(drip) { dripURL in
                try await person.expectSuccess("vendor", "add", honestURL, "--name", "honest", "--yes")
                try await person.expectSuccess("vendor", "add", dripURL, "--name", "drip", "--yes")
                let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
                let started = ContinuousClock.now
                // Four seconds leave the honest vendor time to answer on loaded cores; the drip takes seven.
                let published = try await person.run("intent", "publish", id, "--timeout", "4")
                let took = ContinuousClock.now - started
                #expect(took < .seconds(15), "publish took \(took)")
                #expect(published.status == 0)
                #expect(published.stdout.contains("honest  answered: 2 offers"), "\(published.stdout)")
                #expect(published.stdout.contains("did not finish answering within 4 s"), "\(published.stdout)")
                let json = try await person.json(
                    "intent", "publish", id, "--timeout", "1", "--json", "--vendor", "drip")
                #expect(json.first?["outcome"] as? String == "timed-out")
            }
        }
    }

    @Test("the record is truthful: sending → unconfirmed → retried; forget pending until confirmed; rm refused")
    func truthfulRecord() async throws {
        let vendor = try TestVendor()
        let received = Received()
        let failing = Flag()
        let processThenFail = Flag()
        let person = try await CLIPerson()
        try await withServer(vendor.recordingRouter(received, failing: failing, processThenFail: processThenFail)) {
            url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            try await person.expectSuccess("intent", "publish", id)
            let offers = try await person.json("offer", "list", id, "--json")
            let first = offers[0]["name"] as! String
            let second = offers[1]["name"] as! String

            // An undelivered decline leaves the offer open.
            failing.set(true)
            let decline = try await person.run("offer", "decline", second)
            #expect(decline.status != 0)
            #expect(try await person.json("offer", "list", id, "--json").count == 2)

            // The vendor goes down between publish and accept: the deal is recorded, unconfirmed, and audited.
            let accepted = try await person.run("offer", "accept", first, "--yes")
            #expect(accepted.status == 69)
            #expect(accepted.stderr.contains("deal retry"))
            let deals = try await person.json("deal", "list", "--json")
            #expect(deals.count == 1)
            #expect(deals[0]["state"] as? String == "unconfirmed")
            let dealID = deals[0]["id"] as! String
            let audit = try await person.json("audit", "list", "--json")
            #expect(audit.last?["kind"] as? String == "disclosure")
            #expect(audit.last?["deal"] as? String == dealID)

            // It was processed but the answer was lost: the retry sends the same accept id and gets one deal.
            failing.set(false)
            processThenFail.set(true)
            _ = try await person.run("deal", "retry", String(dealID.prefix(4)))
            processThenFail.set(false)
            try await person.expectSuccess("deal", "retry", dealID)
            #expect(try await vendor.inbox.records.deals().count == 1)
            let accepts = received.messages.filter { $0.kind == .accept }
            #expect(accepts.count == 3 && Set(accepts.map(\.id)).count == 1)
            #expect(try await person.json("deal", "list", "--json")[0]["state"] as? String == "confirmed")

            let another = try await person.run("offer", "accept", second, "--yes")
            #expect(another.status == 1)
            #expect(another.stderr.contains("--another"))

            let removal = try await person.run("vendor", "rm", "shop")
            #expect(removal.status == 1)
            #expect(removal.stderr.contains("may still hold your data"))

            failing.set(true)
            let pending = try await person.run("deal", "forget", dealID, "--yes")
            #expect(pending.status == 69)
            #expect(try await person.json("deal", "list", "--json")[0]["state"] as? String == "forget-pending")
            let kinds = try await person.json("audit", "list", "--json").map { $0["kind"] as? String }
            #expect(!kinds.contains("forget-request"), "an undelivered forget is not logged as asked")
            failing.set(false)
            try await person.expectSuccess("deal", "forget", dealID, "--yes")
            #expect(try await person.json("deal", "list", "--json")[0]["state"] as? String == "forgotten")
            let after = try await person.json("audit", "list", "--json").map { $0["kind"] as? String }
            #expect(after.suffix(2) == ["forget-request", "forget-confirmed"])
            try await person.expectSuccess("vendor", "rm", "shop")
            try await person.expectSuccess("audit", "verify")
        }
    }

    @Test("vendor text is stripped of control characters; unknown error codes are not repeated")
    func terminalSafety() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        let hostileName = "Evil\u{9B}2J\u{7F} Shop\u{202E}gpj.exe\u{2067}\u{2028}\u{200B}\u{FEFF}"
        let profile = VendorProfile.signed(
            name: hostileName, signer: vendor.inbox.keys.signing, boxKey: vendor.inbox.keys.box.publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!])
        let answer = Mutex(0)
        let router = vendor.router(
            inbox: { _ in
                let count = answer.withLock { value -> Int in
                    value += 1
                    return value
                }
                let body =
                    count == 1
                    ? "{\"error\":{\"code\":\"expired\",\"message\":\"gone \\u001b[31mred\\u0085\\u2066x\"}}"
                    : "{\"error\":{\"code\":\"\\u001b]0;title\",\"message\":\"m\"}}"
                return (422, Array(body.utf8))
            }, profile: profile.jsonBytes)
        try await withServer(router) { url in
            let added = try await person.expectSuccess("vendor", "add", url, "--yes")
            #expect(!added.stdout.unicodeScalars.contains { $0 != "\n" && VendorText.isControl($0) })
            #expect(added.stdout.contains("Evil2J Shopgpj.exe"), "\(added.stdout)")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            for _ in 0..<2 {
                let published = try await person.run("intent", "publish", id)
                let all = published.stdout + published.stderr
                #expect(!all.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x85 || $0.value == 0x2066 })
            }
            let listed = try await person.expectSuccess("vendor", "list")
            #expect(!listed.stdout.unicodeScalars.contains { $0.value == 0x1B })
            let json = try await person.expectSuccess("vendor", "list", "--json")
            #expect(!json.stdout.unicodeScalars.contains { $0 != "\n" && VendorText.isControl($0) })
        }
        let named = try await person.run("pref", "set", "name", "Ada\nForged row", "--share", "always")
        #expect(named.status == 0)
        let list = try await person.expectSuccess("pref", "list")
        #expect(list.stdout.contains("Ada␊Forged row"))
    }

    @Test("errors name what matches nothing, suggest commands, and list the registries")
    func errors() async throws {
        let person = try await CLIPerson()
        let typo = try await person.run("vendr", "list")
        #expect(typo.status == 64)
        #expect(typo.stderr.contains("did you mean `vendor`"))
        let subTypo = try await person.run("deal", "lsit")
        #expect(subTypo.stderr.contains("did you mean `list`"))
        let terms = try await person.expectSuccess("msg", "terms")
        #expect(terms.stdout.contains("https://w3id.org/dpv/standards/ieee/7012#SD-BASE"))
        let categories = try await person.expectSuccess("msg", "categories")
        #expect(categories.stdout.contains("https://w3id.org/dpv/pd#EmailAddress"))
        #expect(try await person.run("audit", "list", "--vendor", "nosuch").status == 1)
        #expect(try await person.run("pref", "list", "--persona", "defualt").stderr.contains("did you mean default?"))
        #expect(try await person.run("offer", "list", "nosuchid").status == 65)
        let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
        let shown = try await person.expectSuccess("intent", "show", String(id.prefix(3)))
        #expect(shown.stdout.contains(id))
        let exported = person.folder.path + "/export"
        try await person.expectSuccess("export", exported)
        let wrong = person.folder.path + "/wrong"
        try Data("not the passphrase\n".utf8).write(to: URL(fileURLWithPath: wrong))
        let imported = try await ProfferProcess.run(
            ["import", exported, "--vault", person.folder.path + "/other/vault.db", "--passphrase-file", wrong],
            environment: person.environment)
        #expect(imported.status == 77)
    }

    @Test("a vendor that declined had the data: rm needs --force, and a forget closes the record")
    func declinedAfterDisclosure() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        try await person.expectSuccess("persona", "add", "side")
        try await person.expectSuccess("pref", "set", "name", "Side Name", "--persona", "side", "--share", "always")
        try await person.expectSuccess(
            "pref", "set", "postal", "2 Side Street", "--persona", "side", "--share", "always")
        let mode = Mutex(0)
        let inbox = vendor.inbox
        let router = vendor.router(inbox: { body in
            let message = try! Message.parse(Envelope.decode(json: body).envelope.msg)
            switch (message.kind, mode.withLock { $0 }) {
            case (.accept, 0):
                return (200, vendor.replies(to: body, ["#decline id:dddddddd re:\(message.id!) why:sold-out"]))
            case (.accept, _):
                return (422, Array("{\"error\":{\"code\":\"missing-data\",\"message\":\"no\"}}".utf8))
            default:
                let answer = await inbox.handle(body: body)
                return (answer.status, answer.body)
            }
        })
        try await withServer(router) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base", persona: "side")
            try await person.expectSuccess("intent", "publish", id)
            let offers = try await person.json("offer", "list", id, "--json").compactMap { $0["name"] as? String }
            let declined = try await person.run("offer", "accept", offers[0], "--yes")
            #expect(declined.status == 1)
            #expect(try await person.json("deal", "list", "--json")[0]["state"] as? String == "declined")
            mode.withLock { $0 = 1 }
            let refused = try await person.run("offer", "accept", offers[1], "--yes")
            #expect(refused.status == 69, "an unsigned error is no decline: the outcome is unknown")
            #expect(try await person.json("deal", "list", "--json")[1]["state"] as? String == "unconfirmed")

            let removal = try await person.run("vendor", "rm", "shop")
            #expect(removal.status == 1)
            #expect(removal.stderr.contains("may still hold your data"))
            #expect(try await person.run("persona", "rm", "side").status == 1)
            for deal in try await person.json("deal", "list", "--json").compactMap({ $0["id"] as? String }) {
                try await person.expectSuccess("deal", "forget", deal, "--yes")
            }
            // The intent is still open at shop, which could not be told of its withdrawal once removed.
            #expect(try await person.run("vendor", "rm", "shop").status == 1)
            try await person.expectSuccess("intent", "withdraw", id)
            try await person.expectSuccess("vendor", "rm", "shop")
            try await person.expectSuccess("persona", "rm", "side", "--yes")
        }
    }

    @Test("repin shows both fingerprints and asks; without a terminal it needs --yes")
    func repinAsks() async throws {
        let vendor = try TestVendor()
        let replacement = try TestVendor()
        let useReplacement = Flag()
        let person = try await CLIPerson()
        try await withServer(vendor.swappingRouter(replacement: replacement, swapped: useReplacement)) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            useReplacement.set(true)
            let unasked = try await person.run("vendor", "repin", "shop")
            #expect(unasked.status == 1)
            #expect(unasked.stderr.contains(fingerprint(of: replacement.inbox.profile.signingKey)))
            #expect(unasked.stderr.contains("--yes"))
            let shown = try await person.expectSuccess("vendor", "show", "shop")
            #expect(shown.stdout.contains(fingerprint(of: vendor.inbox.profile.signingKey)))
            try await person.expectSuccess("vendor", "repin", "shop", "--yes")
            let after = try await person.expectSuccess("vendor", "show", "shop")
            #expect(after.stdout.contains(fingerprint(of: replacement.inbox.profile.signingKey)))
        }
    }

    @Test("a deal stays with its parties; a retry resends the very data; two accepts at once make one deal")
    func dealIntegrity() async throws {
        let first = try TestVendor()
        let impostor = try TestVendor()
        let received = Received()
        let failing = Flag()
        let useImpostor = Flag()
        let person = try await CLIPerson()
        let (firstInbox, impostorInbox) = (first.inbox, impostor.inbox)
        let router = Router()
        router.get("profile") { _, _ in
            let profile = useImpostor.isOn ? impostorInbox.profile : firstInbox.profile
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: profile.jsonBytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            received.append(body)
            if failing.isOn { return Response(status: .serviceUnavailable) }
            let answer = await (useImpostor.isOn ? impostorInbox : firstInbox).handle(body: body)
            return Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        try await withServer(router) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            try await person.expectSuccess("intent", "publish", id)
            let offers = try await person.json("offer", "list", id, "--json").compactMap { $0["name"] as? String }

            // Two accepts of two offers of one intent at once: one deal, the other refused before anything is sent.
            failing.set(true)
            async let one = person.run("offer", "accept", offers[0], "--yes")
            async let two = person.run("offer", "accept", offers[1], "--yes")
            let outcomes = try await [one, two]
            #expect(outcomes.filter { $0.stderr.contains("already has deal") }.count == 1, "\(outcomes.map(\.stderr))")
            let deals = try await person.json("deal", "list", "--json")
            #expect(deals.count == 1)
            let dealID = try #require(deals.first?["id"] as? String)
            let firstData = received.envelopes.first { $0.envelope.msg.hasPrefix("#accept") }?.envelope.data

            try await person.expectSuccess("pref", "set", "name", "--share", "never")
            let never = try await person.run("deal", "retry", dealID)
            #expect(never.status == 1)
            #expect(never.stderr.contains("is now never"))
            try await person.expectSuccess("pref", "set", "name", "--share", "ask")
            let unasked = try await person.run("deal", "retry", dealID)
            #expect(unasked.status == 1, "a rule now ask needs a yes again, and there is no terminal")
            #expect(unasked.stderr.contains("--yes"))
            try await person.expectSuccess("pref", "set", "name", "--share", "always")
            try await person.expectSuccess("pref", "set", "postal", "Changed Street 9")
            failing.set(false)
            try await person.expectSuccess("deal", "retry", dealID)
            let resent = received.envelopes.filter { $0.envelope.msg.hasPrefix("#accept") }.last?.envelope.data
            #expect(resent != nil && resent == firstData, "the very data first sealed, not today's values")
            #expect(try await first.inbox.records.deals()[0].disclosed?.contains("Changed Street") == false)

            // The vendor is removed and another takes its name and URL: the old deal goes nowhere near it.
            try await person.expectSuccess("vendor", "rm", "shop", "--force")
            useImpostor.set(true)
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let forget = try await person.run("deal", "forget", dealID, "--yes")
            #expect(forget.status == 1)
            #expect(forget.stderr.contains("no longer in the vault"), "another key: not the vendor of the deal")
            #expect(!received.envelopes.contains { $0.envelope.msg.hasPrefix("#forget") })
            #expect(try await person.json("deal", "list", "--json")[0]["state"] as? String == "confirmed")
        }
    }

    @Test("a vendor that timed out may still have the intent: withdraw tells it too")
    func withdrawAfterTimeout() async throws {
        let vendor = try TestVendor()
        let received = Received()
        let slow = Flag()
        slow.set(true)
        let person = try await CLIPerson()
        let inbox = vendor.inbox
        let router = vendor.router(inbox: { body in
            received.append(body)
            if slow.isOn { try? await Task.sleep(for: .seconds(3)) }
            let answer = await inbox.handle(body: body)
            return (answer.status, answer.body)
        })
        try await withServer(router) { url in
            try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
            let id = try await person.intent("#buy camera.mirrorless max:1300EUR terms:sd-base")
            let published = try await person.run("intent", "publish", id, "--timeout", "1")
            #expect(published.status == 69)
            slow.set(false)
            // The vendor stores the intent once its slow answer is done.
            try await Task.sleep(for: .seconds(3))
            try await person.expectSuccess("intent", "withdraw", id)
            let withdraw = received.messages.last
            #expect(withdraw?.kind == .withdraw)
            #expect(withdraw?.re == received.messages.first?.id)
        }
    }
}
