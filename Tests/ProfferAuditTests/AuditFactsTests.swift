import Foundation
import ProfferAudit
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire
import Testing

/// A vault in a temporary folder with one vendor (its profile name holding markup) and one deal that disclosed a
/// name and a postal address to it.
final class AuditedVault {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-audit-\(UUID().uuidString)")
    let vault: Vault
    let dealID = MessageID("m3k8p2qa")!

    init() throws {
        var passphrase = Array("correct horse battery staple".utf8)
        vault = try Vault.create(
            at: folder.appendingPathComponent("vault/vault.db").path, passphrase: try SecretBytes(wiping: &passphrase),
            kdf: .weakForTests, anchorFolder: folder.appendingPathComponent("state").path)
        try vault.setPreference(key: "name", value: "Ada Lovelace", persona: "default", share: .always)
        try vault.setPreference(key: "postal", value: "12 Example Street", persona: "default", share: .always)
        let signer = try SigningKeyPair.generate()
        try vault.addVendor(
            Vendor(
                name: "shop", baseURL: "https://shop.example/proffer", signingKey: signer.publicKey,
                boxKey: try BoxKeyPair.generate().publicKey, terms: [TermsID("sd-base")!],
                categories: [IntentCategory("camera")!], profileName: "<script>alert(1)</script> Shop"))
        let intent = try vault.addIntent(try Message.parse("#buy camera max:900EUR terms:sd-base"), persona: "default")
        let offer = try Message.parse("#offer id:q2b9x7k4 re:\(intent.id) price:800EUR terms:sd-base needs:name,postal")
        try vault.addOffers([
            StoredOffer(
                vendor: "shop", intentID: intent.id, envelope: "{}", message: offer, receivedAt: Date(), expiresAt: nil)
        ])
        try vault.beginDeal(
            StoredDeal(
                id: dealID, vendor: "shop", persona: "default", offerID: offer.id!, intentID: intent.id,
                acceptEnvelope: "{}", replyEnvelope: nil, disclosed: [.name, .postal], terms: [TermsID("sd-base")!],
                createdAt: Date(), state: .sending))
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

@Suite("What the audit views make of a vault: holdings, follow-ups and the report, in process")
struct AuditFactsTests {
    @Test("holdings follow the deal: held while the vendor may hold it, forgotten once it confirmed")
    func holdingsFollowTheDeal() throws {
        let audited = try AuditedVault()
        let held = try AuditFacts(vault: audited.vault).holdings()
        #expect(held.map(\.category).sorted() == ["name", "postal"])
        #expect(held.allSatisfy { $0.state == .held && !$0.recordLost && $0.vendor == "shop" })
        try audited.vault.updateDeal(id: audited.dealID) { deal in
            deal.state = .forgotten
            return [
                AuditEntry(
                    kind: .forgetConfirmed, at: Date(), persona: deal.persona, categories: deal.disclosed,
                    vendor: deal.vendor, deal: deal.id)
            ]
        }
        let facts = try AuditFacts(vault: audited.vault)
        #expect(facts.holdings().allSatisfy { $0.state == .forgotten })
        #expect(facts.followUps().isEmpty)
    }

    @Test("a disclosure the chain records without a deal record is a lost deal, held, in holdings and follow-ups")
    func lostDealsFromTheChain() throws {
        let audited = try AuditedVault()
        let entries = try audited.vault.auditEntries()
        // The chain as it is, against no deal records at all: every disclosed deal is lost.
        let lost = LostDeal.find(in: entries, deals: [])
        #expect(lost.map(\.id) == [audited.dealID])
        #expect(lost.first?.categories == [.name, .postal] && lost.first?.vendorMayHoldData == true)
        // Against the records: nothing is lost.
        #expect(LostDeal.find(in: entries, deals: try audited.vault.deals()).isEmpty)
        #expect(try AuditFacts(vault: audited.vault).followUps().map(\.kind) == [.dealUnconfirmed])
    }

    @Test("the report shows a vendor's markup as text, and lists the held data without its values")
    func reportEscapes() throws {
        let audited = try AuditedVault()
        let page = AuditReport.html(try AuditFacts(vault: audited.vault))
        #expect(!page.contains("<script>alert(1)</script>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Shop"))
        #expect(!page.contains("Ada Lovelace") && !page.contains("12 Example Street"))
        #expect(page.contains("m3k8p2qa"))
    }
}
