import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProfferCrypto
import ProfferEnvelope
import ProfferVendorKit
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// The reference vendor's own application (routes, body limits, services), driven through Hummingbird's router
/// test framework on both engines.
@Suite("the vendor's routes: statuses and limits")
struct VendorRouterTests {
    static func application(_ place: VendorPlace) throws -> some ApplicationProtocol {
        let inbox = VendorInbox(
            catalog: try Catalog(json: Data(cameraCatalogJSON.utf8)),
            keys: try VendorKeys.loadOrCreate(in: place.folder.path), records: try place.openRecords())
        var logger = Logger(label: "vendor-router-test")
        logger.logLevel = .error
        return VendorServer(inbox: inbox, host: "127.0.0.1", port: 0).application(logger: logger)
    }

    static func errorCode(_ body: ByteBuffer) -> String? {
        guard case .object(let members)? = try? StrictJSON.parse(Array(body.readableBytesView)),
            case .object(let error)? = members.first(where: { $0.0 == "error" })?.1
        else { return nil }
        return error.first { $0.0 == "code" }?.1.stringValue
    }

    @Test("profile, inbox, bad bodies, a replay, the size limit and the per-key quota", arguments: Engine.allCases)
    func statusesAndLimits(engine: Engine) async throws {
        let place = try VendorPlace(engine)
        let keys = try VendorKeys.loadOrCreate(in: place.folder.path)
        let app = try Self.application(place)
        let person = try SigningKeyPair.generate()
        try await app.test(.router) { client in
            try await client.execute(uri: "/profile", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let profile = try VendorProfile.verified(json: Array(response.body.readableBytesView))
                #expect(profile.signingKey == keys.signing.publicKey)
            }
            let intent = Envelope.signed(
                message: "#buy camera.mirrorless id:\(MessageID.random()) terms:sd-base", by: person,
                to: keys.signing.publicKey)
            try await client.execute(uri: "/inbox", method: .post, body: ByteBuffer(bytes: intent.jsonBytes)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/inbox", method: .post, body: ByteBuffer(bytes: intent.jsonBytes)) {
                #expect($0.status == .conflict && Self.errorCode($0.body) == "replay")
            }
            try await client.execute(uri: "/inbox", method: .post, body: ByteBuffer(string: "{\"proffer\":1")) {
                #expect($0.status == .badRequest && Self.errorCode($0.body) == "bad-envelope")
            }
            let oversized = ByteBuffer(repeating: 0x20, count: Envelope.maximumByteCount + 1)
            try await client.execute(uri: "/inbox", method: .post, body: oversized) {
                #expect($0.status == .contentTooLarge && Self.errorCode($0.body) == "too-large")
            }
            try await client.execute(uri: "/inbox", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/elsewhere", method: .post) { #expect($0.status == .notFound) }
            for _ in 1..<VendorLimits.openIntentsPerSender {
                let next = Envelope.signed(
                    message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: person,
                    to: keys.signing.publicKey)
                try await client.execute(uri: "/inbox", method: .post, body: ByteBuffer(bytes: next.jsonBytes)) {
                    #expect($0.status == .ok)
                }
            }
            let past = Envelope.signed(
                message: "#buy lens id:\(MessageID.random()) terms:sd-base", by: person, to: keys.signing.publicKey)
            try await client.execute(uri: "/inbox", method: .post, body: ByteBuffer(bytes: past.jsonBytes)) {
                #expect($0.status == .tooManyRequests && Self.errorCode($0.body) == "too-many")
            }
        }
    }
}
