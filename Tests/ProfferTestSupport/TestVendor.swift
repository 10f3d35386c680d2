import Foundation
import Hummingbird
import Logging
import ProfferAgent
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Synchronization

/// A temporary folder, removed afterwards.
final class TemporaryFolder: Sendable {
    /// A path inside the folder.
    func appendingPathComponent(_ name: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(name) }

    let path: String

    init(_ label: String) {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("proffer-\(label)-\(UUID().uuidString)")
            .path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every byte of every file under the folder, as someone reading the disk would see them.
    func rawBytes() -> [UInt8] {
        let enumerator = FileManager.default.enumerator(atPath: path)
        var bytes: [UInt8] = []
        while let name = enumerator?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(name)) {
                bytes += data
            }
        }
        return bytes
    }
}

extension [UInt8] {
    func contains(bytes pattern: [UInt8]) -> Bool {
        guard !pattern.isEmpty, pattern.count <= count else { return false }
        return (0...(count - pattern.count)).contains { self[$0..<$0 + pattern.count].elementsEqual(pattern) }
    }

    func contains(_ text: String) -> Bool { contains(bytes: Array(text.utf8)) }
}

let cameraCatalogJSON = """
    {"name": "Test Cameras", "terms": ["sd-base", "pdc-intent"], "categories": ["camera"], "regions": ["DE"],
     "offerValidity": "2d",
     "items": [
       {"sku": "xt5", "title": "X-T5 body", "category": "camera.mirrorless", "price": "1149EUR", "floor": "1079EUR",
        "stock": 3, "eta": "3d", "needs": ["name", "postal"]},
       {"sku": "z6", "title": "Z6 II body", "category": "camera.mirrorless", "price": "1199EUR", "stock": 2,
        "eta": "2d", "needs": ["name"]}
     ]}
    """

