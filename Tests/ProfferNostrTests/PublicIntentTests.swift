import Foundation
import Testing

@testable import ProfferCrypto
@testable import ProfferNostr
@testable import ProfferTestSupport
@testable import ProfferWire

@Suite("Public intents: the post of spec 6.2, made here, carried by the relay, read as a vendor reads it")
struct PublicIntentTests {
    let castKey: SchnorrKeyPair
    let reply: String

    init() throws {
        castKey = try SchnorrKeyPair.generate()
        reply = try NostrReply(publicKey: castKey.publicKey.bytes, relays: ["ws://127.0.0.1:7447"]).description
    }

    func intent(_ fields: String) throws -> Message {
        try Message.parse("#buy camera.mirrorless id:k7f3q2ab \(fields) reply:\(reply)")
    }

    @Test("expiration: the earlier of exp and by, a date ending at the next midnight UTC, else 30 days, at most 90")
    func expiration() throws {
        let posted: Int64 = 1_796_000_000  // 2026-11-30T...
        #expect(PublicIntent.expiration(of: try intent("max:1EUR"), postedAt: posted) == posted + 30 * 86400)
        #expect(PublicIntent.expiration(of: try intent("exp:48h"), postedAt: posted) == posted + 48 * 3600)
        // 2026-12-24 ends at 2026-12-25T00:00:00Z, 1798156800.
        #expect(PublicIntent.expiration(of: try intent("by:2026-12-24"), postedAt: posted) == 1_798_156_800)
        #expect(PublicIntent.expiration(of: try intent("by:2026-12-24 exp:2d"), postedAt: posted) == posted + 2 * 86400)
        #expect(PublicIntent.expiration(of: try intent("by:2027-12-24"), postedAt: posted) == posted + 90 * 86400)
        let checked = [((2000, 1, 1), 946_684_800), ((2000, 3, 1), 951_868_800), ((2024, 2, 29), 1_709_164_800)]
        for ((year, month, day), seconds) in checked {
            let date = try #require(CalendarDate(year: year, month: month, day: day))
            #expect(UTCDay.start(of: date) == Int64(seconds), "\(year)-\(month)-\(day)")
        }
    }

    @Test("the post: canonical content with id and reply, tags, expiration, 16 bits of work; the relay takes it")
    func post() async throws {
        let message = try intent("max:1200EUR in:DE terms:sd-base")
        let post = try PublicIntent.post(message, castKey: castKey, postedAt: now)
        #expect(post.kind == 1 && post.author == castKey.publicKey && post.content == message.canonicalForm)
        #expect(post.tagValues("t") == ["proffer", "buy", "camera"])
        #expect(post.expiration == post.createdAt + 30 * 86400)
        #expect(NostrKinds.committedDifficulty(of: post) == 16)
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        #expect(await pool.publish(post, within: .seconds(60)).allSatisfy(\.isAccepted), "\(relay.log)")
        let found = await pool.fetch(
            [NostrFilter(kinds: [1], tags: ["t": ["proffer"]], since: now - 60)], within: .seconds(60))
        #expect(found.events.contains(post))
        #expect(try PublicIntent.intent(of: post, now: now, requiredWork: 16).get() == message)
        // Refused to be made: not an intent, no id, a reply naming another key.
        #expect(throws: NostrError.self) {
            try PublicIntent.post(
                try Message.parse("#offer id:k7f3q2ab re:k7f3q2ac price:1EUR"), castKey: castKey, postedAt: now)
        }
        #expect(throws: NostrError.self) {
            try PublicIntent.post(try Message.parse("#buy x reply:\(reply)"), castKey: castKey, postedAt: now)
        }
        #expect(throws: NostrError.self) {
            try PublicIntent.post(message, castKey: try SchnorrKeyPair.generate(), postedAt: now)
        }
    }

    @Test(
        "what a vendor ignores: no note, too long, no intent, no reply, another key's reply, expired, too little work")
    func ignored() throws {
        let other = try SchnorrKeyPair.generate()
        func note(
            _ content: String, by key: SchnorrKeyPair? = nil, kind: Int = 1, tags: [[String]] = [], at: Int64 = now
        )
            -> NostrEvent
        {
            NostrEvent.signed(kind: kind, tags: tags, content: content, createdAt: at, by: key ?? castKey)
        }
        let good = try intent("max:1200EUR").canonicalForm
        let cases: [(NostrEvent, PublicIntent.Ignored)] = [
            (note(good, kind: 14), .notANote),
            (note(String(repeating: "x", count: 281)), .tooLong),
            (note("#buy"), .doesNotParse("missing-category")),
            (note("#offer id:k7f3q2ab re:k7f3q2ac price:1EUR"), .notAnIntent),
            (note("#buy camera max:1EUR"), .noReply),
            (note(good, by: other), .replyNotTheAuthor),
            (note(good, tags: [["expiration", String(now - 1)]]), .expired),
            (note(try intent("exp:1h").canonicalForm, at: now - 7200), .expired),
            (note(try intent("by:2026-01-01").canonicalForm, at: now - 400 * 86400), .expired),
        ]
        for (post, reason) in cases {
            #expect(PublicIntent.intent(of: post, now: now) == .failure(reason), "\(reason)")
        }
        #expect(PublicIntent.intent(of: note(good), now: now, requiredWork: 16) == .failure(.tooLittleWork(16)))
        #expect((try? PublicIntent.intent(of: note(good), now: now).get()) != nil, "work is not required by default")
    }
}
