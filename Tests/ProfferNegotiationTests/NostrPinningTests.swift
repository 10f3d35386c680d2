import Foundation
import Hummingbird
import NIOCore
import ProfferCrypto
import ProfferEnvelope
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

@Suite("A vendor's Nostr key is pinned with its other keys (spec 6.1)")
struct NostrPinningTests {
    /// A vendor serving `profile`.
    func router(serving profile: [UInt8]) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("profile") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: profile))) }
        return router
    }

    func profile(of vendor: TestVendor, nostr: SchnorrPublicKey?) -> [UInt8] {
        VendorProfile.signed(
            name: "Test Cameras", signer: vendor.inbox.keys.signing, boxKey: vendor.inbox.keys.box.publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!],
            nostr: nostr.map { ($0, ["ws://127.0.0.1:7447"]) }
        ).jsonBytes
    }

    @Test(
        "vendor add pins the Nostr key and relays, vendor show names them, and a vendor presenting another is a key change"
    )
    func pinning() async throws {
        let vendor = try TestVendor()
        let person = try await CLIPerson()
        let nostr = try SchnorrKeyPair.generate().publicKey
        let served = profile(of: vendor, nostr: nostr)
        let moved = profile(of: vendor, nostr: try SchnorrKeyPair.generate().publicKey)
        try await withServer(router(serving: served)) { url in
            try await withServer(router(serving: moved)) { otherURL in
                try await person.expectSuccess("vendor", "add", url, "--name", "shop", "--yes")
                let listed = try #require(try await person.json("vendor", "list", "--json").first)
                let npub = Bech32.encode(prefix: "npub", data: nostr.bytes)
                #expect(listed["nostr"] as? String == npub, "\(listed)")
                #expect(listed["relays"] as? [String] == ["ws://127.0.0.1:7447"])
                let shown = try await person.expectSuccess("vendor", "show", "shop")
                #expect(shown.stdout.contains(npub) && shown.stdout.contains("ws://127.0.0.1:7447"))
                // The same signing keys at another URL, but another Nostr key: not moved silently.
                let refused = try await person.run("vendor", "set-url", "shop", otherURL)
                #expect(refused.status != 0 && refused.stderr.contains("another Nostr key"), "\(refused.stderr)")
                // Re-pinned on the person's word, it takes the new key.
                try await person.expectSuccess("vendor", "repin", "shop", "--url", otherURL, "--yes")
                let after = try #require(try await person.json("vendor", "list", "--json").first)
                #expect(after["nostr"] as? String != npub)
            }
        }
    }
}
