import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// A public intent's cast key and post, read from the person's vault (the seed is the vault's, as the agent's is).
struct CastSecrets {
    let key: SchnorrKeyPair
    let publicID: MessageID
    let postedAt: Int64

    init(_ person: CLIPerson, intent: String) throws {
        let vault = try person.open()
        let cast = try #require(try vault.intent(id: intent).cast)
        key = CastKey.keyPair(identitySeed: try vault.identitySeed(), publicID: cast.publicID)
        publicID = cast.publicID
        postedAt = Int64(cast.postedAt.timeIntervalSince1970)
    }
}

/// Wraps a rumor in ways §6.3 says a receiver ignores.
enum Forge {
    /// A seal by `sealer` around `rumor` (which `sealer` may not have written), wrapped to `recipient`.
    static func wrap(
        _ rumor: NostrEvent, sealedBy sealer: SchnorrKeyPair, to recipient: SchnorrPublicKey, expiration: Int64? = nil
    ) throws -> NostrEvent {
        let now = Int64(Date().timeIntervalSince1970)
        let seal = NostrEvent.signed(
            kind: GiftWrap.sealKind,
            content: try NIP44.encrypt(NostrJSON.object(rumor), with: try NIP44.ConversationKey(sealer, recipient)),
            createdAt: now, by: sealer)
        let wrapper = try SchnorrKeyPair.generate()
        return NostrEvent.signed(
            kind: GiftWrap.wrapKind,
            tags: [["p", recipient.hex]] + (expiration.map { [["expiration", String($0)]] } ?? []),
            content: try NIP44.encrypt(NostrJSON.object(seal), with: try NIP44.ConversationKey(wrapper, recipient)),
            createdAt: now, by: wrapper)
    }

    /// A message from `sender` to `recipient`, dated `createdAt`, properly sealed and wrapped.
    static func message(
        _ canonical: String, from sender: SchnorrKeyPair, to recipient: SchnorrPublicKey, createdAt: Int64,
        tags: [[String]] = []
    ) throws -> NostrEvent {
        let rumor = GiftWrap.rumor(
            canonical, from: sender.publicKey, to: recipient, extraTags: tags, createdAt: createdAt)
        return try wrap(rumor, sealedBy: sender, to: recipient)
    }
}

@Suite("Public intents under attack: what each side ignores, caps, kill -9, a restored vault, following", .serialized)
struct PublicIntentAbuseTests {
    static let intentText = "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base"

