import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

@Suite("The reference vendor makes each deal exactly once, on SQLite and on PostgreSQL")
struct VendorExactlyOnceTests {
    /// Sends `message` to the vendor as `person` and returns the reply messages (or the error code).
    /// Runs `body` for `0..<count` all at once and collects what each returned, in the order they finished.
    static func atOnce<Result: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async -> Result) async
        -> [Result]
    {
        await withTaskGroup(of: Result.self) { group in
            for index in 0..<count { group.addTask { await body(index) } }
            var results: [Result] = []
            for await result in group { results.append(result) }
            return results
        }
    }

    /// - Parameter time: When the envelope is signed and received (a test may move the clock forward).

    @Test(
        "twenty accepts of one offer at once, each with its own id: one deal, one confirm, stock intact",
        arguments: Engine.allCases)
    func concurrentAccepts(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let offers = await TestVendor.send(
            "#buy camera.mirrorless id:aaaaaaaa max:1300EUR terms:sd-base", from: person, to: vendor)
        let z6 = try #require(offers.replies.first { $0.item == "Z6 II body" })
        let data = try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"Ada\"}".utf8))
        let outcomes = await Self.atOnce(20) { _ in
            await TestVendor.send(
                "#accept id:\(MessageID.random()) re:\(z6.id!) terms:sd-base give:name", from: person, to: vendor,
                sealed: data)
        }
        let confirms = outcomes.filter { $0.0 == 200 && $0.1.first?.kind == .confirm }
        #expect(confirms.count == 1, "\(outcomes.map(\.0))")
        #expect(outcomes.filter { $0.0 == 422 }.count == 19)
        #expect(try await vendor.inbox.records.deals().count == 1)
    }

    @Test(
        "an item with stock for one, accepted by eight people at once: one deal, the others declined",
        arguments: Engine.allCases)
    func stockNeverBelowZero(engine: Engine) async throws {
        let catalog = """
            {"name": "One Left", "terms": ["sd-base"], "categories": ["camera"], "regions": ["DE"],
             "offerValidity": "2d",
             "items": [{"sku": "last", "title": "Last one", "category": "camera.mirrorless", "price": "100EUR",
                        "stock": 1, "eta": "1d", "needs": []}]}
            """
        let vendor = try await TestVendor.started(engine, catalogJSON: catalog)
        let people = try (0..<8).map { _ in try SigningKeyPair.generate() }
        var offerIDs: [MessageID] = []
        for person in people {
            let answer = await TestVendor.send(
                "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", from: person, to: vendor)
            offerIDs.append(try #require(answer.replies.first?.id))
        }
        let offered = offerIDs
        let statuses = await Self.atOnce(people.count) { index in
            await TestVendor.send(
                "#accept id:\(MessageID.random()) re:\(offered[index]) terms:sd-base", from: people[index], to: vendor
            ).replies.first?.kind
        }
        #expect(statuses.filter { $0 == .confirm }.count == 1)
        #expect(statuses.filter { $0 == .decline }.count == 7)
        #expect(try await vendor.inbox.records.deals().count == 1)
    }

    @Test(
        "the whole life of a deal: two counters at once (one wins), accept, forget (the data is gone), withdraw",
        arguments: Engine.allCases)
    func dealLifecycle(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let intentID = MessageID.random()
        let offers = await TestVendor.send(
            "#buy camera.mirrorless id:\(intentID) max:1300EUR terms:sd-base", from: person, to: vendor)
        let xt5 = try #require(offers.replies.first { $0.item == "X-T5 body" })
        let prices = ["1100EUR", "1090EUR"]
        let counters = await Self.atOnce(prices.count) { index in
            await TestVendor.send(
                "#counter id:\(MessageID.random()) re:\(xt5.id!) price:\(prices[index])", from: person, to: vendor)
        }
        let won = counters.filter { $0.0 == 200 }
        #expect(won.count == 1 && counters.filter { $0.0 == 422 }.count == 1, "\(counters.map(\.0))")
        let countered = try #require(won.first?.1.first)
        #expect(countered.kind == .offer && countered.re == intentID)

        let data = try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"Ada\",\"postal\":\"1 Main St\"}".utf8))
        let acceptID = MessageID.random()
        let accepted = await TestVendor.send(
            "#accept id:\(acceptID) re:\(countered.id!) terms:sd-base give:name,postal", from: person, to: vendor,
            sealed: data)
        #expect(accepted.replies.first?.kind == .confirm)
        #expect(try await vendor.inbox.records.deals().first?.disclosed?.contains("1 Main St") == true)
        // The original offer was countered: accepting it now is refused.
        #expect(
            await TestVendor.send(
                "#accept id:\(MessageID.random()) re:\(xt5.id!) terms:sd-base give:name,postal", from: person,
                to: vendor, sealed: data
            ).status == 422)

        let forgotten = await TestVendor.send(
            "#forget id:\(MessageID.random()) re:\(acceptID)", from: person, to: vendor)
        #expect(forgotten.replies.first?.kind == .confirm)
        let deals = try await vendor.inbox.records.deals()
        #expect(deals.count == 1 && deals[0].state == .forgotten && deals[0].disclosed == nil)

        let other = MessageID.random()
        _ = await TestVendor.send("#buy camera.mirrorless id:\(other) terms:sd-base", from: person, to: vendor)
        #expect(
            await TestVendor.send("#withdraw id:\(MessageID.random()) re:\(other)", from: person, to: vendor).status
                == 200)
        let resent = await TestVendor.send("#buy camera.mirrorless id:\(other) terms:sd-base", from: person, to: vendor)
        #expect(resent.status == 200 && resent.replies.isEmpty)
        #expect(
            await TestVendor.send(
                "#withdraw id:\(MessageID.random()) re:\(MessageID.random())", from: person, to: vendor
            )
            .status == 422)
    }

    @Test(
        "a resent intent gets its offers again word for word (an offer id names one offer), none once lapsed; lapsed intents free the quota",
        arguments: Engine.allCases)
    func resentIntentsAndLapsedQuota(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let start = Timestamp.now
        let intentID = MessageID.random()
        let intent = "#buy camera.mirrorless id:\(intentID) max:1300EUR terms:sd-base"
        let first = await TestVendor.send(intent, from: person, to: vendor, at: start)
        #expect(first.replies.count == 2 && first.replies.allSatisfy { $0.exp?.description == "2d" })
        // 100 s later: the same offers, the same words, so an agent holding them sees duplicates and nothing else.
        let resent = await TestVendor.send(intent, from: person, to: vendor, at: start.adding(seconds: 100))
        #expect(resent.replies.map(\.id) == first.replies.map(\.id))
        #expect(resent.replies.map(\.canonicalForm) == first.replies.map(\.canonicalForm))
        let lapsed = start.adding(seconds: 2 * 86_400 + 1)
        let late = await TestVendor.send(intent, from: person, to: vendor, at: lapsed)
        #expect(late.status == 200 && late.replies.isEmpty)

        for _ in 0..<(VendorLimits.openIntentsPerSender - 1) {
            _ = await TestVendor.send(
                "#buy lens id:\(MessageID.random()) terms:sd-base", from: person, to: vendor, at: start)
        }
        let full = await TestVendor.send(
            "#buy lens id:\(MessageID.random()) terms:sd-base", from: person, to: vendor, at: start)
        #expect(full.status == 429)
        let afterLapse = await TestVendor.send(
            "#buy lens id:\(MessageID.random()) terms:sd-base", from: person, to: vendor, at: lapsed)
        #expect(afterLapse.status == 200, "intents whose offers lapsed count no more toward the quota")
    }

    @Test(
        "one accept sent ten times at once: ten confirms, one deal; its id on another offer, or fewer terms, refused",
        arguments: Engine.allCases)
    func acceptIDsAndTerms(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let offers = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base,pdc-intent", from: person,
            to: vendor)
        let z6 = try #require(offers.replies.first { $0.item == "Z6 II body" })
        let xt5 = try #require(offers.replies.first { $0.item == "X-T5 body" })
        let data = try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"Ada\"}".utf8))
        let acceptID = MessageID.random()
        let answers = await Self.atOnce(10) { _ in
            await TestVendor.send(
                "#accept id:\(acceptID) re:\(z6.id!) terms:sd-base,pdc-intent give:name", from: person, to: vendor,
                sealed: data)
        }
        #expect(answers.allSatisfy { $0.0 == 200 && $0.1.first?.kind == .confirm }, "\(answers.map(\.0))")
        #expect(answers.allSatisfy { $0.1.first?.eta?.description == "2d" })
        #expect(Set(answers.compactMap { $0.1.first?.id }).count == 1, "every retry gets the very confirm kept")
        let later = await TestVendor.send(
            "#accept id:\(acceptID) re:\(z6.id!) terms:sd-base,pdc-intent give:name", from: person, to: vendor,
            sealed: data)
        #expect(later.1.first?.id == answers.first?.1.first?.id)
        #expect(try await vendor.inbox.records.deals().count == 1)

        let reused = await TestVendor.send(
            "#accept id:\(acceptID) re:\(xt5.id!) terms:sd-base,pdc-intent give:name,postal", from: person,
            to: vendor,
            sealed: try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"A\",\"postal\":\"B\"}".utf8)))
        #expect(reused.status == 400 && reused.replies.isEmpty)
        let narrower = await TestVendor.send(
            "#accept id:\(MessageID.random()) re:\(xt5.id!) terms:sd-base give:name,postal", from: person, to: vendor,
            sealed: try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"A\",\"postal\":\"B\"}".utf8)))
        #expect(narrower.status == 422)
        #expect(try await vendor.inbox.records.deals().count == 1)
    }

    @Test("an envelope accepted before a restart is refused as a replay after it", arguments: Engine.allCases)
    func replayAfterRestart(engine: Engine) async throws {
        let place = try VendorPlace(engine)
        let person = try SigningKeyPair.generate()
        let first = try await TestVendor.started(at: place)
        let intent = Envelope.signed(
            message: "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", by: person,
            to: first.inbox.keys.signing.publicKey)
        let offers = await first.inbox.handle(body: intent.jsonBytes)
        #expect(offers.status == 200)
        let offerID = try #require(
            TestVendor.replies(in: offers.body).first.flatMap { members -> MessageID? in
                guard case .string(let msg)? = members.first(where: { $0.0 == "msg" })?.1 else { return nil }
                return try? Message.parse(msg).id
            })
        let decline = Envelope.signed(
            message: "#decline id:\(MessageID.random()) re:\(offerID)", by: person,
            to: first.inbox.keys.signing.publicKey)
        #expect(await first.inbox.handle(body: decline.jsonBytes).status == 200)
        #expect(await first.inbox.handle(body: intent.jsonBytes).status == 409)
        await first.stop()

        let restarted = try await TestVendor.started(at: place)
        for envelope in [intent, decline] {
            let answer = await restarted.inbox.handle(body: envelope.jsonBytes)
            #expect(answer.status == 409, "\(String(decoding: answer.body, as: UTF8.self))")
        }
    }

    @Test(
        "a flood from fresh keys fills the in-memory window; a well-behaved client still gets offers, no replay passes",
        arguments: Engine.allCases)
    func floodOfFreshKeys(engine: Engine) async throws {
        let vendor = try await TestVendor.started(
            engine, replayWindow: ReplayWindow(capacity: 50, whenFull: .forgetOldest))
        let recipient = vendor.inbox.keys.signing.publicKey
        var flood: [Envelope] = []
        for _ in 0..<200 {
            flood.append(
                Envelope.signed(
                    message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: try SigningKeyPair.generate(),
                    to: recipient))
        }
        let person = try SigningKeyPair.generate()
        let envelopes = flood
        let statuses = await Self.atOnce(envelopes.count) {
            await vendor.inbox.handle(body: envelopes[$0].jsonBytes).status
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(Set(statuses))")
        let wellBehaved = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", from: person, to: vendor)
        #expect(wellBehaved.status == 200 && !wellBehaved.replies.isEmpty)
        // The first envelopes left the in-memory window long ago; the records still know them.
        for envelope in flood.prefix(20) {
            #expect(await vendor.inbox.handle(body: envelope.jsonBytes).status == 409)
        }
    }

    @Test("one key sending past its share of the window is refused with too-many; other keys are answered")
    func oneSendersShareOfTheWindow() async throws {
        let vendor = try TestVendor(replayWindow: ReplayWindow(capacity: 1_000, perSender: 10))
        let flooder = try SigningKeyPair.generate()
        for _ in 0..<10 {
            #expect(
                await TestVendor.send("#buy lens id:\(MessageID.random()) terms:sd-base", from: flooder, to: vendor)
                    .status
                    == 200)
        }
        #expect(
            await TestVendor.send("#buy lens id:\(MessageID.random()) terms:sd-base", from: flooder, to: vendor).status
                == 429)
        let other = await TestVendor.send(
            "#buy lens id:\(MessageID.random()) terms:sd-base", from: try SigningKeyPair.generate(), to: vendor)
        #expect(other.status == 200)
    }

    @Test(
        "one key may keep 200 open intents at a vendor; the next is refused with too-many, others are unaffected",
        arguments: Engine.allCases)
    func openIntentsPerSender(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let flooder = try SigningKeyPair.generate()
        for _ in 0..<200 {
            let answer = await TestVendor.send(
                "#buy lens id:\(MessageID.random()) terms:sd-base", from: flooder, to: vendor)
            #expect(answer.status == 200)
        }
        let envelope = Envelope.signed(
            message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: flooder,
            to: vendor.inbox.keys.signing.publicKey)
        let refused = await vendor.inbox.handle(body: envelope.jsonBytes)
        #expect(refused.status == 429)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("\"too-many\""))
        let someoneElse = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", from: try SigningKeyPair.generate(),
            to: vendor)
        #expect(someoneElse.status == 200 && !someoneElse.replies.isEmpty)
    }
}
