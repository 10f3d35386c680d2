import Foundation
import GRDB
import ProfferCrypto

/// The export file: a versioned header, then length-prefixed secretstream chunks, one record each, the last one
/// final. See `schema/README.md` ("Vault export").
enum ExportFormat {
    static let magic = Array("PROFFER-VAULT-EXPORT".utf8)
    static let version: UInt8 = 1
    /// Chunks larger than this are refused before any allocation.
    static let maximumChunkBytes = 1 << 20

    /// One exported record.
    struct Record: Codable {
        var persona: Persona?
        var preference: Preference?
        var vendor: Vendor?
        var intent: StoredIntent?
        var audit: AuditEntry?
        /// The final chunk: how many records came before it, so nothing can be silently dropped.
        var end: Int?
    }
}

extension Vault {
    /// Writes everything in the vault to one encrypted file, protected by `passphrase` with a fresh Argon2id salt.
    ///
    /// The audit chain is checked first: a vault whose chain is broken is not exported.
    public func export(to path: String, passphrase: SecretBytes, kdf exportKDF: Argon2Parameters? = nil) throws {
        if case .broken(let entry, let reason) = try verifyAuditChain() {
            throw VaultError(
                .invalidInput("the audit chain is broken at entry \(entry) (\(reason)); refusing to export it"))
        }
        var records: [ExportFormat.Record] = try personas().map { ExportFormat.Record(persona: $0) }
        records += try preferences().map { ExportFormat.Record(preference: $0) }
        records += try vendors().map { ExportFormat.Record(vendor: $0) }
        records += try intents().map { ExportFormat.Record(intent: $0) }
        records += try auditEntries().map { ExportFormat.Record(audit: $0.entry) }

        let parameters = exportKDF ?? kdf
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let key = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var writer = SecretStreamWriter(key: key)
        var file = ExportFormat.magic + [ExportFormat.version] + salt
        file += withUnsafeBytes(of: parameters.operations.bigEndian, Array.init)
        file += withUnsafeBytes(of: parameters.memoryBytes.bigEndian, Array.init)
        file += writer.header
        for record in records + [ExportFormat.Record(end: records.count)] {
            var plain = [UInt8](try Vault.encoder.encode(record))
            let chunk = writer.push(plain, isFinal: record.end != nil)
            wipe(&plain)
            file += withUnsafeBytes(of: UInt32(chunk.count).bigEndian, Array.init) + chunk
        }
        let temporary = path + ".partial"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(file), attributes: [.posixPermissions: 0o600])
        else { throw VaultError(.storage("could not write \(path): check the folder exists and there is space")) }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw VaultError(.storage("could not write \(path): \(String(cString: strerror(errno)))"))
        }
    }

    /// Rebuilds a vault at `vaultPath` from an export, audit chain included, under a new master key.
    ///
    /// The whole file is read and authenticated before anything is written: a truncated, reordered or altered file
    /// is refused and no vault is created.
    public static func importVault(
        from exportPath: String, to vaultPath: String, passphrase: SecretBytes, kdf: Argon2Parameters? = nil
    ) throws -> Vault {
        guard let data = FileManager.default.contents(atPath: exportPath) else {
            throw VaultError(.invalidExport("cannot read \(exportPath)"))
        }
        let (records, exportKDF) = try readExport([UInt8](data), passphrase: passphrase)
        let vault = try Vault.create(at: vaultPath, passphrase: passphrase, kdf: kdf ?? exportKDF)
        do {
            try vault.restore(records)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: vaultPath + suffix) }
            throw error
        }
        return vault
    }

    private static func readExport(_ bytes: [UInt8], passphrase: SecretBytes) throws -> (
        [ExportFormat.Record], Argon2Parameters
    ) {
        let headerLength =
            ExportFormat.magic.count + 1 + PasswordHashing.saltByteCount + 16 + SecretStreamWriter.headerByteCount
        guard bytes.count >= headerLength, Array(bytes.prefix(ExportFormat.magic.count)) == ExportFormat.magic else {
            throw VaultError(.invalidExport("this is not a proffer vault export"))
        }
        var offset = ExportFormat.magic.count
        guard bytes[offset] == ExportFormat.version else {
            throw VaultError(.invalidExport("export format \(bytes[offset]) is not known to this proffer: upgrade it"))
        }
        offset += 1
        func take(_ count: Int) -> [UInt8] {
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        func bigEndian(_ slice: [UInt8]) -> UInt64 { slice.reduce(0) { $0 << 8 | UInt64($1) } }
        let salt = take(PasswordHashing.saltByteCount)
        let parameters = Argon2Parameters(operations: bigEndian(take(8)), memoryBytes: bigEndian(take(8)))
        guard parameters.memoryBytes <= Argon2Parameters.sensitive.memoryBytes, parameters.operations <= 64 else {
            throw VaultError(.invalidExport("its key-derivation costs are implausible: the header was altered"))
        }
        let key = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var reader = try SecretStreamReader(key: key, header: take(SecretStreamWriter.headerByteCount))
        var records: [ExportFormat.Record] = []
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw VaultError(.invalidExport("the file is truncated")) }
            let length = Int(bigEndian(take(4)))
            guard length <= ExportFormat.maximumChunkBytes, offset + length <= bytes.count else {
                throw VaultError(.invalidExport("the file is truncated or altered"))
            }
            let plain: [UInt8]
            do {
                plain = try reader.pull(take(length))
            } catch {
                throw VaultError(
                    .invalidExport(
                        records.isEmpty
                            ? "the passphrase is wrong, or the file was altered"
                            : "record \(records.count + 1) was altered, reordered or does not belong to this export"))
            }
            let record = try decoder.decode(ExportFormat.Record.self, from: Data(plain))
            if let end = record.end {
                let finished = reader.isFinished
                guard finished, end == records.count, offset == bytes.count else {
                    throw VaultError(.invalidExport("the file's records do not add up: it was altered"))
                }
                return (records, parameters)
            }
            records.append(record)
        }
        throw VaultError(.invalidExport("the file is truncated: its final record is missing"))
    }

    private func restore(_ records: [ExportFormat.Record]) throws {
        try write { db in
            for persona in records.compactMap(\.persona) where persona.name != Persona.defaultName {
                try insertPersona(named: persona.name, in: db)
            }
            for preference in records.compactMap(\.preference) {
                let personaID = try personaID(named: preference.persona, in: db)
                let id = SecureRandom.bytes(16)
                let index = keys.blindIndex(
                    personaID.map { String(format: "%02x", $0) }.joined() + ":" + preference.key, in: "preference")
                try db.execute(
                    sql: "INSERT INTO preferences (id, key_index, persona_id, sealed) VALUES (?, ?, ?, ?)",
                    arguments: [
                        Data(id), Data(index), Data(personaID), try seal(preference, table: "preferences", id: id),
                    ])
            }
            for vendor in records.compactMap(\.vendor) {
                let id = SecureRandom.bytes(16)
                try db.execute(
                    sql: "INSERT INTO vendors (id, name_index, sealed) VALUES (?, ?, ?)",
                    arguments: [
                        Data(id), Data(keys.blindIndex(vendor.name.lowercased(), in: "vendor")),
                        try seal(vendor, table: "vendors", id: id),
                    ])
            }
            for intent in records.compactMap(\.intent) {
                let id = SecureRandom.bytes(16)
                try db.execute(
                    sql: "INSERT INTO intents (id, message_index, sealed) VALUES (?, ?, ?)",
                    arguments: [
                        Data(id), Data(keys.blindIndex(intent.id, in: "intent")),
                        try seal(intent, table: "intents", id: id),
                    ])
            }
            for entry in records.compactMap(\.audit) { try appendAudit(entry, in: db) }
        }
    }
}
