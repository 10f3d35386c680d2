import Foundation
import GRDB
import ProfferCrypto

/// Format 1 → format 2, in one transaction on open: every format-1 record is opened with format 1's keys and
/// bindings, and written again through the sealed-record layer. The master key and vault id stay; the identity
/// seed becomes the bytes format 1 derived, so vendors see the same keys. A format-1 audit chain that does not
/// verify is not migrated, so migrating never turns a broken chain into an intact one.
extension Vault {
    static func migrateFormatOne(at path: String, passphrase: SecretBytes, busyTimeout: Double) throws {
        let database = try openDatabase(path: path, busyTimeout: busyTimeout)
        try mapStorageErrors(path: path) {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    guard let row = try Row.fetchOne(db, sql: "SELECT * FROM vault WHERE id = 1"),
                        row["format_version"] as Int? == 1
                    else { return .rollback }  // another process migrated it first
                    try migrate(db, header: row, passphrase: passphrase, path: path)
                    return .commit
                }
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            try database.close()
        }
    }

    private static func migrate(_ db: Database, header: Row, passphrase: SecretBytes, path: String) throws {
        guard let vaultIDData = header["vault_id"] as Data?, let salt = header["kdf_salt"] as Data?,
            let operations = header["kdf_operations"] as Int64?, let memory = header["kdf_memory"] as Int64?,
            let wrapped = header["wrapped_master_key"] as Data?
        else { throw VaultError(.notAVault(path: path, why: "its format-1 header is incomplete")) }
        let vaultID = [UInt8](vaultIDData)
        let kdf = Argon2Parameters(operations: UInt64(operations), memoryBytes: UInt64(memory))
        let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: [UInt8](salt), parameters: kdf)
        let master = try unwrap([UInt8](wrapped), kek: kek, vaultID: vaultID, kdf: kdf, format: 1)
        let old = FormatOneReader(db: db, keys: VaultKeys.formatOne(master: master), vaultID: vaultID)

        let personas = try old.records(Persona.self, table: "personas", order: "rowid")
        let preferences = try old.records(Preference.self, table: "preferences", order: "rowid")
        let vendors = try old.records(Vendor.self, table: "vendors", order: "rowid")
        let intents = try old.records(StoredIntent.self, table: "intents", order: "seq")
        let offers = try old.records(StoredOffer.self, table: "offers", order: "seq")
        let deals = try old.records(StoredDeal.self, table: "deals", order: "seq")
        let audit = try old.auditEntries(auditHead: (header["audit_head"] as Data?).map { [UInt8]($0) })

        for table in [
            "vault", "personas", "preferences", "vendors", "intents", "audit", "offers", "deals", "seen_replies",
            "grdb_migrations",
        ] {
            try db.execute(sql: "DROP TABLE IF EXISTS \(table)")
        }
        if try db.tableExists("sqlite_sequence") { try db.execute(sql: "DELETE FROM sqlite_sequence") }
        try VaultSchema.createFormatTwo(db)

        let keys = VaultKeys(master: master, identitySeed: old.keys.identity)
        let transaction = VaultTransaction(
            db: db, sealer: RecordSealer(keys: keys, vaultID: vaultID), state: VaultState())
        try keys.whileReadable {
            for record in personas { try transaction.insert(record, duplicateName: record.name) }
            for record in preferences { try transaction.insert(record, duplicateName: record.key) }
            for record in vendors { try transaction.insert(record, duplicateName: record.name) }
            for record in intents { try transaction.insert(record, duplicateName: record.id.description) }
            for record in offers { try transaction.insert(record, duplicateName: record.name) }
            for record in deals { try transaction.insert(record, duplicateName: record.id.description) }
            for entry in audit { try transaction.appendAudit(entry) }
        }
        transaction.state.writeCounter = 1
        // Format 1's records are as format 2 first had them: every step since is still due.
        transaction.state.revision = 0
        try Header(
            vaultID: vaultID, salt: [UInt8](salt), kdf: kdf,
            wrappedMasterKey: wrap(master, kek: kek, vaultID: vaultID, kdf: kdf),
            sealedIdentitySeed: sealIdentitySeed(old.keys.identity, keys: keys, vaultID: vaultID),
            sealedState: sealState(transaction.state, keys: keys, vaultID: vaultID)
        ).insert(db)
    }
}

