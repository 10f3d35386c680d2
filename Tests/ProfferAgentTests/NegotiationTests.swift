import Foundation
import Hummingbird
import ProfferAgent
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Synchronization
import Testing

@testable import ProfferTestSupport

/// Runs `body` with every router served on its own port.
func withServers<T: Sendable>(
    _ routers: [Router<BasicRequestContext>], _ body: ([String]) async throws -> T
) async throws -> T {
    guard let first = routers.first else { return try await body([]) }
    return try await withServer(first) { url in
        try await withServers(Array(routers.dropFirst())) { urls in try await body([url] + urls) }
    }
}

/// Signs `message` as `vendor` toward whoever sent `request`, for vendors that misbehave on purpose.
func signedReply(_ message: String, by vendor: TestVendor, answering request: [UInt8], at time: Timestamp = .now)
    -> [UInt8]
{
    let sender = try! Envelope.decode(json: request).sender
    let envelope = Envelope.signed(message: message, by: vendor.inbox.keys.signing, to: sender, at: time)
    return Array("{\"replies\":[\(envelope.json)]}".utf8)
}

func intentID(in request: [UInt8]) -> String {
    try! Message.parse(Envelope.decode(json: request).envelope.msg).id!.description
}

@Suite("Negotiation against real vendors on 127.0.0.1", .serialized)
struct NegotiationTests {
    @Test("publish, counter, accept, forget: offers verified and stored, data sealed, audited, then deleted for real")
    func wholeDeal() async throws {
        let vendor = try TestVendor()
        let person = try TestPerson()
        try await withServer(vendor.router()) { url in
            let agent = person.agent
            let pinned = try await agent.addVendor(url: url, name: "shop")
            #expect(pinned.signingKey == vendor.inbox.profile.signingKey)
            let intent = try person.intent()
            let outcomes = try await agent.publish(intentID: intent.id.description, timeout: .seconds(60))
            guard case .answered(offers: 2) = outcomes[0].result else {
                Issue.record("unexpected outcome \(outcomes)")
                return
            }
            let offers = try person.vault.offers(intentID: intent.id.description)
            #expect(offers.map { $0.message.price?.description } == ["1149EUR", "1199EUR"])
            #expect(try person.vault.intent(id: intent.id.description).state == .published)

            let xt5 = offers.first { $0.message.sku?.description == "xt5" }!
            guard
                case .newOffer(let countered) = try await agent.counter(
                    offerName: xt5.name, price: Money("1000EUR"), qty: nil, eta: nil, timeout: .seconds(60))
            else {
                Issue.record("unexpected answer")
                return
            }
            #expect(countered.message.price == Money("1079EUR"))  // the floor, not lower
            #expect(try person.vault.offer(xt5.key).state == .countered)
            guard
                case .declined = try await agent.counter(
                    offerName: countered.name, price: Money("1000EUR"), qty: nil, eta: nil, timeout: .seconds(60))
            else {
                Issue.record("unexpected answer")
                return
            }

            let plan = try agent.planAcceptance(offerName: countered.name)
            #expect(plan.items.map(\.category.rawValue) == ["name", "postal"])
            let deal = try await agent.accept(plan, consented: false, timeout: .seconds(60))
            #expect(deal.state == .confirmed)
            #expect(try person.vault.auditEntries().last?.entry.kind == .disclosure)
            let vendorDeals = try await vendor.inbox.records.deals()
            #expect(vendorDeals.count == 1)
            #expect(vendorDeals[0].disclosed?.contains("Ada Lovelace") == true)
            #expect(vendor.folder.rawBytes().contains("Ada Lovelace"))

            let forgotten = try await agent.forget(dealID: deal.id.description, timeout: .seconds(60))
            #expect(forgotten.state == .forgotten)
            #expect(try await vendor.inbox.records.deals()[0].state == .forgotten)
            let raw = vendor.folder.rawBytes()
            #expect(!raw.contains("Ada Lovelace"))
            #expect(!raw.contains("12 Example Street"))
            #expect(try person.vault.verifyAuditChain() == .intact(entries: 5))
        }
        await person.close()
    }

