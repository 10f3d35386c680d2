import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// What settles what over Nostr: the second outside attack's cases (offers of one new vendor read for two intents at
/// once, a confirm naming the accept where one naming the forget is due).
@Suite("Public intents: answers settle only what they name", .serialized)
struct PublicIntentSettlingTests {
    static let intentText = "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base"

    @Test("a vendor found over Nostr that answers two intents read at once is kept once, with the offers of both")
    func oneVendorTwoIntents() async throws {
        let relay = try await NostrTestRelay()
        let person = try await CLIPerson()
        let first = try await person.intent(Self.intentText)
        let second = try await person.intent("#buy camera.mirrorless max:1250EUR in:DE terms:sd-base")
        for id in [first, second] { try await person.expectSuccess("intent", "cast", id, "--relay", relay.url) }
        let vendor = try await NostrTestVendor(.sqlite, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, vendor.listener.intentsReceived < 2 {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(2))
        try await person.expectSuccess("inbox", "--timeout", "10")
        for id in [first, second] {
            #expect(!(try await person.json("offer", "list", id, "--json")).isEmpty, "offers for \(id)")
        }
        #expect(try await person.json("vendor", "list", "--json").count == 1)
    }

    @Test("only a confirm naming the forget settles it: the accept's confirm, come late, is kept as the deal's confirm")
    func lateAcceptConfirmDoesNotSettleForget() async throws {
        let relay = try await NostrTestRelay()
        let person = try await CLIPerson()
        let id = try await person.intent(Self.intentText)
        try await person.expectSuccess("intent", "cast", id, "--relay", relay.url)
        let secrets = try CastSecrets(person, intent: id)
        // A vendor of the tests' own, which answers only when told to.
        let keys = try VendorKeys(signing: try SigningKeyPair.generate(), box: try BoxKeyPair.generate())
        let profile = VendorProfile.signed(
            name: "Slow Cameras", signer: keys.signing, boxKey: keys.box.publicKey, terms: [TermsID("sd-base")!],
            categories: [IntentCategory("camera")!], nostr: (keys.nostr.publicKey, [relay.url]))
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let now = Int64(Date().timeIntervalSince1970)
        for event in profile.nostrEvents(signedBy: keys.nostr, at: now) {
            _ = await pool.publish(event, within: .seconds(30))
        }
        let offerText = try Message.parse(
            "#offer id:\(MessageID.random()) re:\(secrets.publicID) price:1200EUR item:\"X-T5\" exp:2d terms:sd-base "
                + "needs:name"
        ).canonicalForm
        _ = await pool.publish(
            try Forge.message(offerText, from: keys.nostr, to: secrets.key.publicKey, createdAt: now),
            within: .seconds(30))
        let offers = try await person.awaitOffers(for: id)
        let offer = try #require(offers.first?["name"] as? String)
        _ = try await person.run("offer", "accept", offer, "--yes", "--pin", "--timeout", "2")
        let deal = try #require(try await person.json("deal", "list", "--json").first?["id"] as? String)
        _ = try await person.run("deal", "forget", deal, "--yes", "--timeout", "2")
        // What the person sent the vendor, read as the vendor reads it: the forget's id.
        let sent = await pool.fetch(
            [NostrFilter(kinds: [GiftWrap.wrapKind], tags: ["p": [keys.nostr.publicKey.hex]])], within: .seconds(10))
        let messages = sent.events.compactMap { wrap -> Message? in
            guard case .message(let message, _)? = try? PrivateMessage.read(wrap, with: keys.nostr, now: now + 60)
            else { return nil }
            return message
        }
        let forget = try #require(messages.first { $0.kind == .forget })
        func confirm(re: MessageID) throws -> NostrEvent {
            try Forge.message(
                "#confirm id:\(MessageID.random()) re:\(re)", from: keys.nostr, to: secrets.key.publicKey,
                createdAt: Int64(Date().timeIntervalSince1970))
        }
        _ = await pool.publish(try confirm(re: try #require(MessageID(deal))), within: .seconds(30))
        try await person.expectSuccess("inbox", "--timeout", "10")
        let afterAcceptConfirm = try #require(try await person.json("deal", "list", "--json").first)
        #expect(afterAcceptConfirm["state"] as? String == "forget-pending", "\(afterAcceptConfirm)")
        _ = await pool.publish(try confirm(re: try #require(forget.id)), within: .seconds(30))
        try await person.expectSuccess("inbox", "--timeout", "10")
        #expect(try await person.json("deal", "list", "--json").first?["state"] as? String == "forgotten")
        try await person.expectSuccess("audit", "verify")
    }

    @Test("offer list shows the offers of vendors not pinned apart, unranked, with profile name, fingerprint and relay")
    func unpinnedApart() async throws {
        let cast = try await CastFixture.make()
        let person = cast.person
        let listed = try await person.expectSuccess("offer", "list", cast.intent)
        #expect(listed.stdout.contains("from vendors you have not pinned, found over Nostr"), "\(listed.stdout)")
        #expect(listed.stdout.contains("FINGERPRINT") && listed.stdout.contains(cast.relay.url))
        let rows = try await person.json("offer", "list", cast.intent, "--json")
        #expect(rows.allSatisfy { $0["section"] as? String == "unpinned" && $0["rank"] == nil }, "\(rows)")
        try await person.expectSuccess("vendor", "pin", "test-cameras", "--yes")
        let pinned = try await person.json("offer", "list", cast.intent, "--json")
        #expect(pinned.allSatisfy { $0["section"] as? String == "open" } && pinned.first?["rank"] as? Int == 1)
        await cast.vendor.stop()
    }
}