    @Test(
        "the vendor ignores, without an answer and storing nothing: forged seals, a rumor from the future, replays, strangers, a person's #offer; another intent's offer is declined unknown-ref"
    )
    func vendorIgnores() async throws {
        let relay = try await NostrTestRelay()
        let vendor = try await NostrTestVendor(.sqlite, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let person = try await CLIPerson()
        let other = try await CLIPerson()
        try await Task.sleep(for: .milliseconds(500))
        let (id, _) = try await person.cast(relays: [relay.url])
        let (otherID, _) = try await other.cast(relays: [relay.url])
        let offers = try await person.awaitOffers(for: id)
        let otherOffers = try await other.awaitOffers(for: otherID)
        #expect(!offers.isEmpty && !otherOffers.isEmpty)
        // Pinned, so that its declines of what the person's key sent are shown (a vendor not pinned is heard only for
        // offers).
        try await person.expectSuccess("vendor", "pin", "test-cameras", "--yes")
        let cast = try CastSecrets(person, intent: id)
        let vendorKey = vendor.inbox.keys.nostr.publicKey
        let now = Int64(Date().timeIntervalSince1970)
        let ourOffer = try #require(offers.first?["id"] as? String)
        let theirOffer = try #require(otherOffers.first?["id"] as? String)
        let counter = { (re: String) in "#counter id:\(MessageID.random()) re:\(re) price:1100EUR" }
        let impostor = try SchnorrKeyPair.generate()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let before = vendor.listener.ignored.values.reduce(0, +)
        // A rumor by the cast key, sealed by someone else; one from 20 minutes ahead; one from a stranger; a
        // person's #offer.
        let stolen = GiftWrap.rumor(counter(ourOffer), from: cast.key.publicKey, to: vendorKey, createdAt: now)
        var attacks = [try Forge.wrap(stolen, sealedBy: impostor, to: vendorKey)]
        attacks.append(try Forge.message(counter(ourOffer), from: cast.key, to: vendorKey, createdAt: now + 1200))
        attacks.append(try Forge.message(counter(ourOffer), from: impostor, to: vendorKey, createdAt: now))
        attacks.append(
            try Forge.message(
                "#offer id:\(MessageID.random()) re:\(cast.publicID) price:1EUR", from: cast.key, to: vendorKey,
                createdAt: now))
        // A replay: the very rumor of a counter sent twice, in two wraps.
        let replayed = GiftWrap.rumor(
            "#counter id:\(MessageID.random()) re:\(ourOffer) qty:9", from: cast.key.publicKey, to: vendorKey,
            createdAt: now)
        attacks.append(try Forge.wrap(replayed, sealedBy: cast.key, to: vendorKey))
        attacks.append(try Forge.wrap(replayed, sealedBy: cast.key, to: vendorKey))
        // The other person's offer, named from this cast key: declined, never acted on.
        attacks.append(try Forge.message(counter(theirOffer), from: cast.key, to: vendorKey, createdAt: now))
        for attack in attacks {
            #expect(await pool.publish(attack, within: .seconds(30)).allSatisfy(\.isAccepted))
        }
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, vendor.listener.ignored.values.reduce(0, +) < before + 5 {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(1))
        let ignored = vendor.listener.ignored
        #expect(ignored.values.reduce(0, +) >= before + 5, "\(ignored)")
        #expect(ignored.keys.contains { $0.contains("did not write the rumor") }, "\(ignored)")
        #expect(ignored.keys.contains { $0.contains("ahead") }, "\(ignored)")
        #expect(ignored.keys.contains { $0.contains("sent no intent here") }, "\(ignored)")
        #expect(ignored.keys.contains { $0.contains("#offer from a person") }, "\(ignored)")
        #expect(ignored.keys.contains { $0.contains("replay") }, "\(ignored)")
        // The person hears one decline (unknown-ref, for the other intent's offer) and one answer to the qty:9
        // counter; nothing from the rest.
        let read = try await person.expectSuccess("inbox", "--timeout", "10")
        #expect(read.stdout.contains("declined") && read.stdout.contains("unknown-ref"), "\(read.stdout)")
        // The other person's offer is untouched: still open at the vendor, and no deal anywhere.
        let theirs = try await other.json("offer", "list", otherID, "--json")
        #expect(theirs.contains { $0["id"] as? String == theirOffer })
        #expect(try await vendor.inbox.records.deals().isEmpty)
    }

    @Test("a flood of accepts from a key that sent no intent keeps nothing waiting: a real accept is still confirmed")
    func acceptFloodFromStranger() async throws {
        let cast = try await CastFixture.make()
        let vendorKey = cast.vendor.inbox.keys.nostr.publicKey
        let stranger = try SchnorrKeyPair.generate()
        let pool = RelayPool(relays: [cast.relay.url])
        defer { Task { await pool.close() } }
        let now = Int64(Date().timeIntervalSince1970)
        let before = cast.vendor.listener.ignored.values.reduce(0, +)
        var flood: [NostrEvent] = []
        for _ in 0..<1200 {
            let accept = "#accept id:\(MessageID.random()) re:\(MessageID.random()) give:name,postal"
            let canonical = (try? Message.parse(accept))?.canonicalForm ?? accept
            flood.append(
                try Forge.message(
                    canonical, from: stranger, to: vendorKey, createdAt: now,
                    tags: [["data-hash", Hex.encode(SecureRandom.bytes(32))]]))
        }
        let accepts = flood
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: accepts.count, by: 100) {
                group.addTask {
                    for event in accepts[chunk..<min(chunk + 100, accepts.count)] {
                        _ = await pool.publish(event, within: .seconds(60))
                    }
                }
            }
        }
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end, cast.vendor.listener.ignored.values.reduce(0, +) < before + 1200 {
            try await Task.sleep(for: .milliseconds(100))
        }
        let accepted = try await cast.person.expectSuccess("offer", "accept", cast.offer, "--yes", "--pin")
        #expect(accepted.stdout.contains("confirmed"), "\(accepted.stdout)")
    }

    @Test(
        "the person ignores and counts: forged seals, a rumor from the future, a #counter from a vendor, offers about nothing open, offers from keys without a profile, and over 25 offers from one vendor; a replayed rumor is not new"
    )
    func personIgnores() async throws {
        let relay = try await NostrTestRelay()
        let person = try await CLIPerson()
        let id = try await person.intent(Self.intentText)
        let cast = try await person.expectSuccess("intent", "cast", id, "--relay", relay.url)
        #expect(cast.status == 0)
        let secrets = try CastSecrets(person, intent: id)
        // A vendor of the tests' own, with a profile published as §6.1 says.
        let vendorKeys = try VendorKeys(signing: try SigningKeyPair.generate(), box: try BoxKeyPair.generate())
        let profile = VendorProfile.signed(
            name: "Flood Cameras", signer: vendorKeys.signing, boxKey: vendorKeys.box.publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!],
            nostr: (vendorKeys.nostr.publicKey, [relay.url]))
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let now = Int64(Date().timeIntervalSince1970)
        for event in profile.nostrEvents(signedBy: vendorKeys.nostr, at: now) {
            #expect(await pool.publish(event, within: .seconds(30)).allSatisfy(\.isAccepted))
        }
        let to = secrets.key.publicKey
        func offer(_ price: Int, re: MessageID? = nil) -> String {
            let text =
                "#offer id:\(MessageID.random()) re:\(re ?? secrets.publicID) price:\(price)EUR item:\"X-T5\" exp:2d "
                + "terms:sd-base"
            return (try? Message.parse(text))?.canonicalForm ?? text
        }
        let aTag = [["a", "30078:\(vendorKeys.nostr.publicKey.hex):proffer-profile", relay.url]]
        var wraps: [NostrEvent] = []
        for price in 1000..<1030 {
            wraps.append(try Forge.message(offer(price), from: vendorKeys.nostr, to: to, createdAt: now, tags: aTag))
        }
        let impostor = try SchnorrKeyPair.generate()
        let stolen = GiftWrap.rumor(offer(900), from: vendorKeys.nostr.publicKey, to: to, createdAt: now)
        wraps.append(try Forge.wrap(stolen, sealedBy: impostor, to: to))
        wraps.append(try Forge.message(offer(901), from: vendorKeys.nostr, to: to, createdAt: now + 1200, tags: aTag))
        wraps.append(
            try Forge.message(
                "#counter id:\(MessageID.random()) re:\(secrets.publicID) price:1EUR", from: vendorKeys.nostr, to: to,
                createdAt: now))
        wraps.append(
            try Forge.message(offer(902, re: MessageID.random()), from: vendorKeys.nostr, to: to, createdAt: now))
        wraps.append(try Forge.message(offer(903), from: impostor, to: to, createdAt: now))
        // An offer whose wrap has expired (NIP-40).
        wraps.append(
            try Forge.wrap(
                GiftWrap.rumor(offer(904), from: vendorKeys.nostr.publicKey, to: to, extraTags: aTag, createdAt: now),
                sealedBy: vendorKeys.nostr, to: to, expiration: now - 10))
        // Vendors with profiles whose offers name nothing open here: neither kept nor counted against the cap.
        for index in 0..<3 {
            let junk = try VendorKeys(signing: try SigningKeyPair.generate(), box: try BoxKeyPair.generate())
            let junkProfile = VendorProfile.signed(
                name: "Junk \(index)", signer: junk.signing, boxKey: junk.box.publicKey, terms: [TermsID("sd-base")!],
                categories: [IntentCategory("camera")!], nostr: (junk.nostr.publicKey, [relay.url]))
            for event in junkProfile.nostrEvents(signedBy: junk.nostr, at: now) {
                _ = await pool.publish(event, within: .seconds(30))
            }
            wraps.append(
                try Forge.message(offer(905, re: MessageID.random()), from: junk.nostr, to: to, createdAt: now))
        }
        for wrap in wraps { #expect(await pool.publish(wrap, within: .seconds(30)).allSatisfy(\.isAccepted)) }
        let read = try await person.expectSuccess("inbox", "--timeout", "20")
        let out = read.stdout
        #expect(out.contains("25 new offers from flood-cameras (not pinned)"), "\(out)")
        for reason in [
            "5 over 25 offers from one vendor", "1 sealed by another key than its author's", "1 dated in the future",
            "1 expired (NIP-40)",
            "a #counter sent by a vendor",
            "naming nothing open here", "profile was not found",
        ] {
            #expect(out.contains(reason), "\(reason): \(out)")
        }
        // A replayed rumor, in a new wrap: not new, nothing changes.
        let first = try #require(wraps.first)
        let opened = try GiftWrap.open(first, with: secrets.key, now: now + 1)
        #expect(
            await pool.publish(try Forge.wrap(opened.rumor, sealedBy: vendorKeys.nostr, to: to), within: .seconds(30))
                .allSatisfy(\.isAccepted))
        let again = try await person.expectSuccess("inbox", "--timeout", "20", "--json")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]])
        #expect((reports.first?["newOffers"] as? [Any])?.isEmpty == true, "\(again.stdout)")
        #expect(try await person.json("offer", "list", id, "--json").count == 25)
        let kept = try await person.json("vendor", "list", "--json")
        #expect(kept.count == 1, "only the vendor whose offers were kept: \(kept.map { $0["name"] ?? "" })")
    }

    @Test(
        "kill -9 of proffer between sending an accept and storing the confirm: the deal stays sending, and deal retry settles it"
    )
    func killedWhileAccepting() async throws {
        let cast = try await CastFixture.make()
        let (person, offer, relay, place, vendor) = (cast.person, cast.offer, cast.relay, cast.place, cast.vendor)
        // The vendor is away: the accept is published, then waits for a confirm that does not come, and is killed.
        await vendor.stop()
        let log = person.folder.path + "/accept.log"
        let argv =
            ["/usr/bin/env"] + person.environment.map { "\($0.key)=\($0.value)" }
            + [ProfferProcess.executable.path, "offer", "accept", offer, "--yes", "--pin", "--timeout", "60"]
        let child = try BackgroundServer.spawn(argv, outputPath: log)
        var dealID: String?
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, dealID == nil {
            try await Task.sleep(for: .milliseconds(100))
            dealID =
                try await person.json("deal", "list", "--json").first { $0["state"] as? String == "sending" }?["id"]
                as? String
        }
        // The accept's wraps reach the relay a moment after the deal is written.
        try await Task.sleep(for: .seconds(2))
        kill(-child, SIGKILL)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let killed = try #require(dealID, "no deal was sending: \(BackgroundServer.tail(of: log))")
        #expect(try await person.json("deal", "list", "--json").first?["state"] as? String == "sending")
        let back = try await NostrTestVendor(at: place, relays: [relay.url])
        defer { Task { await back.stop() } }
        #expect(try await person.retryUntilConfirmed(killed) == "confirmed")
        #expect(try await back.inbox.records.deals().count == 1, "one deal, however many times the accept came")
        try await person.expectSuccess("audit", "verify")
    }

    @Test("a vault exported and imported on a new machine still reads its public intents' answers")
    func restoredVaultReads() async throws {
        let relay = try await NostrTestRelay()
        let place = try VendorPlace(.sqlite)
        let person = try await CLIPerson()
        let id = try await person.intent(Self.intentText)
        try await person.expectSuccess("intent", "cast", id, "--relay", relay.url)
        let file = person.folder.path + "/backup.proffer"
        try await person.expectSuccess("export", file)
        // The vendor answers only now, after the export; the new machine reads the answers.
        let vendor = try await NostrTestVendor(at: place, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        let newMachine = try CLIPerson(bare: ())
        try FileManager.default.removeItem(atPath: newMachine.path)
        let imported = try newMachine.proffer(["import", file])
        #expect(imported.status == 0, "\(imported.stderr)")
        let offers = try await newMachine.awaitOffers(for: id)
        #expect(!offers.isEmpty, "the restored vault reads the cast key's answers")
    }

    @Test("inbox --follow --json prints each answer as it arrives, until interrupted")
    func follow() async throws {
        let relay = try await NostrTestRelay()
        let place = try VendorPlace(.sqlite)
        let person = try await CLIPerson()
        let id = try await person.intent(Self.intentText)
        try await person.expectSuccess("intent", "cast", id, "--relay", relay.url)
        let log = person.folder.path + "/follow.log"
        let argv =
            ["/usr/bin/env"] + person.environment.map { "\($0.key)=\($0.value)" }
            + [ProfferProcess.executable.path, "inbox", "--follow", "--json"]
        let child = try BackgroundServer.spawn(argv, outputPath: log)
        defer {
            kill(-child, SIGINT)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        try await Task.sleep(for: .seconds(1))
        let vendor = try await NostrTestVendor(at: place, relays: [relay.url])
        defer { Task { await vendor.stop() } }
        var lines: [String] = []
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end, lines.isEmpty {
            try await Task.sleep(for: .milliseconds(200))
            lines =
                (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").map(String.init)
                .filter { $0.hasPrefix("{") } ?? []
        }
        let first = try #require(lines.first)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(report["intent"] as? String == id)
        #expect((report["newOffers"] as? [Any])?.isEmpty == false, "\(first)")
    }
}