/// Reads format 1's sealed rows: bound to table ‖ 0 ‖ 16-byte id ‖ format, padded to 64-byte blocks.
private struct FormatOneReader {
    let db: Database
    let keys: (records: SymmetricKey, audit: SymmetricKey, identity: SymmetricKey)
    let vaultID: [UInt8]

    func associatedData(table: String, id: [UInt8]) -> [UInt8] {
        Array(table.utf8) + [0] + id + withUnsafeBytes(of: UInt32(1).bigEndian, Array.init)
    }

    func open<T: Decodable>(_ type: T.Type, sealed: [UInt8], table: String, id: [UInt8]) throws -> T {
        do {
            var padded = try AEAD.open(sealed, key: keys.records, associatedData: associatedData(table: table, id: id))
            defer { wipe(&padded) }
            var plain = try Padding.unpad(padded, blockSize: 64)
            defer { wipe(&plain) }
            return try Vault.decoder.decode(T.self, from: Data(plain))
        } catch {
            throw VaultError(
                .damaged([
                    "the format-1 \(table) record \(Hex.encode(Array(id.prefix(4)))) does not authenticate; "
                        + "the vault was not migrated (an older proffer can still export what opens)"
                ]))
        }
    }

    func records<T: Decodable>(_ type: T.Type, table: String, order: String) throws -> [T] {
        guard try db.tableExists(table) else { return [] }
        return try Row.fetchAll(db, sql: "SELECT id, sealed FROM \(table) ORDER BY \(order)").map { row in
            let id = (row["id"] as Data?).map { [UInt8]($0) } ?? []
            let sealed = (row["sealed"] as Data?).map { [UInt8]($0) } ?? []
            return try open(T.self, sealed: sealed, table: table, id: id)
        }
    }

    private struct AuditHead: Decodable {
        var count: Int
        var lastMAC: [UInt8]
    }

    /// The entries, after checking the chain against format 1's sealed head.
    func auditEntries(auditHead: [UInt8]?) throws -> [AuditEntry] {
        var previous = Vault.genesisMAC
        var entries: [AuditEntry] = []
        for row in try Row.fetchAll(db, sql: "SELECT seq, sealed, mac FROM audit ORDER BY seq") {
            let number = row["seq"] as Int? ?? 0
            let sealed = (row["sealed"] as Data?).map { [UInt8]($0) } ?? []
            let mac = AuditChain.mac(previous: previous, number: number, sealed: sealed, key: keys.audit)
            guard number == entries.count + 1, constantTimeEquals(mac, (row["mac"] as Data?).map { [UInt8]($0) } ?? [])
            else { throw brokenChain(at: entries.count + 1) }
            entries.append(
                try open(
                    AuditEntry.self, sealed: sealed, table: "audit",
                    id: withUnsafeBytes(of: UInt64(number).bigEndian, Array.init)))
            previous = mac
        }
        let head: AuditHead? = try auditHead.map {
            try open(AuditHead.self, sealed: $0, table: "vault.audit_head", id: vaultID)
        }
        guard head?.count ?? 0 == entries.count, constantTimeEquals(head?.lastMAC ?? Vault.genesisMAC, previous)
        else { throw brokenChain(at: entries.count + 1) }
        return entries
    }

    private func brokenChain(at entry: Int) -> VaultError {
        VaultError(
            .damaged([
                "the format-1 audit chain is broken at entry \(entry); the vault was not migrated, so the break "
                    + "stays visible (an older proffer can still export it)"
            ]))
    }
}
