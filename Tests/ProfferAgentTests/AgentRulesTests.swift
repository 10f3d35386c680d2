import Foundation
import ProfferAgent
import ProfferVault
import ProfferWire
import Testing

@testable import ProfferTestSupport

@Suite("Agent rules: transport, time, ranking, vendor text")
struct AgentRulesTests {
    @Test("https anywhere; http only to this machine, or when allowed; nothing else")
    func transport() {
        #expect(VendorEndpoint.transportProblem(url: "https://shop.example/proffer", allowsHTTP: false) == nil)
        for loopback in ["http://127.0.0.1:8700", "http://127.9.0.1/p", "http://localhost:1", "http://[::1]:80/x"] {
            #expect(VendorEndpoint.transportProblem(url: loopback, allowsHTTP: false) == nil, "\(loopback)")
        }
        let plain = VendorEndpoint.transportProblem(url: "http://shop.example.org", allowsHTTP: false)
        #expect(plain?.contains("--allow-http") == true)
        #expect(VendorEndpoint.transportProblem(url: "http://shop.example.org", allowsHTTP: true) == nil)
        for bad in [
            "ftp://shop.example", "shop.example", "https://user:pw@shop.example", "https://shop.example/?q=1",
            "http://127.0.0.1.evil.example",
        ] {
            #expect(VendorEndpoint.transportProblem(url: bad, allowsHTTP: false) != nil, "\(bad)")
        }
    }

    @Test("an intent lapses at its by: day's end or its exp, whichever comes first, and then shows as expired")
    func intentExpiry() throws {
        let made = Date(timeIntervalSince1970: 1_795_000_000)
        let intent = try StoredIntent.forTesting(
            "#buy camera id:aaaaaaaa by:2030-01-01 exp:2h", createdAt: made)
        #expect(intent.lapsesAt == made.addingTimeInterval(7200))
        #expect(intent.state(at: made.addingTimeInterval(7199)) == .draft)
        #expect(intent.state(at: made.addingTimeInterval(7200)) == .expired)
        let byDay = try StoredIntent.forTesting("#buy camera id:aaaaaaaa by:2030-01-01", createdAt: made)
        #expect(byDay.lapsesAt == ISO8601DateFormatter().date(from: "2030-01-02T00:00:00Z"))
        var withdrawn = intent
        withdrawn.state = .withdrawn
        #expect(withdrawn.state(at: .distantFuture) == .withdrawn, "only drafts and published intents expire")
    }

    @Test("offers are ranked in one currency; other currencies follow unranked; expired and lacking offers apart")
    func ranking() throws {
        let intent = try StoredIntent.forTesting("#buy camera id:aaaaaaaa max:1000EUR terms:sd-base", createdAt: Date())
        func offer(_ id: String, _ fields: String, expires: Date? = nil) throws -> StoredOffer {
            StoredOffer(
                vendor: "shop", intentID: intent.id, envelope: "{}",
                message: try Message.parse("#offer id:\(id) re:aaaaaaaa \(fields)"), receivedAt: Date(),
                expiresAt: expires)
        }
        let offers = [
            try offer("bbbbbbbb", "price:900EUR terms:sd-base"),
            try offer("cccccccc", "price:10USD terms:sd-base"),
            try offer("dddddddd", "price:800EUR eta:2d terms:sd-base"),
            try offer("eeeeeeee", "price:1EUR terms:sd-base", expires: Date(timeIntervalSince1970: 0)),
            try offer("ffffffff", "price:2EUR terms:pdc-intent"),
            try offer("gggggggg", "price:800EUR eta:1d terms:sd-base,sd-base-s3p"),
        ]
        let ranking = OfferRanking(offers: offers, intents: [intent], defaultCurrency: nil)
        #expect(ranking.open.map(\.review.offer.id.description) == ["gggggggg", "dddddddd", "bbbbbbbb", "cccccccc"])
        #expect(ranking.open.map(\.rank) == [1, 2, 3, nil])
        #expect(ranking.currencies[intent.id]?.description == "EUR")
        #expect(Set(ranking.unacceptable.map(\.offer.id.description)) == ["eeeeeeee", "ffffffff"])
        #expect(ranking.open[0].review.extraTerms.map(\.description) == ["sd-base-s3p"])
    }

    @Test("vendor text loses C0, C1 and bidirectional controls, and keeps everything else")
    func vendorText() {
        #expect(VendorText.clean("a\u{1B}[31mb\u{9B}c\u{202E}d\u{2066}e\u{200F}f\u{7F}g\tné") == "a[31mbcdefgné")
    }
}

extension StoredIntent {
    static func forTesting(_ text: String, createdAt: Date) throws -> StoredIntent {
        let data = try JSONSerialization.data(withJSONObject: [
            "id": String(text.split(separator: " ").first { $0.hasPrefix("id:") }!.dropFirst(3)),
            "canonical": try Message.parse(text).canonicalForm, "persona": "default", "state": "draft",
            "createdAt": ISO8601DateFormatter().string(from: createdAt),
            "updatedAt": ISO8601DateFormatter().string(from: createdAt),
        ])
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(StoredIntent.self, from: data)
    }
}
