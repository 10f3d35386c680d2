import Foundation
import GRDB
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import Testing

@testable import ProfferTestSupport
@testable import ProfferVendorKit

/// How the vendor's records are laid out: offers numbered in the order made on SQLite, keyed by sender and id with an
/// intent's offers side by side on PostgreSQL, and records kept in earlier layouts carried over.
@Suite("The vendor's records: offer ids, clashes, older records migrated")
struct VendorStorageTests {

    /// An accept of `offer` (an X-T5, which needs a name and a postal address) with both sealed to `box`.
    static func acceptNameAndPostal(
        _ offer: String, from person: SigningKeyPair, to vendor: TestVendor, box: BoxPublicKey
    )
        async -> (status: Int, replies: [Message])
    {
        await TestVendor.send(
            "#accept id:\(MessageID.random()) re:\(offer) terms:sd-base give:name,postal", from: person, to: vendor,
            sealed: try! box.seal(Array("{\"name\":\"A\",\"postal\":\"B\"}".utf8)))
    }

    /// An intent as the inbox hands it to the records: from `sender`, with one Z6 offer per id (its message padded by
    /// `padding` bytes), received at `now` under a fresh envelope pair.
    static func intentToStore(
        from sender: Data, offerIDs: [MessageID], now: Int64, padding: Int = 0
    ) -> IntentToStore {
        let id = MessageID.random()
        return IntentToStore(
            sender: sender, id: id, canonical: "#buy camera id:\(id)",
            offers: offerIDs.map { offerID in
                StoredOffer(
                    id: offerID, sender: sender, intentID: id, sku: "z6",
                    price: Money(thousandths: 1_199_000, currency: CurrencyCode("EUR")!)!, qty: 1, needs: [],
                    terms: ["sd-base"], expiresAt: now + 3600, state: .open,
                    message: "#offer id:\(offerID) re:\(id) price:1199EUR" + String(repeating: " ", count: padding))
            }, receivedAt: now, nonce: Data((0..<16).map { _ in UInt8.random(in: 0...255) }),
            seenUntil: now + 600, quotaSince: now - 3600)
    }

    /// Withdraws `intentID` and checks that `offer`, one of its offers, can no longer be accepted.
    static func expectWithdrawalCloses(
        _ intentID: MessageID, offer: MessageID, from person: SigningKeyPair, to vendor: TestVendor
    ) async {
        let withdraw = await TestVendor.send(
            "#withdraw id:\(MessageID.random()) re:\(intentID)", from: person, to: vendor)
        #expect(withdraw.status == 200)
        let late = await acceptNameAndPostal(
            offer.description, from: person, to: vendor, box: vendor.inbox.keys.box.publicKey)
        #expect(late.status == 422, "the offer was withdrawn with its intent")
    }

    @Test("the vendor's Nostr key is made on first run, 0600 beside the others, and the same on every later run")
    func nostrKey() throws {
        let folder = "/tmp/proffer-keys-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try VendorKeys.loadOrCreate(in: folder)
        let again = try VendorKeys.loadOrCreate(in: folder)
        #expect(first.nostr.publicKey == again.nostr.publicKey)
        var status = stat()
        #expect(stat(folder + "/nostr.key", &status) == 0 && status.st_mode & 0o777 == 0o600)
        // A key file that is no secp256k1 secret is refused, not replaced.
        try Data(repeating: 0xFF, count: 32).write(to: URL(fileURLWithPath: folder + "/nostr.key"))
        chmod(folder + "/nostr.key", 0o600)
        #expect(throws: VendorStoreError.self) { try VendorKeys.loadOrCreate(in: folder) }
    }

    @Test("the offers of one intent share their first 25 bits and differ after; random bits differ between intents")
    func offerIDsSharePrefix() {
        for count in [1, 2, 5] {
            let ids = PostgresRecords.offerIDs(count: count)
            #expect(ids.count == count && Set(ids).count == count)
            #expect(Set(ids.map { $0.bits >> 15 }).count == 1)
        }
        let prefixes = Set((0..<200).map { _ in PostgresRecords.offerIDs(count: 2)[0].bits >> 15 })
        #expect(prefixes.count > 190, "prefixes are random, not a counter or a clock")
    }

