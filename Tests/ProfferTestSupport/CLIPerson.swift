import Foundation
import Hummingbird
import NIOCore
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferVendorKit
import ProfferWire
import Synchronization
import Testing

/// A person using the `proffer` binary, with a vault in a temporary folder: the one CLI fixture of every suite.
///
/// `CLIPerson()` has a name and a postal address shared always, for negotiating with test vendors;
/// `CLIPerson(bare: ())` has a vault and nothing in it, for the vault's own tests.
final class CLIPerson: Sendable {
    let folder = TemporaryFolder("cli-person")
    /// The vault file.
    let path: String
    let passphraseFile: String
    /// The passphrase in ``passphraseFile``.
    static let passphrase = "correct horse battery staple"
    /// The rollback anchors live in the test's own folder, never in the user's state folder.
    var stateFolder: String { folder.path + "/state" }
    let environment: [String: String]

    /// A person with a fresh vault and nothing in it.
    init(bare: ()) throws {
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        path = folder.path + "/vault/vault.db"
        passphraseFile = folder.path + "/passphrase"
        try Data((CLIPerson.passphrase + "\n").utf8).write(to: URL(fileURLWithPath: passphraseFile))
        chmod(passphraseFile, 0o600)
        environment = [
            "PROFFER_VAULT": path, "PROFFER_PASSPHRASE_FILE": passphraseFile, "XDG_STATE_HOME": folder.path + "/state",
            "PROFFER_WEAK_KDF_ACKNOWLEDGED": "1",
        ]
        let created = try proffer(["init", "--kdf", "weak-for-tests"])
        guard created.status == 0 else { throw FixtureError(created.stderr) }
    }

    /// A person whose default persona shares a name and a postal address always.
    convenience init() async throws {
        try self.init(bare: ())
        // Other suites' tests block threads of the shared concurrency pool that in-process vendors answer on, so a
        // loaded machine can delay an answer by seconds; tests of deadlines pass --timeout themselves.
        try await expectSuccess("pref", "set", "publish.timeout", "60")
        try await expectSuccess("pref", "set", "name", "Ada Lovelace", "--share", "always")
        try await expectSuccess("pref", "set", "postal", "12 Example Street, Berlin", "--share", "always")
    }

    /// Runs `proffer arguments…` and waits, blocking the thread: for suites without servers in this process.
    @discardableResult
    func proffer(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProfferProcess.Outcome {
        try ProfferProcess.run(arguments, environment: environment.merging(extra) { $1 })
    }

    /// Stores `count` intents in one transaction through `vault-test-writer`.
    func fill(_ count: Int) throws {
        let filler = Process()
        filler.executableURL = ProfferProcess.builtProduct("vault-test-writer")
        filler.arguments = [path, passphraseFile, "fill", String(count)]
        filler.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        filler.standardOutput = Pipe()
        try filler.run()
        filler.waitUntilExit()
    }

    /// The vault, opened in this process.
    func open() throws -> Vault {
        var bytes = Array(CLIPerson.passphrase.utf8)
        return try Vault.open(
            at: path, passphrase: try SecretBytes(wiping: &bytes), anchorFolder: stateFolder + "/proffer")
    }

    struct FixtureError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    func run(_ arguments: String...) async throws -> ProfferProcess.Outcome {
        try await ProfferProcess.run(arguments, environment: environment)
    }

    @discardableResult
    func expectSuccess(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> ProfferProcess.Outcome
    {
        let outcome = try await ProfferProcess.run(arguments, environment: environment)
        #expect(
            outcome.status == 0, "\(arguments): \(outcome.stdout) \(outcome.stderr)", sourceLocation: sourceLocation)
        return outcome
    }

    /// Stores an intent and returns its id.
    func intent(_ text: String, persona: String = "default") async throws -> String {
        let made = try await expectSuccess("intent", "new", text, "--persona", persona)
        return String(made.stdout.split(separator: " ").first { $0.hasPrefix("id:") }!.dropFirst(3))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Adds the vendor at `url` as `name`, stores `text` as an intent and publishes it: the intent's id.
    func publish(
        _ text: String = "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base", toVendorAt url: String,
        as name: String = "shop", sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        try await expectSuccess("vendor", "add", url, "--name", name, "--yes", sourceLocation: sourceLocation)
        let id = try await intent(text)
        try await expectSuccess("intent", "publish", id, sourceLocation: sourceLocation)
        return id
    }

    /// The name of the offer answering `intent` whose item is `item`.
    func offer(for intent: String, item: String = "X-T5 body") async throws -> String {
        let offer = try await json("offer", "list", intent, "--json").first { ($0["item"] as? String) == item }
        return try #require(offer?["name"] as? String, "no offer of \(item) for \(intent)")
    }

    /// The JSON array a `--json` listing printed.
    func json(_ arguments: String...) async throws -> [[String: Any]] {
        let outcome = try await ProfferProcess.run(arguments, environment: environment)
        return (try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]]) ?? []
    }
}

/// A switch a test flips while a server runs.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isOn: Bool { value.withLock { $0 } }
    func set(_ on: Bool) { value.withLock { $0 = on } }
}

/// Every inbox body a vendor received, in order.
final class Received: Sendable {
    private let bodies = Mutex<[[UInt8]]>([])
    func append(_ body: [UInt8]) { bodies.withLock { $0.append(body) } }
    var envelopes: [DecodedEnvelope] { bodies.withLock { $0 }.compactMap { try? Envelope.decode(json: $0) } }
    var messages: [Message] { envelopes.compactMap { try? Message.parse($0.envelope.msg) } }
}

extension TestVendor {
    /// The real vendor behind a router that records what arrives and can be made to fail.
    func recordingRouter(_ received: Received, failing: Flag? = nil, processThenFail: Flag? = nil)
        -> Router<BasicRequestContext>
    {
        let inbox = self.inbox
        return router(inbox: { body in
            received.append(body)
            if failing?.isOn == true { return (503, Array("down for maintenance".utf8)) }
            let answer = await inbox.handle(body: body)
            if processThenFail?.isOn == true { return (502, Array("lost".utf8)) }
            return (answer.status, answer.body)
        })
    }

    /// A router serving this vendor's inbox and profile; while `swapped` is on, it presents `replacement`'s profile
    /// (another vendor's keys), and while `failing` is on, the inbox answers 503.
    func swappingRouter(replacement: TestVendor, swapped: Flag, failing: Flag = Flag()) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("profile") { _, _ in
            let profile = swapped.isOn ? replacement.inbox.profile : self.inbox.profile
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: profile.jsonBytes)))
        }
        router.post("inbox") { request, _ in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            if failing.isOn { return Response(status: .serviceUnavailable) }
            let reply = await self.inbox.handle(body: body)
            return Response(status: .init(code: reply.status), body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        return router
    }

    /// Signs `messages` as replies to the envelope in `request`.
    func replies(to request: [UInt8], _ messages: [String]) -> [UInt8] {
        let sender = try! Envelope.decode(json: request).sender
        let envelopes = messages.map { Envelope.signed(message: $0, by: inbox.keys.signing, to: sender).json }
        return Array("{\"replies\":[\(envelopes.joined(separator: ","))]}".utf8)
    }
}
