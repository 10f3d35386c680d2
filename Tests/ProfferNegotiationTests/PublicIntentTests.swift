import Foundation
import Hummingbird
import ProfferCrypto
import ProfferNostr
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// A reference vendor that answers public intents (PROTOCOL.md §6) on real relays: its inbox and Nostr listener run
/// in this process, over real records.
final class NostrTestVendor: Sendable {
    let place: VendorPlace
    let inbox: VendorInbox
    let listener: NostrListener
    private let running: Task<Void, Never>

    init(at place: VendorPlace, relays: [String], catalogJSON: String = cameraCatalogJSON) async throws {
        self.place = place
        let inbox = VendorInbox(
            catalog: try Catalog(json: Data(catalogJSON.utf8)),
            keys: try VendorKeys.loadOrCreate(in: place.folder.path),
            records: try place.openRecords(), relays: relays)
        let listener = NostrListener(inbox: inbox, relays: relays)
        (self.inbox, self.listener) = (inbox, listener)
        // The records run first (on PostgreSQL, their connections), then the schema is made, then the listener reads.
        let migrated = AsyncStream<Void>.makeStream()
        running = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await inbox.run() }
                group.addTask {
                    for await _ in migrated.stream { break }
                    try? await listener.run()
                }
            }
        }
        do {
            try await inbox.records.migrate()
        } catch {
            running.cancel()
            throw error
        }
        migrated.continuation.yield()
        migrated.continuation.finish()
    }

    convenience init(_ engine: Engine, relays: [String], catalogJSON: String = cameraCatalogJSON) async throws {
        try await self.init(at: try VendorPlace(engine), relays: relays, catalogJSON: catalogJSON)
    }

    func stop() async {
        running.cancel()
        await running.value
    }

    deinit { running.cancel() }

    /// A router serving the same vendor over HTTP (PROTOCOL.md §4), beside Nostr.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let inbox = self.inbox
        router.get("profile") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: inbox.profile.jsonBytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let reply = await inbox.handle(body: body)
            return Response(status: .init(code: reply.status), body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        return router
    }
}

/// Every byte of every file under `folder`, as someone reading the disk would see them.
func bytesOfFiles(in folder: String) -> [UInt8] {
    var bytes: [UInt8] = []
    let enumerator = FileManager.default.enumerator(atPath: folder)
    while let name = enumerator?.nextObject() as? String {
        if let data = FileManager.default.contents(atPath: folder + "/" + name) { bytes += data }
    }
    return bytes
}

extension CLIPerson {
    /// Casts `text` as a public intent to `relays`: the intent's id and what the cast printed.
    func cast(_ text: String = "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", relays: [String])
        async throws -> (id: String, outcome: ProfferProcess.Outcome)
    {
        let id = try await intent(text)
        let arguments = ["intent", "cast", id] + relays.flatMap { ["--relay", $0] }
        let outcome = try await ProfferProcess.run(arguments, environment: environment)
        return (id, outcome)
    }

    /// Runs `inbox` until an offer from `vendor` is stored for `intent`, or 30 s pass.
    func awaitOffers(for intent: String, from vendor: String? = nil) async throws -> [[String: Any]] {
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            let offers = try await json("offer", "list", intent, "--json").filter {
                vendor == nil || ($0["vendor"] as? String)?.hasPrefix(vendor!) == true
            }
            if !offers.isEmpty { return offers }
            try await expectSuccess("inbox", "--timeout", "10")
            try await Task.sleep(for: .milliseconds(200))
        }
        return []
    }
}

/// A public intent cast by a new person to a vendor on Nostr alone, on a relay of its own, and its first offer.
struct CastFixture {
    let relay: NostrTestRelay
    let place: VendorPlace
    let vendor: NostrTestVendor
    let person: CLIPerson
    let intent: String
    let offer: String

    static func make() async throws -> CastFixture {
        let relay = try await NostrTestRelay()
        let place = try VendorPlace(.sqlite)
        let vendor = try await NostrTestVendor(at: place, relays: [relay.url])
        let person = try await CLIPerson()
        try await Task.sleep(for: .milliseconds(500))  // the listener subscribes
        let (id, _) = try await person.cast(relays: [relay.url])
        let offer = try #require((try await person.awaitOffers(for: id)).first?["name"] as? String)
        return CastFixture(relay: relay, place: place, vendor: vendor, person: person, intent: id, offer: offer)
    }
}