    @Test(
        "a counter's offer joins its intent: a resent intent lists it in the order made; a withdrawal closes it too",
        arguments: Engine.allCases)
    func counterJoinsIntent(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let intentID = MessageID.random()
        let intent = "#buy camera.mirrorless id:\(intentID) max:1300EUR terms:sd-base"
        let first = await TestVendor.send(intent, from: person, to: vendor)
        #expect(first.replies.count == 2)
        let xt5 = try #require(first.replies.first { $0.item == "X-T5 body" })
        let counter = await TestVendor.send(
            "#counter id:\(MessageID.random()) re:\(xt5.id!) price:1100EUR", from: person, to: vendor)
        let countered = try #require(counter.replies.first)
        #expect(countered.kind == .offer && countered.price?.description == "1100EUR")

        let resent = await TestVendor.send(intent, from: person, to: vendor)
        let expected = first.replies.compactMap(\.id).filter { $0 != xt5.id } + [countered.id!]
        #expect(resent.replies.map(\.id) == expected)

        await Self.expectWithdrawalCloses(intentID, offer: countered.id!, from: person, to: vendor)
    }

    @Test(
        "an offer id the sender already has: nothing of that intent is kept, its envelope may come again; the rest of the batch is stored",
        arguments: Engine.allCases)
    func offerIDTaken(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let records = vendor.inbox.records
        let sender = Data(try SigningKeyPair.generate().publicKey.bytes)
        let now = Timestamp.now.secondsSince1970
        func intent(_ offerIDs: [MessageID]) -> IntentToStore {
            Self.intentToStore(from: sender, offerIDs: offerIDs, now: now)
        }
        func fresh(_ count: Int) throws -> [MessageID] { try records.newOfferIDs(count: count) }
        let first = intent(try fresh(2))
        #expect(try await records.storeIntents([first]) == [.stored])

        let clashing = intent(try fresh(1) + [first.offers[1].id])
        let other = intent(try fresh(1))
        #expect(try await records.storeIntents([clashing, other]) == [.offerIDTaken, .stored])
        #expect(
            try await records.offer(id: clashing.offers[0].id, sender: sender) == nil,
            "the clashing intent's first offer is gone")
        #expect(try await records.offer(id: first.offers[1].id, sender: sender)?.intentID == first.id)
        #expect(try await records.offer(id: other.offers[0].id, sender: sender)?.intentID == other.id)
        #expect(try await records.openOffers(sender: sender, intentID: clashing.id, now: now).isEmpty)

        // The same envelope (pair) with fresh ids is stored: it was not remembered as seen.
        var retried = intent(try fresh(2))
        retried.id = clashing.id
        retried.nonce = clashing.nonce
        retried.offers = retried.offers.map {
            var offer = $0
            offer.intentID = clashing.id
            return offer
        }
        #expect(try await records.storeIntents([retried]) == [.stored])
        #expect(try await records.openOffers(sender: sender, intentID: clashing.id, now: now).count == 2)

