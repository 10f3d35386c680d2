import Foundation
import GRDB
import ProfferCrypto
import ProfferWire
import Testing

@testable import ProfferVault

@Suite("Vault")
struct VaultTests {
    @Test("schema/vault.sql states exactly the schema format 2 creates")
    func schemaFileMatchesMigrations() throws {
        let database = try DatabaseQueue()
        try database.write { db in try VaultSchema.createFormatTwo(db) }
        let migrated = try database.read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        }
        let file = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("schema/vault.sql"), encoding: .utf8)
        let stated = file.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
            .split(separator: ";").map(normalize).filter { !$0.isEmpty }
        #expect(Set(stated) == Set(migrated.map(normalize)))
    }

    private func normalize(_ sql: some StringProtocol) -> String {
        sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test("a vault reopens with its passphrase and refuses any other")
    func passphrase() throws {
        let temporary = try TemporaryVault()
        try temporary.vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
        let reopened = try temporary.reopen()
        #expect(try reopened.preference(key: "email", persona: "default")?.value == "ada@example.org")
        #expect(reopened.integrityProblems.isEmpty)
        #expect {
            try temporary.reopen(passphrase: try secret("wrong horse battery"))
        } throws: { ($0 as? VaultError)?.code == .wrongPassphrase }
    }

    @Test("changing the passphrase re-keys: the old one stops working, the data and the audit chain stay")
    func changePassphrase() throws {
        let temporary = try TemporaryVault()
        try temporary.vault.setPreference(key: "name", value: "Ada", persona: "default", share: .always)
        let sealedBefore = try temporary.rawDatabase().read { db in
            try Data.fetchAll(db, sql: "SELECT sealed FROM preferences")
        }
        let new = try secret("new horse battery staple")
        try temporary.vault.changePassphrase(current: temporary.passphrase, to: new)
        #expect(throws: VaultError.self) { try temporary.reopen() }
        let reopened = try temporary.reopen(passphrase: new)
        #expect(try reopened.preference(key: "name", persona: "default")?.value == "Ada")
        #expect(try reopened.verifyAuditChain() == .intact(entries: 1))
        #expect(try reopened.check().isIntact)
        let sealedAfter = try temporary.rawDatabase().read { db in
            try Data.fetchAll(db, sql: "SELECT sealed FROM preferences")
        }
        #expect(Set(sealedBefore).isDisjoint(with: sealedAfter), "every record was sealed again under the new key")
        // The handle that changed the passphrase goes on working with the new keys.
        try temporary.vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
        #expect(try temporary.reopen(passphrase: new).preferences().count == 2)
        #expect(throws: VaultError.self) {
            try temporary.vault.changePassphrase(current: try secret("not it at all"), to: new)
        }
    }

    @Test("sharing rules default to ask, and every change is audited")
    func sharingRules() throws {
        let vault = try TemporaryVault().vault
        try vault.setPreference(key: "postal", value: "1 Main St", persona: "default", share: nil)
        #expect(try vault.preference(key: "postal", persona: "default")?.share == .ask)
        try vault.setPreference(key: "postal", value: "2 Main St", persona: "default", share: nil)
        try vault.setPreference(key: "postal", value: "2 Main St", persona: "default", share: .never)
        let entries = try vault.auditEntries()
        #expect(entries.map(\.entry.rule) == [.ask, .never])
        #expect(entries.last?.entry.previousRule == .ask)
        #expect(try vault.verifyAuditChain() == .intact(entries: 2))
    }

    @Test("settings are checked and canonicalised; unknown keys are refused")
    func settings() throws {
        let vault = try TemporaryVault().vault
        try vault.setPreference(key: "terms.default", value: "SD-BASE,pdc-intent", persona: "default", share: nil)
        #expect(try vault.preference(key: "terms.default", persona: "default")?.value == "sd-base,pdc-intent")
        #expect(throws: VaultError.self) {
            try vault.setPreference(key: "region.default", value: "XX", persona: "default", share: nil)
        }
        #expect(throws: VaultError.self) {
            try vault.setPreference(key: "terms.default", value: "sd-base", persona: "default", share: .always)
        }
        #expect(throws: VaultError.self) {
            try vault.setPreference(key: "shoe", value: "42", persona: "default", share: nil)
        }
        #expect(throws: VaultError.self) {
            try vault.setPreference(key: "name", value: "A", persona: "nobody", share: nil)
        }
    }

    @Test("intents get an id, keep their canonical form and change state")
    func intents() throws {
        let vault = try TemporaryVault().vault
        let stored = try vault.addIntent(try Message.parse("#BUY Camera max:100eur"), persona: "default")
        #expect(stored.canonical == "#buy camera id:\(stored.id) max:100EUR")
        #expect(try vault.intents(state: .draft).map(\.id) == [stored.id])
        try vault.setIntentState(id: stored.id.description, to: .withdrawn)
        #expect(try vault.intent(id: stored.id.description).state == .withdrawn)
        #expect(try vault.intents(state: .draft).isEmpty)
        #expect(throws: VaultError.self) {
            try vault.addIntent(try Message.parse("#decline re:v9a1b2c3"), persona: "default")
        }
        #expect(throws: VaultError.self) { try vault.addIntent(stored.message, persona: "default") }
    }

    @Test("no plaintext reaches the disk: after writes, after deletes and after VACUUM")
    func noPlaintextOnDisk() throws {
        let temporary = try TemporaryVault()
        let vault = temporary.vault
        let canaries = ["CANARYpostal7731", "CANARYnote8842", "CANARYvendor9953", "CANARYpersona1164"]
        try vault.addPersona(named: canaries[3])
        try vault.setPreference(key: "postal", value: canaries[0], persona: canaries[3], share: .ask)
        _ = try vault.addIntent(try Message.parse("#buy sofa note:\(canaries[1])"), persona: "default")
        try vault.addVendor(Vendor(name: canaries[2], baseURL: "http://127.0.0.1:1"))
        for canary in canaries { #expect(!temporary.bytesOnDisk().contains(canary), "\(canary) after writes") }
        try vault.removePreference(key: "postal", persona: canaries[3])
        try vault.removeVendor(named: canaries[2])
        for canary in canaries { #expect(!temporary.bytesOnDisk().contains(canary), "\(canary) after deletes") }
        try vault.vacuum()
        for canary in canaries { #expect(!temporary.bytesOnDisk().contains(canary), "\(canary) after VACUUM") }
        #expect(try vault.integrityCheck() == ["ok"])
    }

    @Test("a flipped bit makes that record fail, naming it, and every other record still opens")
    func flippedBit() throws {
        let temporary = try TemporaryVault()
        let vault = temporary.vault
        try vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
        try vault.setPreference(key: "phone", value: "+44 1234 5678", persona: "default", share: .ask)
        try temporary.rawDatabase().write { db in
            var sealed = [UInt8](try Data.fetchOne(db, sql: "SELECT sealed FROM preferences WHERE id = 1")!)
            sealed[sealed.count / 2] ^= 0x04
            try db.execute(sql: "UPDATE preferences SET sealed = ? WHERE id = 1", arguments: [Data(sealed)])
        }
        let reopened = try temporary.reopen()
        #expect(reopened.integrityProblems == ["a preference record was replaced by an older, altered or swapped copy"])
        #expect(try reopened.preferences().map(\.key) == ["phone"], "the listing shows what opens")
        #expect(reopened.damagedRecords == [DamagedRecord(kind: "preference", id: 1)], "and names what does not")
        #expect {
            try reopened.preference(key: "email", persona: "default")
        } throws: { error in
            (error as? VaultError)?.code == .damaged && "\(error)".contains("preference record #1")
        }
        #expect(try reopened.personas().count == 1)
        #expect(throws: VaultError.self) {
            try reopened.setPreference(key: "name", value: "Ada", persona: "default", share: .ask)
        }
        let report = try reopened.check()
        #expect(!report.isIntact)
        #expect(report.damagedRecords.contains { $0.contains("preference record #1") })
    }

    @Test("a payload moved to another row or another table fails to open")
    func movedPayload() throws {
        let temporary = try TemporaryVault()
        let vault = temporary.vault
        try vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
        try vault.setPreference(key: "phone", value: "+44 1234 5678", persona: "default", share: .ask)
        try vault.addVendor(Vendor(name: "shop", baseURL: "http://127.0.0.1:1"))
        try temporary.rawDatabase().write { db in
            let first = try Data.fetchOne(db, sql: "SELECT sealed FROM preferences WHERE id = 1")!
            try db.execute(sql: "UPDATE preferences SET sealed = ? WHERE id = 2", arguments: [first])
            let persona = try Data.fetchOne(db, sql: "SELECT sealed FROM personas")!
            try db.execute(sql: "UPDATE vendors SET sealed = ?", arguments: [persona])
        }
        let reopened = try temporary.reopen()
        #expect(try reopened.preferences().map(\.key) == ["email"])
        #expect(try reopened.vendors().isEmpty)
        #expect(Set(reopened.damagedRecords.map(\.kind)) == ["preference", "vendor"])
        #expect(try reopened.personas().map(\.name) == ["default"])
    }

    @Test("an altered, a deleted and a cut-off audit entry are each caught and named")
    func auditTampering() throws {
        for attack in ["alter 2", "delete 2", "delete 3"] {
            let temporary = try TemporaryVault()
            for rule in [SharingRule.ask, .always, .never] {
                try temporary.vault.setPreference(key: "email", value: "a@b.c", persona: "default", share: rule)
            }
            #expect(try temporary.vault.verifyAuditChain() == .intact(entries: 3))
            #expect(try temporary.vault.verifiedAuditEntries().chain == .intact(entries: 3))
            try temporary.rawDatabase().write { db in
                if attack == "alter 2" {
                    var sealed = [UInt8](try Data.fetchOne(db, sql: "SELECT sealed FROM audit WHERE seq = 2")!)
                    sealed[30] ^= 1
                    try db.execute(sql: "UPDATE audit SET sealed = ? WHERE seq = 2", arguments: [Data(sealed)])
                } else {
                    try db.execute(sql: "DELETE FROM audit WHERE seq = ?", arguments: [attack == "delete 2" ? 2 : 3])
                }
            }
            let result = try temporary.vault.verifyAuditChain()
            // The report's view of the chain, from one read, agrees with `audit verify`.
            #expect(try temporary.vault.verifiedAuditEntries().chain == result, "\(attack)")
            let expectedEntry = attack == "delete 3" ? 3 : 2
            guard case .broken(let entry, _) = result else {
                Issue.record("\(attack) went unnoticed")
                continue
            }
            #expect(entry == expectedEntry, "\(attack)")
        }
    }

    @Test(
        "a truncated, reordered or altered export is refused and nothing is written",
        arguments: ["truncate", "reorder", "alter", "passphrase"])
    func badExports(_ damage: String) throws {
        let temporary = try TemporaryVault()
        for (key, value) in [("email", "ada@example.org"), ("phone", "+49 30 1234567"), ("postal", "1 Road")] {
            try temporary.vault.setPreference(key: key, value: value, persona: "default", share: .ask)
        }
        let exportPath = temporary.folder.appendingPathComponent("vault.export").path
        try temporary.vault.export(to: exportPath, passphrase: temporary.passphrase)
        var bytes = [UInt8](FileManager.default.contents(atPath: exportPath)!)
        let headerLength = 20 + 1 + 16 + 16 + 24
        var passphrase = temporary.passphrase
        switch damage {
        case "truncate":
            bytes.removeLast(30)
        case "reorder":
            // Swap the first two chunks (each is a 4-byte length and its bytes).
            func chunk(at offset: Int) -> Range<Int> {
                let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                return offset..<offset + 4 + length
            }
            let first = chunk(at: headerLength)
            let second = chunk(at: first.upperBound)
            bytes =
                Array(bytes[..<first.lowerBound]) + Array(bytes[second]) + Array(bytes[first])
                + Array(bytes[second.upperBound...])
        case "alter":
            bytes[bytes.count - 10] ^= 0x20
        default:
            passphrase = try secret("some other passphrase")
        }
        _ = FileManager.default.createFile(atPath: exportPath, contents: Data(bytes))
        let target = temporary.folder.appendingPathComponent("restored/vault.db").path
        #expect(throws: VaultError.self) { try Vault.importVault(from: exportPath, to: target, passphrase: passphrase) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("core dumps and ptrace-dumpability are off once disabled")
    func coreDumpsDisabled() {
        disableCoreDumps()
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        #expect(limit.rlim_cur == 0)
        #expect(!isProcessDumpable)
    }
}

@Suite("Sealed JSON")
struct SealedJSONTests {
    @Test(
        "an intent's hand-written JSON decodes to what JSONEncoder's would, and reads back without JSONDecoder",
        arguments: [nil, [], ["a", "b\"c\\d\u{0}"]])
    func intentJSON(sentTo: [String]?) throws {
        for sameDates in [false, true] { try checkIntentJSON(sentTo: sentTo, sameDates: sameDates) }
    }

    private func checkIntentJSON(sentTo: [String]?, sameDates: Bool) throws {
        var intent = StoredIntent(
            message: try Message.parse("#buy camera id:k7f3q2ab note:\"say \\\"hi\\\" é\\\\\""),
            persona: "work\u{01}\u{1F}",
            state: .published, createdAt: Date(timeIntervalSince1970: 1_795_428_059),
            updatedAt: Date(timeIntervalSince1970: sameDates ? 1_795_428_059 : 951_782_400))
        intent.sentTo = sentTo
        var written: [UInt8] = []
        intent.writeSealedJSON(to: &written)
        let fast = try Vault.decoder.decode(StoredIntent.self, from: Data(written))
        let reference = try Vault.decoder.decode(StoredIntent.self, from: try Vault.encoder.encode(intent))
        #expect(fast == reference)
        #expect(fast.canonical == intent.canonical && fast.persona == intent.persona && fast.sentTo == sentTo)
        let read = written.withUnsafeBytes { StoredIntent.readSealedJSON($0) }
        #expect(read == reference, "the hand-written reader gives what JSONDecoder gives")
        let fromEncoder = try Vault.encoder.encode(intent)
        let other = fromEncoder.withUnsafeBytes { StoredIntent.readSealedJSON($0) }
        #expect(other == nil || other == reference, "another writer's JSON is read right or left to JSONDecoder")
        for cut in [1, written.count / 2, written.count - 1] {
            #expect(Array(written.prefix(cut)).withUnsafeBytes { StoredIntent.readSealedJSON($0) } == nil)
        }
    }
}

@Suite("Sealed JSON dates")
struct SealedJSONDateTests {
    @Test("every day from 1900 to 2200 reads back as the date that was written")
    func days() {
        var day = Date(timeIntervalSince1970: -2_208_988_800)
        while day.timeIntervalSince1970 < 7_258_118_400 {
            var written: [UInt8] = []
            SealedJSON.appendDate(day.addingTimeInterval(86_399), to: &written)
            let read = written.withUnsafeBytes { bytes -> Date? in
                var reader = SealedJSONReader(bytes)
                return reader.date()
            }
            #expect(read == day.addingTimeInterval(86_399), "\(String(decoding: written, as: UTF8.self))")
            if read != day.addingTimeInterval(86_399) { return }
            day = day.addingTimeInterval(86_400)
        }
    }
}

@Suite("Vendor records")
struct VendorRecordTests {
    @Test("a stale copy of a vendor keeps notes added since; a key change sticks only to the vendor it was seen on")
    func vendorRecordRaces() throws {
        let temporary = try TemporaryVault()
        let vault = temporary.vault
        try vault.addVendor(Vendor(name: "shop", baseURL: "http://127.0.0.1:1"))
        var stale = try vault.vendor(named: "shop")
        try vault.addVendorNote("arrived late", toVendor: "shop")
        stale.profileName = "Shop"
        try vault.updateVendor(stale)
        #expect(try vault.vendor(named: "shop").notes?.map(\.text) == ["arrived late"])
        #expect(try vault.vendor(named: "shop").profileName == "Shop")

        // The vendor is removed and another takes its name: what was seen on the first is not put on the second.
        let first = try vault.vendor(named: "shop")
        try vault.removeVendor(named: "shop")
        try vault.addVendor(Vendor(name: "shop", baseURL: "http://127.0.0.1:2"))
        let change = PresentedKeyChange(at: Date(), what: "presents another signing key")
        try vault.setKeyChange(change, ofVendor: "shop", identityLabel: first.identityLabel)
        #expect(try vault.vendor(named: "shop").keyChange == nil)
        #expect(throws: VaultError.self) { try vault.updateVendor(first) }
        let second = try vault.vendor(named: "shop")
        try vault.setKeyChange(change, ofVendor: "shop", identityLabel: second.identityLabel)
        #expect(try vault.vendor(named: "shop").keyChange?.what == change.what)
        for text in ["", "two\nlines", "\u{202E}reversed", String(repeating: "x", count: 1001)] {
            #expect(throws: VaultError.self) { try vault.addVendorNote(text, toVendor: "shop") }
        }
    }
}