    @Test("misbehaving vendors are reported one by one, nothing from them is stored, the good vendor's offers are")
    func misbehavingVendors() async throws {
        let good = try TestVendor()
        let silent = try TestVendor()
        let garbage = try TestVendor()
        let huge = try TestVendor()
        let forged = try TestVendor()
        let misaddressed = try TestVendor()
        let unknownID = try TestVendor()
        let down = try TestVendor()
        let person = try TestPerson()
        let agent = person.agent
        // Nothing listens on port 1: connections are refused at once.
        try person.vault.addVendor(
            Vendor(
                name: "down", baseURL: "http://127.0.0.1:1", signingKey: down.inbox.profile.signingKey,
                boxKey: down.inbox.profile.boxKey, terms: down.inbox.profile.terms.compactMap(TermsID.init),
                categories: down.inbox.profile.categories.compactMap(IntentCategory.init)))
        let routers = [
            good.router(),
            silent.router(inbox: { _ in
                try? await Task.sleep(for: .seconds(30))
                return (200, [])
            }),
            garbage.router(inbox: { _ in (200, Array("<html>oops</html>".utf8)) }),
            huge.router(inbox: { _ in (200, [UInt8](repeating: 0x20, count: 2 << 20)) }),
            forged.router(inbox: { request in
                var replies = TestVendor.replies(in: await forged.inbox.handle(body: request).body)
                let index = replies[0].firstIndex { $0.0 == "sig" }!
                replies[0][index].1 = .string(Base64URL.encode(SecureRandom.bytes(64)))
                return (200, TestVendor.answer(replies))
            }),
            misaddressed.router(inbox: { request in
                let envelope = Envelope.signed(
                    message: "#offer id:v9a1b2c3 re:\(intentID(in: request)) price:1100EUR",
                    by: misaddressed.inbox.keys.signing, to: try! SigningKeyPair.generate().publicKey)
                return (200, Array("{\"replies\":[\(envelope.json)]}".utf8))
            }),
            unknownID.router(inbox: { request in
                (200, signedReply("#offer id:v9a1b2c3 re:zzzzzzzz price:1100EUR", by: unknownID, answering: request))
            }),
        ]
        let names = ["good", "silent", "garbage", "huge", "forged", "misaddressed", "unknown-id"]
        try await withServers(routers) { urls in
            for (name, url) in zip(names, urls) { _ = try await agent.addVendor(url: url, name: name) }
            let intent = try person.intent()
            let started = ContinuousClock.now
            // Long enough for the good vendor to answer while the other suites load both cores,
            // short enough to show that the silent one (30 s) is cut off.
            let outcomes = try await agent.publish(intentID: intent.id.description, timeout: .seconds(8))
            #expect(ContinuousClock.now - started < .seconds(20))
            var byName: [String: String] = [:]
            for outcome in outcomes {
                switch outcome.result {
                case .answered(let offers): byName[outcome.vendor] = "answered \(offers)"
                case .failed(let error): byName[outcome.vendor] = error.message
                case .skipped(let reason): byName[outcome.vendor] = "skipped \(reason)"
                case .declined(let why): byName[outcome.vendor] = "declined \(why)"
                }
            }
            #expect(byName["good"] == "answered 2")
            #expect(byName["down"]?.contains("could not be connected to") == true, "\(byName["down"] ?? "")")
            #expect(
                byName["silent"]?.contains("did not finish answering within 8 s") == true, "\(byName["silent"] ?? "")")
            #expect(
                byName["garbage"]?.contains("something other than {\"replies\"") == true, "\(byName["garbage"] ?? "")")
            #expect(byName["huge"]?.contains("more than 1024 KiB") == true, "\(byName["huge"] ?? "")")
            #expect(byName["forged"]?.contains("bad-signature") == true, "\(byName["forged"] ?? "")")
            #expect(byName["misaddressed"]?.contains("not-for-me") == true, "\(byName["misaddressed"] ?? "")")
            #expect(
                byName["unknown-id"]?.contains("not an offer with an id answering") == true,
                "\(byName["unknown-id"] ?? "")")
            let stored = try person.vault.offers()
            #expect(stored.count == 2)
            #expect(Set(stored.map(\.vendor)) == ["good"])
        }
        await person.close()
    }

    @Test("a replayed or stale reply is refused, and nothing from it is stored")
    func replaysAndStaleReplies() async throws {
        let replaying = try TestVendor()
        let stale = try TestVendor()
        let captured = Mutex<[UInt8]?>(nil)
        let person = try TestPerson()
        let agent = person.agent
        let routers = [
            replaying.router(inbox: { request in
                if let old = captured.withLock({ $0 }) { return (200, old) }
                let answer = await replaying.inbox.handle(body: request).body
                captured.withLock { $0 = answer }
                return (200, answer)
            }),
            stale.router(inbox: { request in
                (
                    200,
                    signedReply(
                        "#offer id:v9a1b2c3 re:\(intentID(in: request)) price:1100EUR", by: stale, answering: request,
                        at: .now.adding(seconds: -400))
                )
            }),
        ]
        try await withServers(routers) { urls in
            _ = try await agent.addVendor(url: urls[0], name: "replaying")
            _ = try await agent.addVendor(url: urls[1], name: "stale")
            let intent = try person.intent()
            let first = try await agent.publish(
                intentID: intent.id.description, vendorNames: ["replaying"], timeout: .seconds(60))
            guard case .answered(2) = first[0].result else {
                Issue.record("unexpected answer")
                return
            }
            // A second agent process (no memory of its own) still refuses the copy: the vault remembers.
            let second = try await Agent(vault: person.vault).publish(
                intentID: intent.id.description, vendorNames: ["replaying"], timeout: .seconds(60))
            guard case .failed(let replayError) = second[0].result else {
                Issue.record("unexpected answer")
                return
            }
            #expect(replayError.message.contains("replay"))
            let stalePublish = try await agent.publish(
                intentID: intent.id.description, vendorNames: ["stale"], timeout: .seconds(60))
            guard case .failed(let staleError) = stalePublish[0].result else {
                Issue.record("unexpected answer")
                return
            }
            #expect(staleError.message.contains("stale"))
            #expect(try person.vault.offers().count == 2)
        }
        await person.close()
    }

    @Test("a vendor presenting another key is refused with both fingerprints; nothing is disclosed until repinned")
    func changedKey() async throws {
        let original = try TestVendor()
        let impostor = try TestVendor()
        let useImpostor = Mutex(false)
        let person = try TestPerson()
        let agent = person.agent
        let router = Router()
        router.get("profile") { _, _ in
            let bytes =
                useImpostor.withLock { $0 } ? impostor.inbox.profile.jsonBytes : original.inbox.profile.jsonBytes
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let target = useImpostor.withLock { $0 } ? impostor : original
            let answer = await target.inbox.handle(body: body)
            return Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        try await withServer(router) { url in
            _ = try await agent.addVendor(url: url, name: "shop")
            let intent = try person.intent()
            _ = try await agent.publish(intentID: intent.id.description, timeout: .seconds(60))
            let offer = try person.vault.offers()[0]
            useImpostor.withLock { $0 = true }
            let plan = try agent.planAcceptance(offerName: offer.name)
            do {
                _ = try await agent.accept(plan, consented: true, timeout: .seconds(60))
                Issue.record("accepted despite a changed key")
            } catch let error as AgentError {
                #expect(error.code == .keyChanged)
                #expect(error.message.contains(fingerprint(of: original.inbox.keys.signing.publicKey)))
                #expect(error.message.contains(fingerprint(of: impostor.inbox.keys.signing.publicKey)))
                #expect(error.message.contains("proffer vendor repin shop"))
            }
            #expect(try person.vault.auditEntries().allSatisfy { $0.entry.kind != .disclosure })
            #expect(try await impostor.inbox.records.deals().isEmpty)
            #expect(!impostor.folder.rawBytes().contains("Ada Lovelace"))
            let republished = try await agent.publish(intentID: intent.id.description, timeout: .seconds(60))
            guard case .failed(let error) = republished[0].result else {
                Issue.record("unexpected answer")
                return
            }
            #expect(error.code == .keyChanged)

            let (vendor, presented) = try await agent.presentedProfile(of: "shop")
            #expect(vendor.signingKey != presented.signingKey)
            try agent.repin(vendor, to: presented)
            #expect(try person.vault.vendor(named: "shop").signingKey == presented.signingKey)
            let afterRepin = try await agent.publish(intentID: intent.id.description, timeout: .seconds(60))
            guard case .answered(2) = afterRepin[0].result else {
                Issue.record("unexpected answer")
                return
            }
        }
        await person.close()
    }

    @Test("two vendors see two different keys for the same person, and neither key is in the other's records")
    func unlinkability() async throws {
        let first = try TestVendor()
        let second = try TestVendor()
        let person = try TestPerson()
        try await withServers([first.router(), second.router()]) { urls in
            _ = try await person.agent.addVendor(url: urls[0], name: "first")
            _ = try await person.agent.addVendor(url: urls[1], name: "second")
            _ = try await person.agent.publish(intentID: try person.intent().id.description, timeout: .seconds(60))
            let firstKeys = try await first.inbox.records.knownSenders()
            let secondKeys = try await second.inbox.records.knownSenders()
            #expect(firstKeys.count == 1 && secondKeys.count == 1)
            #expect(firstKeys != secondKeys)
            let firstKey = [UInt8](firstKeys.first!)
            let secondKey = [UInt8](secondKeys.first!)
            #expect(first.folder.rawBytes().contains(bytes: firstKey))
            #expect(!first.folder.rawBytes().contains(bytes: secondKey))
            #expect(!second.folder.rawBytes().contains(bytes: firstKey))
            #expect(!second.folder.rawBytes().contains(Base64URL.encode(firstKey)))
        }
        await person.close()
    }

    @Test("the agent refuses offers whose terms lack the intent's, expired offers, and data whose rule is never")
    func refusals() async throws {
        let vendor = try TestVendor()
        let person = try TestPerson()
        let router = vendor.router(inbox: { request in
            let id = intentID(in: request)
            let messages = [
                "#offer id:aaaaaaaa re:\(id) price:1000EUR terms:pdc-intent",
                "#offer id:bbbbbbbb re:\(id) price:1001EUR exp:2020-01-01 terms:sd-base",
                "#offer id:cccccccc re:\(id) price:1002EUR terms:sd-base needs:email",
            ]
            let sender = try! Envelope.decode(json: request).sender
            let envelopes = messages.map {
                Envelope.signed(message: $0, by: vendor.inbox.keys.signing, to: sender).json
            }
            return (200, Array("{\"replies\":[\(envelopes.joined(separator: ","))]}".utf8))
        })
        try await withServer(router) { url in
            _ = try await person.agent.addVendor(url: url, name: "shop")
            try person.vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .never)
            _ = try await person.agent.publish(intentID: try person.intent().id.description, timeout: .seconds(60))
            for (offer, reason) in [
                ("shop/aaaaaaaa", "does not include your terms"), ("shop/bbbbbbbb", "expired"),
                ("shop/cccccccc", "whose rule is never"),
            ] {
                #expect {
                    try person.agent.planAcceptance(offerName: offer)
                } throws: { error in
                    (error as? AgentError)?.message.contains(reason) == true
                }
            }
            #expect(try person.vault.auditEntries().allSatisfy { $0.entry.kind != .disclosure })
        }
        await person.close()
    }
}
