import AsyncHTTPClient
import Foundation
import NIOCore
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import Testing

@testable import ProfferTestSupport

/// Two `proffer-vendor serve` processes over one PostgreSQL database and one key folder: one vendor.
@Suite("several proffer-vendor instances over one PostgreSQL database", .serialized)
struct MultiInstanceTests {
    /// Posts `message`, signed by `person`, to the instance at `baseURL`; returns the status and the reply messages.
    static func send(
        _ message: String, from person: SigningKeyPair, to baseURL: String, vendorKey: SigningPublicKey,
        sealed: [UInt8]? = nil
    ) async throws -> (status: Int, replies: [Message], envelope: Envelope) {
        let envelope = Envelope.signed(message: message, by: person, to: vendorKey, sealedData: sealed)
        let (status, replies) = try await post(envelope.jsonBytes, to: baseURL)
        return (status, replies, envelope)
    }

    static func post(_ body: [UInt8], to baseURL: String) async throws -> (Int, [Message]) {
        var request = HTTPClientRequest(url: baseURL + "/inbox")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        var replies: [Message] = []
        if case .object(let members)? = try? StrictJSON.parse(answer), case .array(let items)? = members.first?.1 {
            for case .object(let envelope) in items {
                if case .string(let msg)? = envelope.first(where: { $0.0 == "msg" })?.1,
                    let message = try? Message.parse(msg)
                {
                    replies.append(message)
                }
            }
        }
        return (Int(response.status.code), replies)
    }

    @Test(
        "an intent sent to one instance is countered, accepted and forgotten through the other; replays are refused at both; twenty accepts spread over both make one deal"
    )
    func twoInstancesActAsOne() async throws {
        let cluster = try ThrowawayPostgres.shared()
        let database = try cluster.newDatabase()
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let first = try await RunningVendor(data: keys.path, database: database)
        let second = try await RunningVendor(data: keys.path, database: database)
        #expect(first.profile.signingKey == second.profile.signingKey)
        let vendorKey = first.profile.signingKey
        let person = try SigningKeyPair.generate()

        let intentID = MessageID.random()
        let intent = try await Self.send(
            "#buy camera.mirrorless id:\(intentID) max:1300EUR in:DE terms:sd-base", from: person,
            to: first.baseURL, vendorKey: vendorKey)
        #expect(intent.status == 200)
        let xt5 = try #require(intent.replies.first { $0.sku?.description == "xt5-body" })
        // A replay is refused at the other instance, as at the first.
        #expect(try await Self.post(intent.envelope.jsonBytes, to: second.baseURL).0 == 409)
        #expect(try await Self.post(intent.envelope.jsonBytes, to: first.baseURL).0 == 409)

        let counter = try await Self.send(
            "#counter id:\(MessageID.random()) re:\(xt5.id!) price:1100EUR", from: person, to: second.baseURL,
            vendorKey: vendorKey)
        let countered = try #require(counter.replies.first)
        #expect(countered.kind == .offer && countered.price?.description == "1100EUR")

        let data = try first.profile.boxKey.seal(Array("{\"name\":\"Ada\",\"postal\":\"1 Main St\"}".utf8))
        let acceptID = MessageID.random()
        let accept = try await Self.send(
            "#accept id:\(acceptID) re:\(countered.id!) terms:sd-base give:name,postal", from: person,
            to: first.baseURL, vendorKey: vendorKey, sealed: data)
        #expect(accept.replies.first?.kind == .confirm)
        #expect(try await Self.post(accept.envelope.jsonBytes, to: second.baseURL).0 == 409)

        let forget = try await Self.send(
            "#forget id:\(MessageID.random()) re:\(acceptID)", from: person, to: second.baseURL, vendorKey: vendorKey)
        #expect(forget.replies.first?.kind == .confirm)
        let name = String(database.split(separator: "/").last!)
        #expect(
            try cluster.psql(database: name, "SELECT state, disclosed IS NULL FROM deals").trimmingCharacters(
                in: .whitespacesAndNewlines) == "forgotten|t")

        // Twenty people's agents? One person, twenty accept ids, racing over both instances for one offer.
        let other = try await Self.send(
            "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR in:DE terms:sd-base", from: person,
            to: second.baseURL, vendorKey: vendorKey)
        let z6 = try #require(other.replies.first { $0.sku?.description == "z6ii-body" })
        let instances = [first.baseURL, second.baseURL]
        let outcomes = try await withThrowingTaskGroup(of: (Int, MessageKind?).self) { group in
            for index in 0..<20 {
                group.addTask {
                    let answer = try await Self.send(
                        "#accept id:\(MessageID.random()) re:\(z6.id!) terms:sd-base give:name,postal", from: person,
                        to: instances[index % 2], vendorKey: vendorKey, sealed: data)
                    return (answer.status, answer.replies.first?.kind)
                }
            }
            var outcomes: [(Int, MessageKind?)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0.1 == .confirm }.count == 1, "\(outcomes.map(\.0))")
        #expect(outcomes.filter { $0.0 == 422 }.count == 19)
        #expect(
            try cluster.psql(database: name, "SELECT count(*) FROM deals WHERE sku = 'z6ii-body'")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(first.stop() == 0 && second.stop() == 0)
    }

    @Test("with --database, instances may share a data folder; an unreachable database is one clear line")
    func startupOverPostgres() async throws {
        // Each refused start still makes its key folder first; all of them go with this one.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let dead = try await ProfferProcess.run(
            [
                "serve", "--catalog", RunningVendor.examples.appendingPathComponent("cameras.json").path, "--listen",
                "127.0.0.1:0", "--data",
                scratch.appendingPathComponent("unreachable").path,
                "--database", "postgresql://someone:s3cret-password@127.0.0.1:1/nowhere",
            ], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(dead.status == 1)
        #expect(dead.stderr.contains("cannot use the database at postgresql://someone@127.0.0.1:1/nowhere"))
        #expect(!dead.stderr.contains("s3cret"), "the password must never be printed")
        // One line for the cause, after one warning: a password on the command line is in the process list.
        let lines = dead.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("warning: the password in --database"), "\(dead.stderr)")

        let cluster = try ThrowawayPostgres.shared()
        let database = try cluster.newDatabase()
        let missing = try await ProfferProcess.run(
            [
                "serve", "--catalog", RunningVendor.examples.appendingPathComponent("cameras.json").path, "--listen",
                "127.0.0.1:0", "--data",
                scratch.appendingPathComponent("missing").path,
                "--database", database + "_typo",
            ], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing.stderr)")

        // A folder whose keys serve records of its own (SQLite) is not shared with instances over PostgreSQL.
        let onSQLite = try await RunningVendor()
        let sharing = try await ProfferProcess.run(
            [
                "serve", "--catalog", RunningVendor.examples.appendingPathComponent("cameras.json").path, "--listen",
                "127.0.0.1:0", "--data", onSQLite.folder.appendingPathComponent("data").path, "--database", database,
            ], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(sharing.status == 1 && sharing.stderr.contains("(SQLite) is using these keys"), "\(sharing.stderr)")
        #expect(onSQLite.stop() == 0)

        let bad = try await ProfferProcess.run(
            [
                "serve", "--catalog", RunningVendor.examples.appendingPathComponent("cameras.json").path, "--data",
                scratch.appendingPathComponent("bad-url").path, "--database", "mysql://x:s3cret@host/db",
            ], executable: ProfferProcess.builtProduct("proffer-vendor"))
        #expect(
            bad.status == 1 && bad.stderr.contains("must start with postgresql://") && !bad.stderr.contains("s3cret"))
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("bad-url").path))
    }
}
