import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferAgent
@testable import ProfferTestSupport

@Suite("Vendor profiles over Nostr (spec 6.1): published by the vendor, found and checked by the agent")
struct NostrProfileTests {
    func profile(nostr key: SchnorrKeyPair?, signer: SigningKeyPair, at time: Timestamp = .now) throws -> VendorProfile
    {
        VendorProfile.signed(
            name: "Lumen Cameras", signer: signer, boxKey: try BoxKeyPair.generate().publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!],
            nostr: key.map { ($0.publicKey, ["ws://127.0.0.1:7447"]) }, at: time)
    }

    @Test("a profile event goes through the relay and is used only when its key signed it and the profile holds")
    func throughTheRelay() async throws {
        let key = try SchnorrKeyPair.generate()
        let signer = try SigningKeyPair.generate()
        let published = try profile(nostr: key, signer: signer)
        let now = Int64(Date().timeIntervalSince1970)
        let events = published.nostrEvents(signedBy: key, at: now)
        #expect(events.map(\.kind) == [30078, 10050])
        #expect(events[1].tagValues("relay") == ["ws://127.0.0.1:7447"])
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        for event in events { #expect(await pool.publish(event, within: .seconds(60)).allSatisfy(\.isAccepted)) }
        let found = await pool.fetch(
            [NostrFilter(authors: [key.publicKey.hex], kinds: [30078], tags: ["d": ["proffer-profile"]])],
            within: .seconds(60))
        #expect(try NostrProfile.profile(in: try #require(found.events.first)) == published)

        // The same profile republished by another key is not the vendor's word.
        let thief = try SchnorrKeyPair.generate()
        let stolen = NostrKinds.applicationData(
            identifier: "proffer-profile", content: String(decoding: published.jsonBytes, as: UTF8.self), by: thief,
            at: now)
        #expect(throws: ProtocolError.self) { try NostrProfile.profile(in: stolen) }
        // A profile that names no Nostr key, or a forged one, is refused.
        let plain = try profile(nostr: nil, signer: signer)
        let unnamed = NostrKinds.applicationData(
            identifier: "proffer-profile", content: String(decoding: plain.jsonBytes, as: UTF8.self), by: key, at: now)
        #expect(throws: ProtocolError.self) { try NostrProfile.profile(in: unnamed) }
        let altered = NostrKinds.applicationData(
            identifier: "proffer-profile",
            content: String(decoding: published.jsonBytes, as: UTF8.self).replacingOccurrences(
                of: "Lumen", with: "Lumin"),
            by: key, at: now)
        #expect(throws: ProtocolError.self) { try NostrProfile.profile(in: altered) }
        let wrongTag = NostrKinds.applicationData(
            identifier: "other", content: String(decoding: published.jsonBytes, as: UTF8.self), by: key, at: now)
        #expect(throws: ProtocolError.self) { try NostrProfile.profile(in: wrongTag) }
        // Never an older profile than one seen.
        let older = try profile(nostr: key, signer: signer, at: Timestamp.now.adding(seconds: -3600))
        #expect(NostrProfile.newest([published, older]) == published)
        #expect(NostrProfile.newest([older, published]) == published)
    }
}
