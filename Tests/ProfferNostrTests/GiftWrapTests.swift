import Foundation
import Testing

@testable import ProfferCrypto
@testable import ProfferNostr
@testable import ProfferTestSupport

@Suite("NIP-59 gift wraps of NIP-17 rumors: sealed, wrapped, carried by a real relay, opened and checked")
struct GiftWrapTests {
    let sender: SchnorrKeyPair
    let recipient: SchnorrKeyPair

    init() throws {
        (sender, recipient) = (try SchnorrKeyPair.generate(), try SchnorrKeyPair.generate())
    }

    func wrapped(_ content: String = "#offer id:v9a1b2c3 re:k7f3q2ab price:1149EUR") throws -> GiftWrap.Wrapped {
        let rumor = GiftWrap.rumor(content, from: sender.publicKey, to: recipient.publicKey, createdAt: now)
        return try GiftWrap.wrap(
            rumor, from: sender, to: recipient.publicKey,
            expiration: GiftWrap.expiration(postExpiration: now, now: now),
            now: now)
    }

    @Test("a wrap goes through the relay, is found by its p tag, opens to the rumor, and keeps its evidence")
    func throughTheRelay() async throws {
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let message = try wrapped()
        #expect(await pool.publish(message.wrap, within: .seconds(60)).map(\.isAccepted) == [true], "\(relay.log)")
        let fetched = await pool.fetch(
            [NostrFilter(kinds: [GiftWrap.wrapKind], tags: ["p": [recipient.publicKey.hex]], since: now - 3 * 86400)],
            within: .seconds(60))
        #expect(fetched.events == [message.wrap])
        let opened = try GiftWrap.open(try #require(fetched.events.first), with: recipient, now: now)
        #expect(opened.rumor == message.rumor && opened.sender == sender.publicKey)
        #expect(opened.seal == message.seal)
        // The evidence (seal and its payload's keys) opens the rumor for a third party, sender's or receiver's copy.
        let keys = try opened.sealKeys(recipient: recipient)
        #expect(GiftWrap.verifyEvidence(seal: opened.seal, sealKeys: keys, rumor: opened.rumor))
        #expect(keys.exportedBytes() == (try message.sealKeys(sender: sender)).exportedBytes())
        let other = try wrapped("another message")
        #expect(!GiftWrap.verifyEvidence(seal: other.seal, sealKeys: keys, rumor: other.rumor))
    }

    @Test("wraps have fresh keys, blurred times and an expiration; the rumor keeps the real time")
    func blurring() throws {
        let messages = try (0..<20).map { _ in try wrapped() }
        #expect(Set(messages.map(\.wrap.author)).count == 20, "a fresh key for every wrap")
        #expect(messages.allSatisfy { !($0.wrap.author == sender.publicKey) })
        #expect(messages.allSatisfy { (now - 2 * 86400 - 5...now + 5).contains($0.wrap.createdAt) })
        #expect(messages.allSatisfy { (now - 2 * 86400 - 5...now + 5).contains($0.seal.createdAt) })
        #expect(Set(messages.map(\.wrap.createdAt)).count > 1, "times vary")
        #expect(messages.allSatisfy { abs($0.rumor.createdAt - now) <= 5 })
        for message in messages {
            let expiration = try #require(message.wrap.expiration)
            #expect(expiration >= now + 30 * 86400 && expiration <= now + 32 * 86400)
            #expect(message.wrap.tagValues("p") == [recipient.publicKey.hex])
            #expect(message.seal.tags.isEmpty)
        }
        let later = GiftWrap.expiration(postExpiration: now + 60 * 86400, now: now)
        #expect(later >= now + 60 * 86400 && later % 86400 <= 86400)
    }

    @Test("what a receiver ignores: another's wrap, a broken MAC, a seal not by the rumor's author, a signed rumor, …")
    func refusals() throws {
        let message = try wrapped()
        let stranger = try SchnorrKeyPair.generate()
        #expect(throws: NostrError.self) { try GiftWrap.open(message.wrap, with: stranger, now: now) }

        // The wrap's payload altered (a relay that lies): the MAC fails before anything is decrypted.
        var payload = Base64.decode(message.wrap.content)!
        payload[40] ^= 1
        let tampered = NostrEvent.signed(
            kind: GiftWrap.wrapKind, tags: message.wrap.tags, content: Base64.encode(payload), createdAt: now,
            by: try SchnorrKeyPair.generate())
        #expect(throws: NostrError.self) { try GiftWrap.open(tampered, with: recipient, now: now) }

        // A sender that seals someone else's rumor: the seal's signer did not write it.
        let impostor = try SchnorrKeyPair.generate()
        func forged(rumor: NostrEvent, sealedBy: SchnorrKeyPair, sealTags: [[String]] = [], sealKind: Int = 13)
            throws -> NostrEvent
        {
            let seal = NostrEvent.signed(
                kind: sealKind, tags: sealTags,
                content: try NIP44.encrypt(
                    NostrJSON.object(rumor), with: try NIP44.ConversationKey(sealedBy, recipient.publicKey)),
                createdAt: now, by: sealedBy)
            let wrapper = try SchnorrKeyPair.generate()
            return NostrEvent.signed(
                kind: GiftWrap.wrapKind, tags: [["p", recipient.publicKey.hex]],
                content: try NIP44.encrypt(
                    NostrJSON.object(seal), with: try NIP44.ConversationKey(wrapper, recipient.publicKey)),
                createdAt: now, by: wrapper)
        }
        let rumor = message.rumor
        #expect(throws: NostrError.self, "seal signer is not the author") {
            try GiftWrap.open(try forged(rumor: rumor, sealedBy: impostor), with: recipient, now: now)
        }
        #expect(throws: NostrError.self, "seal with tags") {
            try GiftWrap.open(
                try forged(rumor: rumor, sealedBy: sender, sealTags: [["p", "x"]]), with: recipient, now: now)
        }
        #expect(throws: NostrError.self, "seal of another kind") {
            try GiftWrap.open(try forged(rumor: rumor, sealedBy: sender, sealKind: 1), with: recipient, now: now)
        }
        let signedRumor = NostrEvent.signed(
            kind: 14, tags: [["p", recipient.publicKey.hex]], content: "x", createdAt: now, by: sender)
        #expect(throws: NostrError.self, "a signed rumor") {
            try GiftWrap.open(try forged(rumor: signedRumor, sealedBy: sender), with: recipient, now: now)
        }
        for (why, bad) in [
            (
                "kind 1",
                NostrEvent.rumor(
                    kind: 1, tags: [["p", recipient.publicKey.hex]], content: "x", createdAt: now,
                    author: sender.publicKey)
            ),
            ("no p tag", NostrEvent.rumor(kind: 14, content: "x", createdAt: now, author: sender.publicKey)),
            (
                "two p tags",
                NostrEvent.rumor(
                    kind: 14, tags: [["p", recipient.publicKey.hex], ["p", recipient.publicKey.hex]], content: "x",
                    createdAt: now, author: sender.publicKey)
            ),
            ("another recipient", GiftWrap.rumor("x", from: sender.publicKey, to: stranger.publicKey, createdAt: now)),
            (
                "a second, empty p tag",
                NostrEvent.rumor(
                    kind: 14, tags: [["p", recipient.publicKey.hex], ["p"]], content: "x", createdAt: now,
                    author: sender.publicKey)
            ),
            (
                "from the future",
                GiftWrap.rumor("x", from: sender.publicKey, to: recipient.publicKey, createdAt: now + 3600)
            ),
            (
                "over 4 KiB",
                GiftWrap.rumor(
                    String(repeating: "x", count: 4100), from: sender.publicKey, to: recipient.publicKey, createdAt: now
                )
            ),
        ] {
            #expect(throws: NostrError.self, "\(why)") {
                try GiftWrap.open(try forged(rumor: bad, sealedBy: sender), with: recipient, now: now)
            }
        }
        // The 300 s allowance, exactly, against one reading of the clock.
        let moment = now
        let justInside = GiftWrap.rumor("x", from: sender.publicKey, to: recipient.publicKey, createdAt: moment + 300)
        let justOutside = GiftWrap.rumor("x", from: sender.publicKey, to: recipient.publicKey, createdAt: moment + 301)
        #expect(
            (try? GiftWrap.open(try forged(rumor: justInside, sealedBy: sender), with: recipient, now: moment)) != nil)
        #expect(throws: NostrError.self) {
            try GiftWrap.open(try forged(rumor: justOutside, sealedBy: sender), with: recipient, now: moment)
        }
        // A rumor whose id is not the hash of its contents.
        let wrongID = NostrEvent(
            id: Array(repeating: 7, count: 32), author: sender.publicKey, createdAt: now, kind: 14,
            tags: [["p", recipient.publicKey.hex]], content: "x", signature: nil)
        #expect(throws: NostrError.self, "rumor id") {
            try GiftWrap.open(try forged(rumor: wrongID, sealedBy: sender), with: recipient, now: now)
        }
        #expect(throws: NostrError.self, "not a wrap") {
            try GiftWrap.open(message.seal, with: recipient, now: now)
        }
    }

    @Test("NIP-09: a deletion signed by the author removes the post from the relay")
    func deletion() async throws {
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let key = try SchnorrKeyPair.generate()
        let post = NostrEvent.signed(kind: 1, tags: [["t", "proffer"]], content: "#buy x", createdAt: now, by: key)
        #expect(await pool.publish(post, within: .seconds(60)).allSatisfy(\.isAccepted))
        let deletion = NostrKinds.deletion(of: post.idHex, kind: 1, by: key, at: now)
        #expect(await pool.publish(deletion, within: .seconds(60)).allSatisfy(\.isAccepted))
        let left = await pool.fetch([NostrFilter(ids: [post.idHex])], within: .seconds(60))
        #expect(left.events.isEmpty, "\(left.events)")
    }
}
