import Foundation
import GRDB
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import Testing

@testable import ProfferVault

/// A vault holding a record of every type, as a week of real use leaves it.
func populatedVault() throws -> TemporaryVault {
    let temporary = try TemporaryVault()
    let vault = temporary.vault
    try vault.addPersona(named: "work")
    try vault.setPreference(key: "email", value: "ada@work.example", persona: "work", share: .always)
    try vault.setPreference(key: "name", value: "Ada", persona: "default", share: .ask)
    try vault.setPreference(key: "terms.default", value: "sd-base", persona: "default", share: nil)
    let signer = try SigningKeyPair.generate()
    let box = try BoxKeyPair.generate()
    try vault.addVendor(
        Vendor(
            name: "shop", baseURL: "http://127.0.0.1:1", signingKey: signer.publicKey, boxKey: box.publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!], profileName: "Shop"))
    let intent = try vault.addIntent(try Message.parse("#fix sink note:\"drips at night\""), persona: "work")
    let offer = try Message.parse("#offer id:q2b9x7k4 re:\(intent.id) price:80EUR terms:sd-base needs:email")
    try vault.addOffers([
        StoredOffer(
            vendor: "shop", intentID: intent.id, envelope: "{\"v\":1}", message: offer, receivedAt: Date(),
            expiresAt: nil)
    ])
    let deal = StoredDeal(
        id: MessageID("m3k8p2qa")!, vendor: "shop", persona: "work", offerID: offer.id!, intentID: intent.id,
        acceptEnvelope: "{\"accept\":1}", replyEnvelope: "{\"confirm\":1}", disclosed: [.email],
        terms: [TermsID("sd-base")!], createdAt: Date(), state: .sending)
    try vault.beginDeal(deal)
    try vault.updateDeal(id: deal.id) { stored in
        stored.state = .confirmed
        return []
    }
    _ = try vault.admitReplies([(sender: Array(repeating: 7, count: 32), nonce: [1, 2, 3], freshUntil: .max)], now: 0)
    return temporary
}

/// Every record of every table, decoded, for comparing two vaults record by record.
func allRecords(_ vault: Vault) throws -> [String: [String]] {
    var tables: [String: [String]] = [:]
    func add<Record: SealedRecord>(_ type: Record.Type) throws {
        tables[Record.table.name] = try vault.listAll(type).map { record in
            String(decoding: try JSONEncoder.sorted.encode(record), as: UTF8.self)
        }
    }
    for type in sealedRecordTypes { try add(type) }
    tables["audit"] = try vault.auditEntries().map {
        String(decoding: try JSONEncoder.sorted.encode($0.entry), as: UTF8.self)
    }
    return tables
}

extension JSONEncoder {
    static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// A fingerprint of the identity seed that does not reveal it: two vaults with the same one show vendors the same
/// keys.
func seedFingerprint(_ vault: Vault) throws -> [UInt8] {
    PairwiseIdentity.keyPair(identitySeed: try vault.identitySeed(), persona: "work", vendorLabel: "label").publicKey
        .bytes
}

@Suite("Vault integrity")
struct VaultIntegrityTests {
    @Test("a new vault's audit head exists: zero entries verify, and a blanked state is a broken chain")
    func auditHeadFromInit() throws {
        let temporary = try TemporaryVault()
        #expect(try temporary.vault.verifyAuditChain() == .intact(entries: 0))
        try temporary.rawDatabase().write { db in try db.execute(sql: "UPDATE vault SET sealed_state = x''") }
        let reopened = try temporary.reopen()
        #expect(!reopened.integrityProblems.isEmpty)
        guard case .broken = try reopened.verifyAuditChain() else {
            Issue.record("a vault without its audit head verified as intact")
            return
        }
    }