extension CLIPerson {
    /// Sends a deal's accept again (`deal retry`) until it is confirmed or 60 s pass: its state then.
    func retryUntilConfirmed(_ deal: String) async throws -> String {
        var state = ""
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end && state != "confirmed" {
            _ = try await run("deal", "retry", deal, "--yes", "--timeout", "10")
            state =
                try await json("deal", "list", "--json").first { $0["id"] as? String == deal }?["state"] as? String
                ?? ""
        }
        return state
    }
}

@Suite("Public intents over Nostr, through the CLI, against a real relay", .serialized)
struct PublicIntentTests {
    @Test(
        "cast, offers from a vendor found over Nostr and one also on HTTP, counter, accept with pinning, confirm, forget, withdraw; the relay holds no personal value"
    )
    func wholeConversation() async throws {
        let relay = try await NostrTestRelay()
        let nostrOnly = try await NostrTestVendor(.sqlite, relays: [relay.url])
        let bothWays = try await NostrTestVendor(
            .sqlite, relays: [relay.url],
            catalogJSON: cameraCatalogJSON.replacingOccurrences(
                of: "Test Cameras", with: "Prism Optics"))
        defer {
            Task {
                await nostrOnly.stop()
                await bothWays.stop()
            }
        }
        let person = try await CLIPerson()
        try await withServer(bothWays.router()) { url in
            // The vendor with HTTP too is pinned the usual way; its profile names its Nostr key and relays.
            try await person.expectSuccess("vendor", "add", url, "--name", "prism", "--yes")
            let listed = try await person.json("vendor", "list", "--json")
            #expect(listed.count == 1)
            try await Task.sleep(for: .milliseconds(500))  // the listeners subscribe
            let (id, cast) = try await person.cast(relays: [relay.url])
            #expect(cast.status == 0, "\(cast.stdout) \(cast.stderr)")
            #expect(cast.stdout.contains("reply:nostr:nprofile1"), "\(cast.stdout)")
            #expect(cast.stdout.contains("accepted"), "\(cast.stdout)")
            let offers = try await person.awaitOffers(for: id, from: "test-cameras")
            #expect(!offers.isEmpty, "the Nostr-only vendor's offers arrive")
            let prism = try await person.awaitOffers(for: id, from: "prism")
            #expect(!prism.isEmpty, "the pinned vendor's offers arrive over Nostr too")
            // The vendor found over Nostr is marked, with its profile's name, fingerprint and relay.
            let lumenOffer = try #require(offers.first { ($0["item"] as? String) == "X-T5 body" })
            let unpinned = try #require(lumenOffer["unpinnedVendor"] as? [String: Any])
            #expect(unpinned["profileName"] as? String == "Test Cameras")
            #expect(unpinned["foundOn"] as? String == relay.url)
            #expect(prism.allSatisfy { $0["unpinnedVendor"] == nil })
            let lumenName = try #require(lumenOffer["name"] as? String)
            // A vendor not pinned gets nothing: no accept without --pin (there is no terminal to ask on), no counter.
            let refused = try await person.run("offer", "accept", lumenName, "--yes")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("--pin"), "\(refused.stderr)")
            let notPinned = try await person.run("offer", "counter", lumenName, "--price", "1100")
            #expect(notPinned.status != 0)
            #expect(notPinned.stderr.contains("proffer vendor pin test-cameras"), "\(notPinned.stderr)")
            let pinned = try await person.expectSuccess("vendor", "pin", "test-cameras", "--yes")
            #expect(pinned.stdout.contains("Test Cameras") && pinned.stdout.contains("pinned test-cameras"))
            // Counter over Nostr: a new offer replaces the old one.
            let countered = try await person.expectSuccess("offer", "counter", lumenName, "--price", "1100")
            #expect(countered.stdout.hasPrefix("new offer"), "\(countered.stdout)")
            let afterCounter = try await person.json("offer", "list", id, "--json")
            let newOffer = try #require(
                afterCounter.first {
                    ($0["vendor"] as? String)?.hasPrefix("test-cameras") == true
                        && ($0["price"] as? String) == "1100EUR"
                }?["name"] as? String,
                "\(countered.stdout) \(afterCounter.map { ($0["name"] ?? "", $0["price"] ?? "", $0["state"] ?? "") })")
            let accepted = try await person.expectSuccess("offer", "accept", newOffer, "--yes", "--pin")
            #expect(accepted.stdout.contains("confirmed"), "\(accepted.stdout)")
            let deals = try await person.json("deal", "list", "--json")
            let deal = try #require(deals.first?["id"] as? String)
            #expect(deals.first?["state"] as? String == "confirmed")
            let forgotten = try await person.expectSuccess("deal", "forget", deal, "--yes")
            #expect(forgotten.stdout.contains("confirmed it deleted"), "\(forgotten.stdout)")
            // A decline over Nostr closes the offer.
            let prismOffer = try #require(prism.first?["name"] as? String)
            try await person.expectSuccess("offer", "decline", prismOffer, "--why", "found another")
            let closed = try await person.json("offer", "list", id, "--json", "--all")
            #expect(closed.first { $0["name"] as? String == prismOffer }?["state"] as? String == "declined")
            // The report agrees: the deal, its vendor found over Nostr, and the forget confirmed.
            let report = person.folder.path + "/report.html"
            try await person.expectSuccess("audit", "report", "--html", report)
            let page = try String(contentsOfFile: report, encoding: .utf8)
            #expect(page.contains(deal) && page.contains("test-cameras") && page.contains("nostr:npub1"))
            #expect(!page.contains("Ada Lovelace") && !page.contains("12 Example Street"))
            let withdrawn = try await person.expectSuccess("intent", "withdraw", id)
            #expect(withdrawn.stdout.contains("POST DELETION"), "\(withdrawn.stdout)")
            #expect(
                withdrawn.stdout.contains("prism") && withdrawn.stdout.contains("test-cameras"), "\(withdrawn.stdout)")
            try await person.expectSuccess("audit", "verify")
            let holdings = try await person.json("holdings", "--json")
            #expect(!holdings.isEmpty && holdings.allSatisfy { $0["state"] as? String == "forgotten" }, "\(holdings)")
            let records = person.folder.path + "/consent"
            try await person.expectSuccess("audit", "export", records)
            let consent = try String(contentsOfFile: records + "/\(deal).jsonld", encoding: .utf8)
            #expect(consent.contains("NostrSeal") && consent.contains("nostr:npub1"), "\(consent.prefix(600))")
            // What the relay keeps: the public post, wraps and profiles; never a personal value or an offer.
            let stored = bytesOfFiles(in: relay.folder)
            for secret in ["Ada Lovelace", "12 Example Street", "X-T5", "1100EUR", "#offer", "#accept"] {
                #expect(!stored.contains(bytes: Array(secret.utf8)), "the relay's files hold \(secret)")
            }
            // The vendor holds the data no more.
            let vendorDeals = try await nostrOnly.inbox.records.deals()
            #expect(vendorDeals.count == 1 && vendorDeals.allSatisfy { $0.disclosed == nil })
        }
    }

    @Test("two relays, one of them down: the cast and the inbox say which failed, and the other still works")
    func oneRelayDown() async throws {
        let relay = try await NostrTestRelay()
        let vendor = try await NostrTestVendor(.sqlite, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let person = try await CLIPerson()
        let dead = "ws://127.0.0.1:\(try BackgroundServer.freePort())"
        try await Task.sleep(for: .milliseconds(500))
        try await person.expectSuccess("pref", "set", "nostr.relays", "\(relay.url),\(dead)")
        let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
        // --wait shows the answers arriving in that time; --json gives each relay's outcome and the answers.
        let cast = try await person.expectSuccess("intent", "cast", id, "--timeout", "5", "--wait", "10", "--json")
        let written = try #require(try JSONSerialization.jsonObject(with: Data(cast.stdout.utf8)) as? [String: Any])
        let relays = try #require(written["relays"] as? [[String: Any]])
        #expect(relays.first { $0["relay"] as? String == dead }?["outcome"] as? String == "unreachable", "\(relays)")
        #expect(relays.first { $0["relay"] as? String == relay.url }?["outcome"] as? String == "accepted")
        #expect((written["line"] as? String)?.contains("reply:nostr:nprofile1") == true)
        let answers = try #require((written["answers"] as? [[String: Any]])?.first)
        #expect((answers["newOffers"] as? [Any])?.isEmpty == false, "\(answers)")
        #expect(!(try await person.awaitOffers(for: id)).isEmpty)
        let inbox = try await person.expectSuccess("inbox", "--timeout", "5")
        #expect(inbox.stdout.contains("relay \(dead) failed"), "\(inbox.stdout)")
        // No relay at all: exit 69, and the same post goes out again once one is back.
        let alone = try await person.intent("#buy camera.mirrorless max:1250EUR in:DE terms:sd-base")
        let nowhere = try await person.run("intent", "cast", alone, "--relay", dead, "--timeout", "3")
        #expect(nowhere.status == 69, "\(nowhere.stdout) \(nowhere.stderr)")
        #expect(nowhere.stdout.contains("\(dead)  unreachable"), "\(nowhere.stdout)")
        #expect(nowhere.stderr.contains("no relay took the post"))
    }

    @Test(
        "proffer-vendor serve --relay without --listen is a vendor on Nostr alone: it says where it listens, answers a cast, and stops on SIGTERM"
    )
    func vendorOnNostrAlone() async throws {
        let relay = try await NostrTestRelay()
        let folder = TemporaryFolder("nostr-vendor")
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let catalog = folder.path + "/catalog.json"
        try Data(cameraCatalogJSON.utf8).write(to: URL(fileURLWithPath: catalog))
        let bad = try await ProfferProcess.run(
            ["serve", "--catalog", catalog, "--data", folder.path + "/data", "--relay", "http://example.org"],
            environment: [:], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(bad.status == 64 && bad.stderr.contains("is not a relay URL"), "\(bad.stderr)")
        let log = folder.path + "/vendor.log"
        let child = try BackgroundServer.spawn(
            [
                ProfferProcess.builtProduct("proffer-vendor").path, "serve", "--catalog", catalog, "--data",
                folder.path + "/data", "--relay", relay.url,
            ], outputPath: log)
        var line = ""
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, !line.hasPrefix("listening on ws://") {
            try await Task.sleep(for: .milliseconds(100))
            line =
                (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").first.map(String.init) ?? ""
        }
        #expect(line.hasPrefix("listening on \(relay.url) as \"Test Cameras\" (npub1"), "\(line)")
        #expect(!line.contains("http"), "no HTTP endpoint")
        let person = try await CLIPerson()
        try await Task.sleep(for: .milliseconds(500))
        let (id, _) = try await person.cast(relays: [relay.url])
        #expect(!(try await person.awaitOffers(for: id)).isEmpty)
        kill(-child, SIGTERM)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        #expect((status & 0x7F) == 0 && (status >> 8) & 0xFF == 0, "stopped cleanly: \(BackgroundServer.tail(of: log))")
    }

    @Test("none set is a clear error naming both ways to give relays; an HTTP intent is not cast")
    func castRefusals() async throws {
        let person = try await CLIPerson()
        let id = try await person.intent("#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
        let none = try await person.run("intent", "cast", id)
        #expect(none.status == 64 || none.status == 65 || none.status == 1, "\(none.stderr)")
        #expect(none.stderr.contains("--relay") && none.stderr.contains("nostr.relays"), "\(none.stderr)")
        let vendor = try TestVendor()
        try await withServer(vendor.router()) { url in
            let sent = try await person.publish(toVendorAt: url)
            let refused = try await person.run("intent", "cast", sent, "--relay", "ws://127.0.0.1:1")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("never sent over HTTP"), "\(refused.stderr)")
        }
    }

    @Test("a flood of 10,000 junk wraps to the cast key is read within the deadline, and the good offers are shown")
    func junkFlood() async throws {
        let relay = try await NostrTestRelay()
        let person = try await CLIPerson()
        let (id, cast) = try await person.cast(relays: [relay.url])
        #expect(cast.status == 0, "\(cast.stderr)")
        // The cast key, from the post the relay holds.
        let reply = try #require(cast.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("reply:") })
        let castKey = try SchnorrPublicKey(NostrReply.parse(String(reply.dropFirst(6))).publicKey)
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let now = Int64(Date().timeIntervalSince1970)
        // The flood comes first, all dated now, so it is what a relay returns first (newest first, a few thousand
        // at most per request): half do not open; half are offers for the intent from fresh keys without a profile.
        var junk: [NostrEvent] = []
        for index in 0..<10_000 {
            let sender = try SchnorrKeyPair.generate()
            if index % 2 == 0 {
                junk.append(
                    NostrEvent.signed(
                        kind: GiftWrap.wrapKind, tags: [["p", castKey.hex]], content: "not a payload \(index)",
                        createdAt: now, by: sender))
            } else {
                let publicID = try #require(MessageID(String(cast.stdout.split(separator: " ")[2].dropFirst(3))))
                let offer = "#offer id:\(MessageID.random()) re:\(publicID) price:1EUR"
                junk.append(
                    try PrivateMessage.wrap(offer, from: sender, to: castKey, postExpiration: now + 86400, now: now)
                        .wrap)
            }
        }
        let flood = junk
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: flood.count, by: 500) {
                group.addTask {
                    for event in flood[chunk..<min(chunk + 500, flood.count)] {
                        _ = await pool.publish(event, within: .seconds(60))
                    }
                }
            }
        }
        // Then the vendor, which answers with offers whose wraps are backdated behind the flood.
        let vendor = try await NostrTestVendor(.sqlite, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end, vendor.listener.intentsReceived == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(2))
        let started = ContinuousClock.now
        let read = try await person.expectSuccess("inbox", "--timeout", "60")
        #expect(ContinuousClock.now - started < .seconds(90))
        for reason in ["5000 could not be opened", "5000 an offer from a key whose profile was not found"] {
            #expect(read.stdout.contains(reason), "\(reason): \(read.stdout)")
        }
        #expect(read.stdout.contains("new offers from test-cameras"), "\(read.stdout)")
        let shown = try await person.json("offer", "list", id, "--json")
        #expect(shown.count == 2 && shown.allSatisfy { ($0["vendor"] as? String) == "test-cameras" }, "\(shown)")
        #expect(try await person.json("vendor", "list", "--json").count == 1)
    }

    @Test("an accept sent while the vendor is away stays unconfirmed; deal retry settles it once the vendor is back")
    func acceptWhileVendorAway() async throws {
        let cast = try await CastFixture.make()
        let person = cast.person
        await cast.vendor.stop()
        let away = try await person.run("offer", "accept", cast.offer, "--yes", "--pin", "--timeout", "3")
        #expect(away.status != 0 || away.stdout.contains("unconfirmed"), "\(away.stdout) \(away.stderr)")
        let deal = try #require(try await person.json("deal", "list", "--json").first)
        #expect(deal["state"] as? String == "unconfirmed")
        // The vendor reads what it missed when it is back; the retry gets the confirm (one deal however often sent).
        let restarted = try await NostrTestVendor(at: cast.place, relays: [cast.relay.url])
        defer { Task { await restarted.stop() } }
        #expect(try await person.retryUntilConfirmed(try #require(deal["id"] as? String)) == "confirmed")
        #expect(try await restarted.inbox.records.deals().count == 1)
    }

    @Test("two instances over one PostgreSQL database, on the same relay, answer a public intent once")
    func twoInstancesAnswerOnce() async throws {
        let relay = try await NostrTestRelay()
        let place = try VendorPlace(.postgresql)
        let first = try await NostrTestVendor(at: place, relays: [relay.url])
        let second = try await NostrTestVendor(at: place, relays: [relay.url])
        defer {
            Task {
                await first.stop()
                await second.stop()
            }
        }
        let person = try await CLIPerson()
        try await Task.sleep(for: .milliseconds(500))
        let (id, _) = try await person.cast(relays: [relay.url])
        let offers = try await person.awaitOffers(for: id)
        try await Task.sleep(for: .seconds(2))
        try await person.expectSuccess("inbox", "--timeout", "5")
        let all = try await person.json("offer", "list", id, "--json", "--all")
        #expect(!offers.isEmpty && all.count == offers.count, "\(all.count) offers, not twice \(offers.count)")
        #expect(first.listener.intentsReceived >= 1 && second.listener.intentsReceived >= 1)
    }
}
