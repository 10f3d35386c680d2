import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferVendorKit
import ProfferWire
import Testing

@Suite("The reference vendor makes each deal exactly once")
struct VendorExactlyOnceTests {
    /// Sends `message` to the vendor as `person` and returns the reply messages (or the error code).
    static func send(
        _ message: String, from person: SigningKeyPair, to vendor: TestVendor, sealed: [UInt8]? = nil
    ) async -> (status: Int, replies: [Message]) {
        let envelope = Envelope.signed(
            message: message, by: person, to: vendor.inbox.keys.signing.publicKey, sealedData: sealed)
        let answer = await vendor.inbox.handle(body: envelope.jsonBytes)
        let replies = TestVendor.replies(in: answer.body).compactMap { members -> Message? in
            guard case .string(let msg)? = members.first(where: { $0.0 == "msg" })?.1 else { return nil }
            return try? Message.parse(msg)
        }
        return (answer.status, replies)
    }

    @Test("twenty accepts of one offer at once, each with its own id: one deal, one confirm, stock intact")
    func concurrentAccepts() async throws {
        let vendor = try TestVendor()
        let person = try SigningKeyPair.generate()
        let offers = await Self.send(
            "#buy camera.mirrorless id:aaaaaaaa max:1300EUR terms:sd-base", from: person, to: vendor)
        let z6 = try #require(offers.replies.first { $0.item == "Z6 II body" })
        let data = vendor.inbox.keys.box.publicKey.seal(Array("{\"name\":\"Ada\"}".utf8))
        let outcomes = await withTaskGroup(of: (Int, [Message]).self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let id = MessageID.random()
                    let answer = await Self.send(
                        "#accept id:\(id) re:\(z6.id!) terms:sd-base give:name", from: person, to: vendor, sealed: data)
                    return (answer.status, answer.replies)
                }
            }
            var outcomes: [(Int, [Message])] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let confirms = outcomes.filter { $0.0 == 200 && $0.1.first?.kind == .confirm }
        #expect(confirms.count == 1, "\(outcomes.map(\.0))")
        #expect(outcomes.filter { $0.0 == 422 }.count == 19)
        #expect(try await vendor.inbox.store.deals().count == 1)
    }

    @Test("an item with stock for one, accepted by eight people at once: one deal, the others declined")
    func stockNeverBelowZero() async throws {
        let catalog = """
            {"name": "One Left", "terms": ["sd-base"], "categories": ["camera"], "regions": ["DE"],
             "offerValidity": "2d",
             "items": [{"sku": "last", "title": "Last one", "category": "camera.mirrorless", "price": "100EUR",
                        "stock": 1, "eta": "1d", "needs": []}]}
            """
        let vendor = try TestVendor(catalogJSON: catalog)
        let people = try (0..<8).map { _ in try SigningKeyPair.generate() }
        var offerIDs: [MessageID] = []
        for person in people {
            let answer = await Self.send(
                "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", from: person, to: vendor)
            offerIDs.append(try #require(answer.replies.first?.id))
        }
        let statuses = await withTaskGroup(of: MessageKind?.self) { group in
            for (person, offerID) in zip(people, offerIDs) {
                group.addTask {
                    let answer = await Self.send(
                        "#accept id:\(MessageID.random()) re:\(offerID) terms:sd-base", from: person, to: vendor)
                    return answer.replies.first?.kind
                }
            }
            var kinds: [MessageKind?] = []
            for await kind in group { kinds.append(kind) }
            return kinds
        }
        #expect(statuses.filter { $0 == .confirm }.count == 1)
        #expect(statuses.filter { $0 == .decline }.count == 7)
        #expect(try await vendor.inbox.store.deals().count == 1)
    }

    @Test("an envelope accepted before a restart is refused as a replay after it")
    func replayAfterRestart() async throws {
        let folder = TemporaryFolder("restart")
        let catalog = try Catalog(json: Data(cameraCatalogJSON.utf8))
        let person = try SigningKeyPair.generate()
        func openInbox() async throws -> VendorInbox {
            // The previous store lets go of the folder lock when its last reference goes.
            for _ in 0..<100 {
                if let store = try? VendorStore(folder: folder.path) {
                    return VendorInbox(
                        catalog: catalog, keys: try VendorKeys.loadOrCreate(in: folder.path), store: store)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return VendorInbox(
                catalog: catalog, keys: try VendorKeys.loadOrCreate(in: folder.path),
                store: try VendorStore(folder: folder.path))
        }
        var envelope: [UInt8] = []
        do {
            let inbox = try await openInbox()
            envelope =
                Envelope.signed(
                    message: "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", by: person,
                    to: inbox.keys.signing.publicKey
                ).jsonBytes
            #expect(await inbox.handle(body: envelope).status == 200)
            #expect(await inbox.handle(body: envelope).status == 409)
        }
        let restarted = try await openInbox()
        let answer = await restarted.handle(body: envelope)
        #expect(answer.status == 409, "\(String(decoding: answer.body, as: UTF8.self))")
    }

    @Test("one key may keep 200 open intents at a vendor; the next is refused with too-many, others are unaffected")
    func openIntentsPerSender() async throws {
        let vendor = try TestVendor()
        let flooder = try SigningKeyPair.generate()
        for _ in 0..<200 {
            let answer = await Self.send(
                "#buy lens id:\(MessageID.random()) terms:sd-base", from: flooder, to: vendor)
            #expect(answer.status == 200)
        }
        let envelope = Envelope.signed(
            message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: flooder,
            to: vendor.inbox.keys.signing.publicKey)
        let refused = await vendor.inbox.handle(body: envelope.jsonBytes)
        #expect(refused.status == 429)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("\"too-many\""))
        let someoneElse = await Self.send(
            "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", from: try SigningKeyPair.generate(),
            to: vendor)
        #expect(someoneElse.status == 200 && !someoneElse.replies.isEmpty)
    }
}