    @Test("a row deleted, added, swapped or rolled back is named on open, and writes are refused")
    func rowAttacks() throws {
        let attacks: [(String, (Database) throws -> Void, String)] = [
            (
                "delete", { try $0.execute(sql: "DELETE FROM preferences WHERE id = 2") },
                "1 preference record is missing"
            ),
            (
                "add",
                {
                    try $0.execute(
                        sql:
                            "INSERT INTO intents (id, version, message_index, sealed) SELECT 9, version, x'00', sealed FROM intents"
                    )
                }, "1 intent record was added"
            ),
            (
                "swap",
                { db in
                    let first = try Data.fetchOne(db, sql: "SELECT key_index FROM preferences WHERE id = 1")!
                    let second = try Data.fetchOne(db, sql: "SELECT key_index FROM preferences WHERE id = 2")!
                    try db.execute(sql: "UPDATE preferences SET key_index = x'00' WHERE id = 1")
                    try db.execute(sql: "UPDATE preferences SET key_index = ? WHERE id = 2", arguments: [first])
                    try db.execute(sql: "UPDATE preferences SET key_index = ? WHERE id = 1", arguments: [second])
                }, "a preference record was replaced"
            ),
        ]
        for (name, attack, expected) in attacks {
            let temporary = try populatedVault()
            try temporary.rawDatabase().write(attack)
            let reopened = try temporary.reopen()
            #expect(
                reopened.integrityProblems.contains { $0.hasPrefix(expected) }, "\(name): \(reopened.integrityProblems)"
            )
            #expect(throws: VaultError.self, "\(name): writes are refused") {
                try reopened.setPreference(key: "phone", value: "1", persona: "default", share: .ask)
            }
            #expect(try !reopened.check().isIntact, "\(name)")
        }
    }

    @Test("an older copy of one row (rule always instead of never) is caught, though the row itself authenticates")
    func rowRollback() throws {
        let temporary = try populatedVault()
        try temporary.vault.setPreference(key: "name", value: "Ada", persona: "default", share: .always)
        let old = try temporary.rawDatabase().read { db in
            try Row.fetchOne(db, sql: "SELECT version, sealed FROM preferences WHERE id = 2")!
        }
        try temporary.vault.setPreference(key: "name", value: "Ada", persona: "default", share: .never)
        try temporary.rawDatabase().write { db in
            try db.execute(
                sql: "UPDATE preferences SET version = ?, sealed = ? WHERE id = 2",
                arguments: [old["version"] as Int64, old["sealed"] as Data])
        }
        let reopened = try temporary.reopen()
        #expect(reopened.integrityProblems == ["a preference record was replaced by an older, altered or swapped copy"])
        #expect(throws: VaultError.self) { try reopened.addPersona(named: "x") }
    }

    @Test("an older copy of the whole file is refused against the anchor, with the command that accepts it")
    func wholeFileRollback() throws {
        let temporary = try populatedVault()
        let old = try temporary.snapshot("old.db")
        try temporary.vault.setPreference(key: "name", value: "Ada", persona: "default", share: .never)
        try temporary.restore(old)
        #expect {
            try temporary.reopen()
        } throws: { error in
            (error as? VaultError)?.code == .rolledBack && "\(error)".contains("proffer vault accept-rollback")
        }
        #expect(throws: VaultError.self, "read-only opens are refused too") { try temporary.reopen(access: .readOnly) }
        let accepted = try temporary.reopen(acceptOlderState: true)
        #expect(try accepted.preference(key: "name", persona: "default")?.share == .ask)
        #expect(try temporary.reopen().integrityProblems.isEmpty, "once accepted, it opens as usual")
    }

    @Test("a vault new to this machine is anchored; an altered anchor is refused")
    func anchors() throws {
        let temporary = try populatedVault()
        try FileManager.default.removeItem(atPath: temporary.anchorFolder)
        _ = try temporary.reopen()
        let anchors = try FileManager.default.contentsOfDirectory(atPath: temporary.anchorFolder)
            .filter { $0.hasSuffix(".anchor") }
        #expect(anchors.count == 1)
        let anchorPath = temporary.anchorFolder + "/" + anchors[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: anchorPath)!)
        bytes[15] ^= 1
        _ = FileManager.default.createFile(atPath: anchorPath, contents: Data(bytes))
        #expect { try temporary.reopen() } throws: { ($0 as? VaultError)?.code == .damaged }
        _ = try temporary.reopen(acceptOlderState: true)
        #expect(try temporary.reopen().integrityProblems.isEmpty)
    }

    @Test("after a passphrase change, the old header with the old passphrase opens nothing written since")
    func oldHeaderAfterRekey() throws {
        let temporary = try populatedVault()
        let header = try temporary.rawDatabase().read { db in try Row.fetchOne(db, sql: "SELECT * FROM vault")! }
        let new = try secret("new horse battery staple")
        try temporary.vault.changePassphrase(current: temporary.passphrase, to: new)
        let vault = try temporary.reopen(passphrase: new)
        try vault.setPreference(key: "phone", value: "+44 1234 5678", persona: "default", share: .always)
        try temporary.rawDatabase().write { db in
            try db.execute(
                sql: """
                    UPDATE vault SET kdf_salt = ?, kdf_operations = ?, kdf_memory = ?, wrapped_master_key = ?,
                    sealed_identity_seed = ?, sealed_state = ?
                    """,
                arguments: [
                    header["kdf_salt"] as Data, header["kdf_operations"] as Int64, header["kdf_memory"] as Int64,
                    header["wrapped_master_key"] as Data, header["sealed_identity_seed"] as Data,
                    header["sealed_state"] as Data,
                ])
        }
        #expect { try temporary.reopen() } throws: { ($0 as? VaultError)?.code == .rolledBack }
        // Even on a machine without the anchor, nothing written under the new key opens with the old one.
        try FileManager.default.removeItem(atPath: temporary.anchorFolder)
        let old = try temporary.reopen()
        #expect(!old.integrityProblems.isEmpty)
        #expect(try old.preferences().isEmpty)
        #expect(old.damagedRecords.count == 4)
    }

    @Test("every sealed payload's size is one of the shared buckets, whatever its type")
    func sizeBuckets() throws {
        let temporary = try populatedVault()
        let sizes = try temporary.rawDatabase().read { db in
            try RecordTable.all.map(\.name).flatMap { table in
                try Int.fetchAll(db, sql: "SELECT length(sealed) FROM \(table)")
            } + Int.fetchAll(db, sql: "SELECT length(sealed) FROM audit")
        }
        let buckets = Set([256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096].map { $0 + AEAD.overhead })
        #expect(!sizes.isEmpty && sizes.allSatisfy(buckets.contains), "\(sizes)")
        #expect(Set(sizes).count <= 3, "a persona, a preference and an audit entry look alike")
        let sequences = try temporary.rawDatabase().read { db in try db.tableExists("sqlite_sequence") }
        #expect(!sequences, "no AUTOINCREMENT counter reveals how many records ever existed")
    }

    @Test("record ids are never reused, so an old row can never pass for a newer record")
    func idsNotReused() throws {
        let temporary = try TemporaryVault()
        try temporary.vault.addVendor(Vendor(name: "a", baseURL: "http://127.0.0.1:1"))
        try temporary.vault.removeVendor(named: "a")
        try temporary.vault.addVendor(Vendor(name: "b", baseURL: "http://127.0.0.1:1"))
        let ids = try temporary.rawDatabase().read { db in try Int.fetchAll(db, sql: "SELECT id FROM vendors") }
        #expect(ids == [2])
    }

    @Test("export then import keeps every record of every table, the audit chain and the vendor-facing keys")
    func exportImportEveryTable() throws {
        let temporary = try populatedVault()
        let exportPath = temporary.folder.appendingPathComponent("vault.export").path
        let summary = try temporary.vault.export(to: exportPath, passphrase: temporary.passphrase)
        #expect(summary.leftOut.isEmpty)
        #expect(!([UInt8](FileManager.default.contents(atPath: exportPath)!)).contains("ada@work.example"))
        let target = temporary.folder.appendingPathComponent("restored/vault.db").path
        let restored = try Vault.importVault(
            from: exportPath, to: target, passphrase: temporary.passphrase, anchorFolder: temporary.anchorFolder)
        let before = try allRecords(temporary.vault)
        let after = try allRecords(restored)
        for table in before.keys.sorted() {
            #expect(before[table] == after[table], "\(table)")
            #expect(before[table]?.isEmpty == false, "\(table) was exercised")
        }
        #expect(try seedFingerprint(restored) == seedFingerprint(temporary.vault))
        #expect(try restored.verifyAuditChain() == .intact(entries: 3))
        #expect(try restored.check().isIntact)
    }

    @Test("export refuses to write onto the vault or over a file, unless --force for another file")
    func exportTargets() throws {
        let temporary = try populatedVault()
        #expect {
            try temporary.vault.export(to: temporary.path, passphrase: temporary.passphrase, overwrite: true)
        } throws: {
            "\($0)".contains("onto the vault itself")
        }
        let other = temporary.folder.appendingPathComponent("existing").path
        _ = FileManager.default.createFile(atPath: other, contents: Data("keep me".utf8))
        #expect { try temporary.vault.export(to: other, passphrase: temporary.passphrase) } throws: {
            "\($0)".contains("--force")
        }
        #expect(FileManager.default.contents(atPath: other) == Data("keep me".utf8))
        try temporary.vault.export(to: other, passphrase: temporary.passphrase, overwrite: true)
        #expect(FileManager.default.contents(atPath: other) != Data("keep me".utf8))
        #expect(try temporary.reopen().check().isIntact)
    }

    @Test("a damaged vault exports only with --salvage, which names what it left out; the import records it")
    func salvage() throws {
        let temporary = try populatedVault()
        try temporary.rawDatabase().write { db in
            try db.execute(sql: "UPDATE vendors SET sealed = (SELECT sealed FROM personas LIMIT 1)")
        }
        let damaged = try temporary.reopen(access: .readOnly)
        let exportPath = temporary.folder.appendingPathComponent("salvage.export").path
        #expect { try damaged.export(to: exportPath, passphrase: temporary.passphrase) } throws: {
            "\($0)".contains("--salvage")
        }
        let summary = try damaged.export(to: exportPath, passphrase: temporary.passphrase, salvage: true)
        #expect(summary.leftOut.contains { $0.contains("vendor record #1") }, "\(summary.leftOut)")
        let restored = try Vault.importVault(
            from: exportPath, to: temporary.folder.appendingPathComponent("r/vault.db").path,
            passphrase: temporary.passphrase, anchorFolder: temporary.anchorFolder)
        #expect(try restored.vendors().isEmpty)
        #expect(try restored.deals().count == 1)
        #expect(try restored.auditEntries().last?.entry.kind == .salvage)
        #expect(try restored.check().isIntact)
    }

    @Test("a read-only handle reads and exports, and refuses every write")
    func readOnly() throws {
        let temporary = try populatedVault()
        let vault = try temporary.reopen(access: .readOnly)
        #expect(try vault.personas().count == 2)
        try vault.export(
            to: temporary.folder.appendingPathComponent("ro.export").path, passphrase: temporary.passphrase)
        #expect { try vault.addPersona(named: "x") } throws: { "\($0)".contains("read-only") }
    }

    @Test("a format-1 vault made by the landed code opens, migrates, passes vault check and keeps vendors' keys")
    func formatOneMigration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-v1-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("vault.db").path
        try FileManager.default.copyItem(
            atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/format1-vault.db").path, toPath: path)
        let passphrase = try secret("correct horse battery staple")
        let anchors = folder.appendingPathComponent("state").path
        #expect { try Vault.open(at: path, passphrase: try secret("wrong"), anchorFolder: anchors) } throws: {
            ($0 as? VaultError)?.code == .wrongPassphrase
        }
        let vault = try Vault.open(at: path, passphrase: passphrase, anchorFolder: anchors)
        #expect(vault.integrityProblems.isEmpty)
        #expect(try vault.check().isIntact)
        #expect(try vault.personas().map(\.name) == ["default", "work"])
        #expect(try vault.preferences().count == 7)
        #expect(try vault.vendors().map(\.name) == ["bicycles", "cameras", "plumbing"])
        #expect(try vault.intents().count == 2)
        #expect(try vault.offers().count == 4)
        #expect(try vault.deals().map(\.state) == [.forgotten, .confirmed])
        #expect(try vault.verifyAuditChain() == .intact(entries: 9))
        let format = try DatabaseQueue(path: path).read { db in
            try Int.fetchOne(db, sql: "SELECT format_version FROM vault")
        }
        #expect(format == 2)
        // The key each vendor saw in the deal's accept is the one the migrated seed still derives.
        for deal in try vault.deals() {
            let accept = try Envelope.decode(json: Array(deal.acceptEnvelope.utf8))
            let vendor = try vault.vendor(named: deal.vendor)
            let derived = PairwiseIdentity.keyPair(
                identitySeed: try vault.identitySeed(), persona: deal.persona,
                vendorLabel: vendor.identityLabel ?? vendor.name)
            #expect(accept.sender == derived.publicKey, "deal \(deal.id)")
        }
        let reopened = try Vault.open(at: path, passphrase: passphrase, anchorFolder: anchors)
        #expect(try reopened.check().isIntact, "a migrated vault opens again as format 2")
    }

    @Test("a format-1 export still imports")
    func formatOneExport() throws {
        let temporary = try TemporaryVault()
        let key = try PasswordHashing.deriveKey(
            passphrase: temporary.passphrase, salt: Array(repeating: 1, count: 16), parameters: .weakForTests)
        var writer = SecretStreamWriter(key: key)
        var file = ExportFormat.magic + [1] + Array(repeating: 1, count: 16)
        file += withUnsafeBytes(of: Argon2Parameters.weakForTests.operations.bigEndian, Array.init)
        file += withUnsafeBytes(of: Argon2Parameters.weakForTests.memoryBytes.bigEndian, Array.init)
        file += writer.header
        let records = [
            #"{"persona":{"name":"work","createdAt":"2026-11-01T10:00:00Z"}}"#,
            #"{"preference":{"persona":"work","key":"email","value":"a@b.c","share":"ask","updatedAt":"2026-11-01T10:00:00Z"}}"#,
            #"{"audit":{"kind":"sharing-rule","at":"2026-11-01T10:00:00Z","persona":"work","categories":["email"],"rule":"ask"}}"#,
            #"{"end":3}"#,
        ]
        for (index, record) in records.enumerated() {
            let chunk = writer.push(Array(record.utf8), isFinal: index == records.count - 1)
            file += withUnsafeBytes(of: UInt32(chunk.count).bigEndian, Array.init) + chunk
        }
        let exportPath = temporary.folder.appendingPathComponent("v1.export").path
        _ = FileManager.default.createFile(atPath: exportPath, contents: Data(file))
        let restored = try Vault.importVault(
            from: exportPath, to: temporary.folder.appendingPathComponent("r/vault.db").path,
            passphrase: temporary.passphrase, anchorFolder: temporary.anchorFolder)
        #expect(try restored.preference(key: "email", persona: "work")?.value == "a@b.c")
        #expect(try restored.verifyAuditChain() == .intact(entries: 1))
    }

    @Test("the commitment adds and removes in any order, and wraps around 2²⁵⁶")
    func commitmentArithmetic() {
        let elements = (0..<50).map { index in KeyedHash.digest([UInt8(index)]) } + [Array(repeating: 0xFF, count: 32)]
        var forward = Commitment()
        for element in elements { forward.add(element) }
        var backward = Commitment()
        for element in elements.reversed() { backward.add(element) }
        #expect(forward == backward)
        for element in elements.shuffled() { forward.subtract(element) }
        #expect(forward == Commitment())
        var one = Commitment()
        one.add(elements[0])
        var other = Commitment()
        other.add(elements[1])
        #expect(one != other)
    }
}
