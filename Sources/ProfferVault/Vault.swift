import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

/// A person's encrypted vault: one SQLite file in which every record is sealed with XChaCha20-Poly1305 under keys
/// that only the passphrase unlocks.
///
/// ```swift
/// let vault = try Vault.create(at: path, passphrase: passphrase, kdf: .moderate)
/// try vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
/// ```
public final class Vault: Sendable {
    /// The vault file's path.
    public let path: String
    /// The Argon2id costs protecting the master key.
    public let kdf: Argon2Parameters
    let database: DatabaseQueue
    let keys: VaultKeys
    let vaultID: [UInt8]

    /// Whether the vault uses the test-only KDF costs, which protect it poorly.
    public var usesWeakKDF: Bool { kdf == .weakForTests }

    private init(path: String, kdf: Argon2Parameters, database: DatabaseQueue, keys: VaultKeys, vaultID: [UInt8]) {
        self.path = path
        self.kdf = kdf
        self.database = database
        self.keys = keys
        self.vaultID = vaultID
    }

    // MARK: - Creating and opening

    /// Creates a vault at `path` (its folder is created 0700, the file 0600), protected by `passphrase`, with a
    /// `default` persona.
    ///
    /// - Throws: ``VaultError`` when a vault already exists there or the folder cannot be made private.
    public static func create(
        at path: String, passphrase: SecretBytes, kdf: Argon2Parameters, busyTimeout: Double = 5
    ) throws -> Vault {
        let url = URL(fileURLWithPath: path)
        guard !FileManager.default.fileExists(atPath: path) else { throw VaultError(.alreadyExists(path: path)) }
        try makePrivateFolder(url.deletingLastPathComponent().path)
        let previousMask = umask(0o077)
        defer { umask(previousMask) }

        // Built in a temporary file and renamed into place, so an interrupted init leaves no half-made vault.
        let draftPath = path + ".creating-" + SecureRandom.bytes(4).map { String(format: "%02x", $0) }.joined()
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: draftPath + suffix) }
        }
        let draft = try openDatabase(path: draftPath, busyTimeout: busyTimeout)
        let vaultID = SecureRandom.bytes(16)
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let master = try SymmetricKey.random()
        let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: kdf)
        let wrapped = master.secret.withUnsafeBytes {
            AEAD.seal($0, key: kek, associatedData: masterKeyBinding(vaultID: vaultID, kdf: kdf))
        }
        let building = Vault(
            path: draftPath, kdf: kdf, database: draft, keys: VaultKeys(master: master), vaultID: vaultID)
        try mapStorageErrors(path: path) { try VaultSchema.migrator.migrate(draft) }
        try building.write { db in
            try db.execute(
                sql: """
                    INSERT INTO vault (id, format_version, vault_id, kdf_salt, kdf_operations, kdf_memory, wrapped_master_key)
                    VALUES (1, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    VaultSchema.formatVersion, Data(vaultID), Data(salt), Int64(kdf.operations), Int64(kdf.memoryBytes),
                    Data(wrapped),
                ])
            try building.insertPersona(named: Persona.defaultName, in: db)
        }
        try mapStorageErrors(path: path) {
            try draft.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try draft.close()
        }
        guard rename(draftPath, path) == 0 else {
            throw VaultError(.storage("could not create \(path): \(String(cString: strerror(errno)))"))
        }
        try chmod0600(path)
        let database = try openDatabase(path: path, busyTimeout: busyTimeout)
        return Vault(path: path, kdf: kdf, database: database, keys: VaultKeys(master: master), vaultID: vaultID)
    }

    /// Opens and unlocks the vault at `path`.
    ///
    /// Nothing is written before the passphrase is proven right, so a wrong one leaves the file untouched.
    ///
    /// - Throws: ``VaultError`` for a missing vault, unsafe permissions, a wrong passphrase, or one held too long by
    ///   another process.
    public static func open(at path: String, passphrase: SecretBytes, busyTimeout: Double = 5) throws -> Vault {
        guard FileManager.default.fileExists(atPath: path) else { throw VaultError(.notFound(path: path)) }
        try checkPermissions(path)
        // Read-only until the passphrase is proven: closing a read-write connection would checkpoint the WAL into
        // the file, and a process with the wrong passphrase must not change a single byte.
        let probe = try openDatabase(path: path, busyTimeout: busyTimeout, readOnly: true)
        let header = try mapStorageErrors(path: path) {
            try probe.read { db in try Row.fetchOne(db, sql: "SELECT * FROM vault WHERE id = 1") }
        }
        try mapStorageErrors(path: path) { try probe.close() }
        guard let header else { throw VaultError(.invalidInput("\(path) is not a proffer vault")) }
        let version: Int = header["format_version"]
        guard version == VaultSchema.formatVersion else { throw VaultError(.unsupportedFormat(version: version)) }
        let vaultID = [UInt8](header["vault_id"] as Data)
        let kdf = Argon2Parameters(
            operations: UInt64(header["kdf_operations"] as Int64), memoryBytes: UInt64(header["kdf_memory"] as Int64))
        let kek = try PasswordHashing.deriveKey(
            passphrase: passphrase, salt: [UInt8](header["kdf_salt"] as Data), parameters: kdf)
        let master: SecretBytes
        do {
            master = try AEAD.openSecret(
                [UInt8](header["wrapped_master_key"] as Data), key: kek,
                associatedData: masterKeyBinding(vaultID: vaultID, kdf: kdf))
        } catch {
            throw VaultError(.wrongPassphrase)
        }
        let database = try openDatabase(path: path, busyTimeout: busyTimeout)
        return Vault(
            path: path, kdf: kdf, database: database, keys: VaultKeys(master: try SymmetricKey(master)),
            vaultID: vaultID)
    }

    /// Re-wraps the master key under a new passphrase, in one transaction: a crash leaves either the old or the new
    /// passphrase working, never neither. Records are not touched.
    ///
    /// - Throws: ``VaultError`` when `current` is not the vault's passphrase.
    public func changePassphrase(
        current: SecretBytes, to newPassphrase: SecretBytes, kdf newKDF: Argon2Parameters? = nil
    )
        throws
    {
        let master = try unwrapMasterKey(passphrase: current)
        let parameters = newKDF ?? kdf
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let kek = try PasswordHashing.deriveKey(passphrase: newPassphrase, salt: salt, parameters: parameters)
        let wrapped = master.secret.withUnsafeBytes {
            AEAD.seal($0, key: kek, associatedData: Vault.masterKeyBinding(vaultID: vaultID, kdf: parameters))
        }
        try write { db in
            try db.execute(
                sql:
                    "UPDATE vault SET kdf_salt = ?, kdf_operations = ?, kdf_memory = ?, wrapped_master_key = ? WHERE id = 1",
                arguments: [Data(salt), Int64(parameters.operations), Int64(parameters.memoryBytes), Data(wrapped)])
        }
    }

    private func unwrapMasterKey(passphrase: SecretBytes) throws -> SymmetricKey {
        let header = try read { db in try Row.fetchOne(db, sql: "SELECT * FROM vault WHERE id = 1")! }
        let kek = try PasswordHashing.deriveKey(
            passphrase: passphrase, salt: [UInt8](header["kdf_salt"] as Data), parameters: kdf)
        do {
            return try SymmetricKey(
                try AEAD.openSecret(
                    [UInt8](header["wrapped_master_key"] as Data), key: kek,
                    associatedData: Vault.masterKeyBinding(vaultID: vaultID, kdf: kdf)))
        } catch {
            throw VaultError(.wrongPassphrase)
        }
    }

    /// Binds the wrapped master key to this vault, its format and its KDF costs, so none can be swapped unnoticed.
    static func masterKeyBinding(vaultID: [UInt8], kdf: Argon2Parameters) -> [UInt8] {
        var binding = Array("proffer-vault-master-key".utf8) + vaultID
        for number in [UInt64(VaultSchema.formatVersion), kdf.operations, kdf.memoryBytes] {
            binding.append(contentsOf: withUnsafeBytes(of: number.bigEndian, Array.init))
        }
        return binding
    }

    /// Rewrites the file without free pages, so nothing of deleted records stays on disk.
    public func vacuum() throws {
        try Vault.mapStorageErrors(path: path) {
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }

    /// Holds the write lock for `seconds`, calling `started` once it is held: lets tests show how a second process
    /// waits and then gives up.
    package func holdWriteLock(seconds: Double, started: () -> Void) throws {
        try write { _ in
            started()
            Thread.sleep(forTimeInterval: seconds)
        }
    }

    /// SQLite's own consistency check: `["ok"]` for a sound file.
    public func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: - Storage

    private static func openDatabase(path: String, busyTimeout: Double, readOnly: Bool = false) throws -> DatabaseQueue
    {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.journalMode = readOnly ? .default : .wal
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            // Every acknowledged write survives a crash or power cut; deleted data is overwritten, not left behind.
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON")
        }
        return try mapStorageErrors(path: path) { try DatabaseQueue(path: path, configuration: configuration) }
    }

    /// Runs `body` in one IMMEDIATE transaction: all of it is written, or none.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try Vault.mapStorageErrors(path: path) {
            try keys.whileReadable {
                try writeTransaction(body)
            }
        }
    }

    private func writeTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try Vault.mapStorageErrors(path: path) {
            try database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try Vault.mapStorageErrors(path: path) { try keys.whileReadable { try database.read(body) } }
    }

    /// Turns SQLite's errors into ones a person can act on.
    static func mapStorageErrors<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw VaultError(.busy(path: path))
            case .SQLITE_FULL:
                throw VaultError(
                    .storage("the disk is full: the last change was not saved, and the vault is as it was before it"))
            case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY:
                throw VaultError(
                    .storage(
                        "could not write \(path) (\(error.message ?? "I/O error")): the last change was not saved, and the vault is as it was before it"
                    ))
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                throw VaultError(
                    .storage(
                        "\(path) is damaged or is not a proffer vault: restore it from an export (`proffer import`)"))
            default:
                throw VaultError(.storage("storage error in \(path): \(error.message ?? "\(error.resultCode)")"))
            }
        }
    }

    // MARK: - Files

    private static func makePrivateFolder(_ folder: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VaultError(.storage("could not create the folder \(folder): \(error.localizedDescription)"))
            }
        }
        guard chmod(folder, 0o700) == 0 else {
            throw VaultError(
                .storage("could not make \(folder) private (chmod 700): \(String(cString: strerror(errno)))"))
        }
    }

    private static func chmod0600(_ path: String) throws {
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            guard chmod(file, 0o600) == 0 else {
                throw VaultError(
                    .storage("could not make \(file) private (chmod 600): \(String(cString: strerror(errno)))"))
            }
        }
    }

    /// Refuses a vault, or its folder, that other users can write to: they could swap records or the key.
    private static func checkPermissions(_ path: String) throws {
        for item in [path, URL(fileURLWithPath: path).deletingLastPathComponent().path] {
            var status = stat()
            guard stat(item, &status) == 0 else { continue }
            if status.st_mode & (S_IWGRP | S_IWOTH) != 0 {
                throw VaultError(.unsafePermissions(path: item, mode: String(status.st_mode & 0o777, radix: 8)))
            }
        }
    }
}

/// Turns off core dumps for the rest of the process, so unlocked keys never land in a crash file.
public func disableCoreDumps() {
    // Key memory from sodium_malloc is also marked MADV_DONTDUMP; this covers everything else in the process.
    var limit = rlimit(rlim_cur: 0, rlim_max: 0)
    _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
}