        // Offer ids are the sender's own: another key may get the same id on PostgreSQL. On SQLite an id stands for
        // one number, which no other offer gets.
        var elsewhere = intent([first.offers[0].id])
        let otherSender = Data(try SigningKeyPair.generate().publicKey.bytes)
        elsewhere.sender = otherSender
        elsewhere.offers = elsewhere.offers.map {
            var offer = $0
            offer.sender = otherSender
            return offer
        }
        #expect(try await records.storeIntents([elsewhere]) == [engine == .sqlite ? .offerIDTaken : .stored])
        #expect(try await records.offer(id: first.offers[0].id, sender: otherSender) == nil || engine == .postgresql)
        #expect(try await records.offer(id: first.offers[0].id, sender: sender)?.intentID == first.id)
    }

    @Test(
        "records kept before the by-sender layout carry over: a resent intent gets its offers in order; one is accepted",
        arguments: Engine.allCases)
    func olderRecordsMigrate(engine: Engine) async throws {
        let place = try VendorPlace(engine)
        let keys = try VendorKeys.loadOrCreate(in: place.folder.path)
        let person = try SigningKeyPair.generate()
        let intentID = MessageID.random()
        let intent = try Message.parse("#buy camera.mirrorless id:\(intentID) max:1300EUR terms:sd-base")
        let now = Timestamp.now
        // Three offers as the earlier code stored them (whole envelopes, ids unique among all senders), in an order
        // their ids do not have: an X-T5, countered by a cheaper X-T5, and a Z6 between them.
        let offers = try [
            ("zzzzzzzz", "xt5", "1149EUR", "X-T5 body", "3d", "name,postal", "countered"),
            ("mmmmmmmm", "z6", "1199EUR", "Z6 II body", "2d", "name", "open"),
            ("aaaaaaaa", "xt5", "1100EUR", "X-T5 body", "3d", "name,postal", "open"),
        ]
        .map {
            id, sku, price, title, eta, needs, state -> (
                id: String, sku: String, price: String, needs: String, state: String, envelope: String
            ) in
            let message = try Message.parse(
                "#offer id:\(id) re:\(intentID) price:\(price) item:\"\(title)\" sku:\(sku) eta:\(eta) exp:2d terms:sd-base needs:\(needs)"
            )
            let envelope = Envelope.signed(
                message: message.canonicalForm, by: keys.signing, to: person.publicKey, at: now)
            return (id, sku, price, needs, state, envelope.json)
        }
        let sender = Data(person.publicKey.bytes)
        let expiresAt = now.secondsSince1970 + 2 * 86_400
        switch engine {
        case .sqlite:
            let database = try DatabaseQueue(path: place.folder.path + "/vendor.db")
            try SQLiteRecords.migrator.migrate(database, upTo: "v3-seen-by-pair")
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO intents (sender, id, state, canonical, received_at) VALUES (?, ?, 'open', ?, ?)",
                    arguments: [sender, intentID.description, intent.canonicalForm, now.secondsSince1970])
                for offer in offers {
                    try db.execute(
                        sql: """
                            INSERT INTO offers (id, sender, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, envelope)
                            VALUES (?, ?, ?, ?, ?, 'EUR', 1, ?, 'sd-base', ?, ?, ?)
                            """,
                        arguments: [
                            offer.id, sender, intentID.description, offer.sku, Money(offer.price)!.thousandths,
                            offer.needs, expiresAt, offer.state, offer.envelope,
                        ])
                }
            }
            try database.close()
        case .postgresql:
            let postgres = try ThrowawayPostgres.shared()
            let name = String(place.databaseURL!.split(separator: "/").last!)
            let hex = sender.map { String(format: "%02x", $0) }.joined()
            var statements = PostgresRecords.migrations[0].statements
            statements.append("CREATE TABLE proffer_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            statements.append("INSERT INTO proffer_migrations VALUES ('v1', 0)")
            statements.append(
                "INSERT INTO intents VALUES ('\\x\(hex)', '\(intentID)', 'open', '\(intent.canonicalForm)', \(now.secondsSince1970))"
            )
            for offer in offers {
                statements.append(
                    """
                    INSERT INTO offers (id, sender, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, envelope)
                    VALUES ('\(offer.id)', '\\x\(hex)', '\(intentID)', '\(offer.sku)', \(Money(offer.price)!.thousandths),
                            'EUR', 1, '\(offer.needs)', 'sd-base', \(expiresAt), '\(offer.state)', '\(offer.envelope)')
                    """)
            }
            for statement in statements { _ = try postgres.psql(database: name, statement) }
        }

        let vendor = try await TestVendor.started(at: place)
        let resent = await TestVendor.send(intent.canonicalForm, from: person, to: vendor)
        #expect(resent.status == 200)
        #expect(resent.replies.map(\.id?.description) == ["mmmmmmmm", "aaaaaaaa"], "open ones, in the order made")
        #expect(resent.replies.map(\.price?.description) == ["1199EUR", "1100EUR"])
        let data = try keys.box.publicKey.seal(Array("{\"name\":\"Ada\"}".utf8))
        let accept = await TestVendor.send(
            "#accept id:\(MessageID.random()) re:\(offers[1].id) terms:sd-base give:name", from: person, to: vendor,
            sealed: data)
        #expect(accept.replies.first?.kind == .confirm, "\(accept.status)")
        #expect(try await vendor.inbox.records.deals().count == 1)
        let countered = await Self.acceptNameAndPostal("zzzzzzzz", from: person, to: vendor, box: keys.box.publicKey)
        #expect(countered.status == 422, "a countered offer stays countered")

        // An older offer countered: the new offer joins the intent's list after it; a withdrawal closes both.
        let counter = await TestVendor.send(
            "#counter id:\(MessageID.random()) re:aaaaaaaa price:1090EUR", from: person, to: vendor)
        let newOffer = try #require(counter.replies.first?.id, "\(counter.status)")
        let again = await TestVendor.send(intent.canonicalForm, from: person, to: vendor)
        #expect(again.replies.map(\.id) == [newOffer], "the Z6 was accepted, the older X-T5 countered")
        await Self.expectWithdrawalCloses(intentID, offer: newOffer, from: person, to: vendor)
        let declined = await TestVendor.send("#decline id:\(MessageID.random()) re:aaaaaaaa", from: person, to: vendor)
        #expect(declined.status == 200, "declining an offer no longer open changes nothing")
    }

    @Test(
        "crafted offer ids in re: (the highest id, another person's offer, one never made) are unknown, and the vendor goes on",
        arguments: Engine.allCases)
    func craftedOfferIDs(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let other = try SigningKeyPair.generate()
        let intent = "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base"
        let theirs = await TestVendor.send(intent, from: other, to: vendor)
        let theirOffer = try #require(theirs.replies.first?.id)
        for id in ["zzzzzzzz", "00000000", theirOffer.description, MessageID.random().description] {
            let counter = await TestVendor.send(
                "#counter id:\(MessageID.random()) re:\(id) price:1100EUR", from: person, to: vendor)
            #expect(counter.status == 422, "\(id)")
            let accept = await Self.acceptNameAndPostal(
                id, from: person, to: vendor, box: vendor.inbox.keys.box.publicKey)
            #expect(accept.status == 422, "\(id)")
        }
        let mine = await TestVendor.send(intent, from: person, to: vendor)
        #expect(mine.status == 200 && mine.replies.count == 2)
        #expect(
            try await vendor.inbox.records.offer(id: theirOffer, sender: Data(other.publicKey.bytes)) != nil
        )
    }

    @Test(
        "a counter whose new id is taken changes nothing; an intent takes offers up to its bound, then 429",
        arguments: Engine.allCases)
    func counterClashAndBound(engine: Engine) async throws {
        let vendor = try await TestVendor.started(engine)
        let person = try SigningKeyPair.generate()
        let sender = Data(person.publicKey.bytes)
        let first = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        let z6 = try #require(first.replies.first { $0.item == "Z6 II body" })
        let xt5 = try #require(first.replies.first { $0.item == "X-T5 body" })
        let records = vendor.inbox.records
        var clash = try #require(try await records.offer(id: z6.id!, sender: sender))
        clash.id = xt5.id!
        #expect(try await records.supersede(offerID: z6.id!, with: clash) == .offerIDTaken)
        #expect(try await records.offer(id: z6.id!, sender: sender)?.state == .open, "rolled back")

        var latest = z6.id!
        for _ in 0..<(VendorLimits.offersPerIntentInAll - first.replies.count) {
            let counter = await TestVendor.send(
                "#counter id:\(MessageID.random()) re:\(latest) price:1199EUR", from: person, to: vendor)
            latest = try #require(counter.replies.first?.id, "\(counter.status)")
        }
        let past = await TestVendor.send(
            "#counter id:\(MessageID.random()) re:\(latest) price:1199EUR", from: person, to: vendor)
        #expect(past.status == 429)
        #expect(try await records.offer(id: latest, sender: sender)?.state == .open)
    }

    @Test(
        "copies of an intent's envelopes are replays after a restart; an envelope refused for the quota leaves no pair",
        arguments: Engine.allCases)
    func intentPairs(engine: Engine) async throws {
        let place = try VendorPlace(engine)
        let person = try SigningKeyPair.generate()
        let vendor = try await TestVendor.started(at: place)
        let key = vendor.inbox.keys.signing.publicKey
        let message = "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base"
        let first = Envelope.signed(message: message, by: person, to: key)
        let second = Envelope.signed(message: message, by: person, to: key)
        #expect(await vendor.inbox.handle(body: first.jsonBytes).status == 200)
        let resent = await vendor.inbox.handle(body: second.jsonBytes)
        #expect(resent.status == 200 && TestVendor.replies(in: resent.body).count == 2)

        for _ in 1..<VendorLimits.openIntentsPerSender {
            let intent = Envelope.signed(
                message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: person, to: key)
            #expect(await vendor.inbox.handle(body: intent.jsonBytes).status == 200)
        }
        let lensID = MessageID.random()
        let overQuota = Envelope.signed(message: "#buy lens id:\(lensID) terms:sd-base", by: person, to: key)
        #expect(await vendor.inbox.handle(body: overQuota.jsonBytes).status == 429)
        await vendor.stop()

        let restarted = try await TestVendor.started(at: place)
        for copy in [first, second] {
            #expect(await restarted.inbox.handle(body: copy.jsonBytes).status == 409)
        }
        let withdraw = Envelope.signed(
            message: "#withdraw id:\(MessageID.random()) re:\(try Message.parse(message).id!)", by: person, to: key)
        #expect(await restarted.inbox.handle(body: withdraw.jsonBytes).status == 200)
        let again = await restarted.inbox.handle(body: overQuota.jsonBytes)
        #expect(
            again.status == 200,
            "refused for the quota, it was never received: \(String(decoding: again.body, as: UTF8.self))")
        #expect(await restarted.inbox.handle(body: overQuota.jsonBytes).status == 409)
    }
    @Test(
        "SQLite numbers offers under a key new each run: a number given again after its offer was lost gets a new id; older runs' and older layouts' offers are found; an id not given out, or clashing with an older offer of its sender, is refused; a key edited by hand stops the vendor"
    )
    func offerNumbering() async throws {
        let place = try VendorPlace(.sqlite)
        let sender = Data(try SigningKeyPair.generate().publicKey.bytes)
        let now = Timestamp.now.secondsSince1970
        func intent(_ offerIDs: [MessageID]) -> IntentToStore {
            Self.intentToStore(from: sender, offerIDs: offerIDs, now: now)
        }
        var records: SQLiteRecords? = try SQLiteRecords(folder: place.folder.path)
        let database = try DatabaseQueue(path: place.folder.path + "/vendor.db")
        func key(from number: Int) async throws -> FortyBitCipher {
            try await database.read { db in
                FortyBitCipher(
                    key: [UInt8](
                        try Data.fetchOne(
                            db, sql: "SELECT key FROM offer_numbering WHERE first_number = ?", arguments: [number])!))!
            }
        }

        let firstRun = try records!.newOfferIDs(count: 3)
        #expect(try await records!.storeIntents([intent(Array(firstRun[..<2]))]) == [.stored])
        records?.close()  // closed, the folder let go, as at a restart
        records = nil
        let firstKey = try await key(from: 1)
        #expect(firstRun.map { firstKey.decrypt($0.bits) } == [1, 2, 3], "numbered in order")

        // Offer 2 is lost, as a power loss before a checkpoint, or restoring a backup, would lose it.
        try await database.write { db in try db.execute(sql: "DELETE FROM offers WHERE number = 2") }
        records = try SQLiteRecords(folder: place.folder.path)
        let secondRun = try records!.newOfferIDs(count: 2)
        let secondKey = try await key(from: 2)
        #expect(secondRun.map { secondKey.decrypt($0.bits) } == [2, 3])
        #expect(Set(secondRun).isDisjoint(with: firstRun), "numbers 2 and 3 have new ids")
        #expect(try await records!.storeIntents([intent(secondRun)]) == [.stored])
        #expect(try await records!.offer(id: firstRun[0], sender: sender) != nil, "found with its key")
        #expect(try await records!.offer(id: secondRun[1], sender: sender) != nil)
        #expect(try await records!.offer(id: firstRun[1], sender: sender) == nil, "the lost offer")
        #expect(try await records!.offer(id: firstRun[0], sender: Data(repeating: 7, count: 32)) == nil)
        await #expect(throws: VendorStoreError.self, "a number not given out") {
            try await records!.storeIntents([intent([MessageID(bits: secondKey.encrypt(50))])])
        }
        await #expect(throws: VendorStoreError.self, "an id of an earlier run") {
            try await records!.storeIntents([intent([MessageID(bits: firstKey.encrypt(3))])])
        }
        records?.close()
        records = nil

        // An offer kept from before offers were numbered; once the vendor runs, its id is made the next one to be
        // given out to the same sender.
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO offers (number, sender, id, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message)
                    VALUES (100, ?, 'aaaaaaaa', 'zzzzzzzz', 'z6', 1199000, 'EUR', 1, '', 'sd-base', ?, 'open', '#offer')
                    """, arguments: [sender, now + 3600])
            try db.execute(
                sql: "INSERT INTO offers_made_before_v5 (sender, id, number) VALUES (?, 'aaaaaaaa', 100)",
                arguments: [sender])
        }
        records = try SQLiteRecords(folder: place.folder.path)
        let clashing = MessageID(bits: try await key(from: 101).encrypt(101)).description
        try await database.write { db in
            try db.execute(sql: "UPDATE offers SET id = ? WHERE number = 100", arguments: [clashing])
            try db.execute(sql: "UPDATE offers_made_before_v5 SET id = ?", arguments: [clashing])
        }
        let next = try records!.newOfferIDs(count: 1)
        #expect(next.map(\.description) == [clashing])
        #expect(
            try await records!.storeIntents([intent(next), intent(try records!.newOfferIDs(count: 1))]) == [
                .offerIDTaken, .stored,
            ])
        #expect(
            try await records!.offer(id: MessageID(clashing)!, sender: sender)?.intentID == MessageID("zzzzzzzz"),
            "the older offer")
        #expect(try await records!.storeIntents([intent(try records!.newOfferIDs(count: 1))]) == [.stored])
        records?.close()
        records = nil

        try await database.write { db in try db.execute(sql: "UPDATE offer_numbering SET key = x'0102'") }
        try database.close()
        #expect {
            _ = try SQLiteRecords(folder: place.folder.path)
        } throws: { error in
            "\(error)".contains("offer_numbering holds a row that is not a first number and a 16-byte key")
        }
        for edit in ["UPDATE offer_numbering SET key = 5", "UPDATE offer_numbering SET first_number = -first_number"] {
            let again = try DatabaseQueue(path: place.folder.path + "/vendor.db")
            try await again.write { db in
                try db.execute(sql: "UPDATE offer_numbering SET key = randomblob(16), first_number = abs(first_number)")
                try db.execute(sql: edit)
            }
            try again.close()
            #expect(throws: VendorStoreError.self, "\(edit)") { _ = try SQLiteRecords(folder: place.folder.path) }
        }
    }

    @Test("SQLite lets go of the keys of runs that kept no offer, or whose offers have all lapsed")
    func offerKeysLetGo() async throws {
        let place = try VendorPlace(.sqlite)
        let sender = Data(try SigningKeyPair.generate().publicKey.bytes)
        let now = Timestamp.now.secondsSince1970
        func keys() throws -> [UInt64] {
            let database = try DatabaseQueue(path: place.folder.path + "/vendor.db")
            defer { try? database.close() }
            return try database.read { db in
                try UInt64.fetchAll(db, sql: "SELECT first_number FROM offer_numbering ORDER BY first_number")
            }
        }
        _ = try SQLiteRecords(folder: place.folder.path)
        _ = try SQLiteRecords(folder: place.folder.path)
        #expect(try keys() == [1], "runs that made no offer leave no key")

        var records: SQLiteRecords? = try SQLiteRecords(folder: place.folder.path)
        let ids = try records!.newOfferIDs(count: 1)
        let stored = try await records!.storeIntents([
            Self.intentToStore(from: sender, offerIDs: [ids[0]], now: now)
        ])
        #expect(stored == [.stored])
        records?.close()
        records = nil
        records = try SQLiteRecords(folder: place.folder.path)
        #expect(try keys() == [1, 2], "the run whose offer stands keeps its key, and the new run has one")
        #expect(try await records!.offer(id: ids[0], sender: sender) != nil)
        records?.close()
        records = nil

        records = try SQLiteRecords(folder: place.folder.path, now: Timestamp(secondsSince1970: now + 7200))
        #expect(try keys() == [2], "once its offer lapsed, its key is let go")
        #expect(try await records!.offer(id: ids[0], sender: sender) == nil, "a lapsed offer is unknown")
        #expect(try records!.newOfferIDs(count: 1) != ids, "number 2 under the new key")
    }

    @Test(
        "SQLite's WAL is checkpointed after a group commit once past its length, and by the commit itself at four times it"
    )
    func checkpointAfterGroupCommit() async throws {
        let place = try VendorPlace(.sqlite)
        let records = try SQLiteRecords(folder: place.folder.path, checkpointPages: 40)
        let now = Timestamp.now.secondsSince1970
        func group() throws -> [IntentToStore] {
            try (0..<10).map { _ in
                Self.intentToStore(
                    from: Data(try SigningKeyPair.generate().publicKey.bytes),
                    offerIDs: [try records.newOfferIDs(count: 1)[0]], now: now, padding: 600)
            }
        }
        var longest: Int32 = 0
        for _ in 0..<40 {
            _ = try await records.storeIntents(try group())
            longest = max(longest, records.walLength.pages)
            try await records.finishGroupCommit()
        }
        #expect(longest >= 40, "the groups grew the WAL past its length")
        #expect(longest < 80, "and it started again after each checkpoint")

        var reported: [Int32] = []
        for _ in 0..<80 {
            _ = try await records.storeIntents(try group())
            reported.append(records.walLength.pages)
        }
        #expect(reported.max()! >= 160, "without group checkpoints the WAL grows to four times its length")
        #expect(reported.max()! < 200, "and no further: \(reported)")
    }

    @Test("vendor.db can be backed up while the vendor runs, as the README says")
    func onlineBackup() async throws {
        let vendor = try await TestVendor.started(.sqlite)
        let person = try SigningKeyPair.generate()
        let answer = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        #expect(answer.replies.count == 2)
        var readOnly = Configuration()
        readOnly.readonly = true
        let running = try DatabaseQueue(path: vendor.folder.path + "/vendor.db", configuration: readOnly)
        let copy = try DatabaseQueue(path: vendor.folder.path + "/copy.db")
        try running.backup(to: copy)
        #expect(try await copy.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM offers") } == 2)
        // The vendor goes on after the copy.
        let more = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        #expect(more.status == 200)
    }
    @Test(
        "a forget that a backup's read transaction keeps from leaving the files is answered 503, not confirmed; the retry confirms and keeps the digest"
    )
    func forgetBlockedByReader() async throws {
        let vendor = try await TestVendor.started(.sqlite)
        let person = try SigningKeyPair.generate()
        let offers = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        let xt5 = try #require(offers.replies.first { $0.item == "X-T5 body" }?.id)
        let acceptID = MessageID.random()
        let accepted = await TestVendor.send(
            "#accept id:\(acceptID) re:\(xt5) terms:sd-base give:name,postal", from: person, to: vendor,
            sealed: try vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"Ada\",\"postal\":\"1 Main St\"}".utf8)))
        #expect(accepted.replies.first?.kind == .confirm)

        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the snapshot is held across accesses on purpose
        let backup = try DatabaseQueue(path: vendor.folder.path + "/vendor.db", configuration: holding)
        try await backup.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deals")
        }
        let blocked = await TestVendor.send("#forget id:\(MessageID.random()) re:\(acceptID)", from: person, to: vendor)
        #expect(blocked.status == 503, "the disclosed data is still in the files: no confirm")
        let others = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base",
            from: try SigningKeyPair.generate(),
            to: vendor)
        #expect(others.status == 200, "other senders wait at most the forget's short wait, not 5 s")
        try await backup.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }

        let retried = await TestVendor.send("#forget id:\(MessageID.random()) re:\(acceptID)", from: person, to: vendor)
        #expect(retried.replies.first?.kind == .confirm)
        let kept = try backup.read { db in
            try Row.fetchOne(db, sql: "SELECT state, disclosed, disclosed_digest FROM deals")
        }
        #expect(kept?["state"] == "forgotten" && kept?["disclosed"] == nil as String?)
        #expect((kept?["disclosed_digest"] as String?)?.isEmpty == false, "the digest of what was disclosed")
        let files = try FileManager.default.contentsOfDirectory(atPath: vendor.folder.path)
        for file in files where file.hasPrefix("vendor.db") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: vendor.folder.path + "/" + file))
            #expect(bytes.range(of: Data("1 Main St".utf8)) == nil, "\(file)")
        }
    }

    @Test("another process holding vendor.db's write lock past the busy timeout gets the sender 503 busy, not 500")
    func lockedByAnotherProcess() async throws {
        let vendor = try await TestVendor.started(.sqlite)
        let person = try SigningKeyPair.generate()
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the lock is held across accesses on purpose
        let other = try DatabaseQueue(path: vendor.folder.path + "/vendor.db", configuration: holding)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        let blocked = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        #expect(blocked.status == 503)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        let answered = await TestVendor.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR terms:sd-base", from: person, to: vendor)
        #expect(answered.status == 200 && answered.replies.count == 2)
    }
}