/// A Hummingbird server on 127.0.0.1 with a free port, run for the length of `body`.
func withServer<T: Sendable>(
    _ router: Router<BasicRequestContext>, _ body: (_ baseURL: String) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test-server")
    logger.logLevel = .error
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
    let server = Task { try await app.run() }
    var iterator = ports.makeAsyncIterator()
    let port = await iterator.next()!
    do {
        let result = try await body("http://127.0.0.1:\(port)")
        server.cancel()
        _ = await server.result
        return result
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
}

/// The two engines that keep a vendor's records; the vendor suites run against both.
enum Engine: String, CaseIterable, Sendable {
    case sqlite, postgresql
}

/// Where one vendor keeps its keys and records, so that a test can open it again (a restart, a second instance).
struct VendorPlace: Sendable {
    let engine: Engine
    let folder: TemporaryFolder
    /// The database, on PostgreSQL: a new one in the tests' own cluster.
    let databaseURL: String?

    init(_ engine: Engine) throws {
        self.engine = engine
        folder = TemporaryFolder("vendor")
        databaseURL = engine == .postgresql ? try ThrowawayPostgres.shared().newDatabase() : nil
    }

    func openRecords() throws -> any VendorRecords {
        switch engine {
        case .sqlite: try SQLiteRecords(folder: folder.path)
        // Other suites load the machine (a relay taking 10,000 events, say): the database gets a minute to answer.
        case .postgresql:
            PostgresRecords(location: try PostgresLocation(url: databaseURL!), startupDeadline: .seconds(60))
        }
    }
}

/// A reference vendor (ProfferVendorKit) with its own data folder, its inbox running for as long as it lives.
final class TestVendor: Sendable {
    let place: VendorPlace
    var folder: TemporaryFolder { place.folder }
    let inbox: VendorInbox
    private let running: Task<Void, Never>

    /// A vendor on SQLite.
    convenience init(catalogJSON: String = cameraCatalogJSON, replayWindow: ReplayWindow = ReplayWindow()) throws {
        try self.init(place: try VendorPlace(.sqlite), catalogJSON: catalogJSON, replayWindow: replayWindow)
    }

    init(place: VendorPlace, catalogJSON: String = cameraCatalogJSON, replayWindow: ReplayWindow = ReplayWindow())
        throws
    {
        self.place = place
        let inbox = VendorInbox(
            catalog: try Catalog(json: Data(catalogJSON.utf8)),
            keys: try VendorKeys.loadOrCreate(in: place.folder.path), records: try place.openRecords(),
            replayWindow: replayWindow)
        self.inbox = inbox
        running = Task { try? await inbox.run() }
    }

    /// A vendor on `engine`, its schema ready.
    static func started(
        _ engine: Engine, catalogJSON: String = cameraCatalogJSON, replayWindow: ReplayWindow = ReplayWindow()
    ) async throws -> TestVendor {
        try await started(at: try VendorPlace(engine), catalogJSON: catalogJSON, replayWindow: replayWindow)
    }

    /// A vendor over `place`'s keys and records: after ``stop()``, a restart; while another runs, a second instance.
    static func started(
        at place: VendorPlace, catalogJSON: String = cameraCatalogJSON, replayWindow: ReplayWindow = ReplayWindow()
    ) async throws -> TestVendor {
        let vendor = try TestVendor(place: place, catalogJSON: catalogJSON, replayWindow: replayWindow)
        try await vendor.inbox.records.migrate()
        return vendor
    }

    /// Stops the inbox and waits until its records are closed (the SQLite folder lock is released with them).
    func stop() async {
        running.cancel()
        await running.value
    }

    deinit { running.cancel() }

    /// A router serving this vendor's profile and inbox; `inbox` may replace the answers.
    func router(
        inbox answer: (@Sendable ([UInt8]) async -> (Int, [UInt8]))? = nil, profile: [UInt8]? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let profileBytes = profile ?? inbox.profile.jsonBytes
        let inbox = self.inbox
        router.get("profile") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: profileBytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let (status, bytes): (Int, [UInt8])
            if let answer {
                (status, bytes) = await answer(body)
            } else {
                let reply = await inbox.handle(body: body)
                (status, bytes) = (reply.status, reply.body)
            }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }

    /// The reply envelopes of a real answer, for tests that tamper with them.
    static func replies(in body: [UInt8]) -> [[(String, JSONValue)]] {
        guard case .object(let members)? = try? StrictJSON.parse(body), case .array(let items) = members[0].1 else {
            return []
        }
        return items.compactMap { if case .object(let envelope) = $0 { envelope } else { nil } }
    }

    static func answer(_ envelopes: [[(String, JSONValue)]]) -> [UInt8] {
        func write(_ value: JSONValue) -> String {
            switch value {
            case .string(let text): EnvelopeJSON.quote(text)
            case .number(let text): text
            default: "null"
            }
        }
        let items = envelopes.map { "{" + $0.map { "\"\($0.0)\":\(write($0.1))" }.joined(separator: ",") + "}" }
        return Array(("{\"replies\":[" + items.joined(separator: ",") + "]}").utf8)
    }
}

enum EnvelopeJSON {
    static func quote(_ text: String) -> String {
        var writer = ByteWriter()
        writer.appendJSONString(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// A person's vault with personal data and default terms, in a temporary folder.
final class TestPerson: Sendable {
    let folder = TemporaryFolder("person")
    let vault: Vault
    let agent: Agent

    init() throws {
        var passphrase = Array("correct horse battery".utf8)
        vault = try Vault.create(
            at: folder.path + "/vault/vault.db", passphrase: try SecretBytes(wiping: &passphrase), kdf: .weakForTests,
            anchorFolder: folder.path + "/state")
        try vault.setPreference(key: "name", value: "Ada Lovelace", persona: "default", share: .always)
        try vault.setPreference(key: "postal", value: "12 Example Street, Berlin", persona: "default", share: .always)
        agent = Agent(vault: vault)
    }

    func intent(_ text: String = "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base") throws -> StoredIntent {
        try vault.addIntent(try Message.parse(text), persona: "default")
    }

    func close() async {}
}

extension TestVendor {
    /// Sends `message` to the vendor's inbox in an envelope signed by `person` at `time`, as a person's agent would,
    /// and returns the status and the replies' messages.
    static func send(
        _ message: String, from person: SigningKeyPair, to vendor: TestVendor, sealed: [UInt8]? = nil,
        at time: Timestamp = .now
    ) async -> (status: Int, replies: [Message]) {
        let envelope = Envelope.signed(
            message: message, by: person, to: vendor.inbox.keys.signing.publicKey, sealedData: sealed, at: time)
        let answer = await vendor.inbox.handle(body: envelope.jsonBytes, now: time)
        let replies = TestVendor.replies(in: answer.body).compactMap { members -> Message? in
            guard case .string(let msg)? = members.first(where: { $0.0 == "msg" })?.1 else { return nil }
            return try? Message.parse(msg)
        }
        return (answer.status, replies)
    }
}
