import Foundation
import GRDB
import ProfferCrypto
import ProfferWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Whether a command may change the vault. Read-only opens work on a vault whose file or folder is read-only.
public enum VaultAccessMode: Sendable {
    case readWrite, readOnly
}

/// A person's encrypted vault: one SQLite file in which every record is sealed with XChaCha20-Poly1305 under keys
/// that only the passphrase unlocks, and bound by a sealed commitment so no row can be deleted, added, swapped or
/// rolled back unnoticed.
///
/// ```swift
/// let vault = try Vault.create(at: path, passphrase: passphrase, kdf: .moderate)
/// try vault.setPreference(key: "email", value: "ada@example.org", persona: "default", share: .ask)
/// ```
public final class Vault: Sendable {
    /// The vault file's path.
    public let path: String
    /// Whether this handle refuses writes.
    public let isReadOnly: Bool
    let database: DatabaseQueue
    let vaultID: [UInt8]
    let anchor: RollbackAnchor

    private struct Unlocked: Sendable {
        var keys: VaultKeys
        var kdf: Argon2Parameters
    }

    private struct Findings: Sendable {
        /// What the check on open found wrong with the file as a whole.
        var integrity: [String] = []
        /// Records that did not open while this handle read them.
        var damaged: Set<DamagedRecord> = []
        var warnings: [String] = []
        /// Whether this handle committed a write, so its end copies the WAL into the file (``settle()``).
        var wrote = false
    }

    private let unlocked: Mutex<Unlocked>
    private let findings: Mutex<Findings>

    var keys: VaultKeys { unlocked.withLock { $0.keys } }
    /// The Argon2id costs protecting the master key.
    public var kdf: Argon2Parameters { unlocked.withLock { $0.kdf } }
    /// Whether the vault uses the test-only KDF costs, which protect it poorly.
    public var usesWeakKDF: Bool { kdf == .weakForTests }

    /// What the check on open found wrong with the vault as a whole (rows deleted, added or replaced, the audit
    /// chain cut short, an unreadable header). While this is not empty, every write is refused.
    public var integrityProblems: [String] { findings.withLock { $0.integrity } }
    /// Records that failed to open while this handle read them; listings leave them out and name them here.
    public var damagedRecords: [DamagedRecord] {
        findings.withLock { $0.damaged.sorted { ($0.kind, $0.id) < ($1.kind, $1.id) } }
    }
    /// Things the person should know that did not stop the command (an anchor that could not be written).
    public var warnings: [String] { findings.withLock { $0.warnings } }

    private init(
        path: String, isReadOnly: Bool, database: DatabaseQueue, vaultID: [UInt8], keys: VaultKeys,
        kdf: Argon2Parameters, anchorFolder: String
    ) {
        self.path = path
        self.isReadOnly = isReadOnly
        self.database = database
        self.vaultID = vaultID
        self.anchor = RollbackAnchor(folder: anchorFolder, vaultID: vaultID)
        unlocked = Mutex(Unlocked(keys: keys, kdf: kdf))
        findings = Mutex(Findings())
    }

    func noteDamage(_ damaged: [DamagedRecord]) {
        guard !damaged.isEmpty else { return }
        findings.withLock { $0.damaged.formUnion(damaged) }
    }

    private func noteWarning(_ warning: String) { findings.withLock { $0.warnings.append(warning) } }

    // MARK: - Creating and opening

    /// Creates a vault at `path` (its folder is created 0700, the file 0600), protected by `passphrase`, with a
    /// `default` persona.
    ///
    /// - Parameter identitySeed: The seed of the vendor-facing keys; a fresh random one unless an import brings one.
    /// - Throws: ``VaultError`` when a vault already exists there or the folder cannot be made private.
    public static func create(
        at path: String, passphrase: SecretBytes, kdf: Argon2Parameters, busyTimeout: Double = 5,
        anchorFolder: String? = nil, identitySeed: SymmetricKey? = nil
    ) throws -> Vault {
        try create(
            at: path, passphrase: passphrase, kdf: kdf, busyTimeout: busyTimeout, anchorFolder: anchorFolder,
            identitySeed: identitySeed, populate: { _ in })
    }

    /// ``create(at:passphrase:kdf:busyTimeout:anchorFolder:identitySeed:)``, with records added in the same
    /// transaction as the default persona, before the file takes its name.
    static func create(
        at path: String, passphrase: SecretBytes, kdf: Argon2Parameters, busyTimeout: Double = 5,
        anchorFolder: String?, identitySeed: SymmetricKey?, populate: (VaultTransaction) throws -> Void
    ) throws -> Vault {
        let url = URL(fileURLWithPath: path)
        guard !FileManager.default.fileExists(atPath: path) else { throw VaultError(.alreadyExists(path: path)) }
        try refusePlacement(path, anchorFolder: anchorFolder)
        try makePrivateFolder(url.deletingLastPathComponent().path)
        let previousMask = umask(0o077)
        defer { umask(previousMask) }

        // Built in a temporary file and renamed into place, so an interrupted init leaves no half-made vault.
        let draftPath = path + ".creating-" + Hex.encode(SecureRandom.bytes(4))
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: draftPath + suffix) }
        }
        let draft = try openDatabase(path: draftPath, busyTimeout: busyTimeout)
        let vaultID = SecureRandom.bytes(16)
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let master = try SymmetricKey.random()
        let seed = try identitySeed ?? SymmetricKey.random()
        let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: kdf)
        let keys = VaultKeys(master: master, identitySeed: seed)
        let header = Header(
            vaultID: vaultID, salt: salt, kdf: kdf,
            wrappedMasterKey: wrap(master, kek: kek, vaultID: vaultID, kdf: kdf),
            sealedIdentitySeed: sealIdentitySeed(seed, keys: keys, vaultID: vaultID),
            sealedState: sealState(VaultState(), keys: keys, vaultID: vaultID))
        try mapStorageErrors(path: path) {
            try draft.write { db in
                try VaultSchema.createFormatTwo(db)
                try header.insert(db)
            }
        }
        let building = Vault(
            path: draftPath, isReadOnly: false, database: draft, vaultID: vaultID, keys: keys, kdf: kdf,
            anchorFolder: anchorFolder ?? RollbackAnchor.defaultFolder)
        // Filled in the draft, before it takes the vault's name: an import that fails or is killed leaves no vault.
        try building.write { transaction in
            try building.insertPersona(named: Persona.defaultName, in: transaction)
            try populate(transaction)
        }
        try mapStorageErrors(path: path) {
            try draft.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try draft.close()
        }
        guard rename(draftPath, path) == 0 else {
            throw VaultError(.storage("could not create \(path): \(String(cString: strerror(errno)))"))
        }
        try chmod0600(path)
        try? RollbackAnchor.recordVaultID(vaultID, at: path, folder: anchorFolder ?? RollbackAnchor.defaultFolder)
        let database = try openDatabase(path: path, busyTimeout: busyTimeout)
        return Vault(
            path: path, isReadOnly: false, database: database, vaultID: vaultID, keys: keys, kdf: kdf,
            anchorFolder: anchorFolder ?? RollbackAnchor.defaultFolder)
    }

    /// Opens and unlocks the vault at `path`, checks its commitment and its rollback anchor, and migrates a
    /// format-1 vault to format 2.
    ///
    /// Nothing is written before the passphrase is proven right, so a wrong one leaves the file untouched. Damage
    /// found on open does not stop reading: it is listed in ``integrityProblems``, and writes are refused.
    ///
    /// - Parameters:
    ///   - access: `.readOnly` never writes the vault, and works on a read-only file or folder.
    ///   - acceptOlderState: Accept a vault older than its rollback anchor, and anchor it where it is now.
    /// - Throws: ``VaultError`` for a missing vault, unsafe permissions, a wrong passphrase, a vault older than its
    ///   anchor, or one held too long by another process.
    public static func open(
        at path: String, passphrase: SecretBytes, access: VaultAccessMode = .readWrite, busyTimeout: Double = 5,
        anchorFolder: String? = nil, acceptOlderState: Bool = false
    ) throws -> Vault {
        try checkIsVaultFile(path)
        try checkPermissions(path)
        // Proffer's vault uses a WAL and never leaves a rollback journal; one found there was planted or left by
        // another tool, and SQLite would need to write the file to deal with it.
        if FileManager.default.fileExists(atPath: path + "-journal") {
            throw VaultError(
                .refused(
                    "a rollback journal \(path)-journal lies next to the vault; proffer never writes one, so another "
                        + "program left it or it was planted. Move it out of the folder and try again"))
        }
        // Read-only until the passphrase is proven: closing a read-write connection would checkpoint the WAL into
        // the file, and a process with the wrong passphrase must not change a single byte.
        let probe = try openReadOnly(path: path, busyTimeout: busyTimeout)
        let row = try mapStorageErrors(path: path) {
            try probe.read { db -> Row? in
                guard try db.tableExists("vault") else { return nil }
                return try Row.fetchOne(db, sql: "SELECT * FROM vault WHERE id = 1")
            }
        }
        guard let row else { throw VaultError(.notAVault(path: path, why: "it has no vault header")) }
        let version = row["format_version"] as Int? ?? 0
        if version == 1 {
            try mapStorageErrors(path: path) { try probe.close() }
            try migrateFormatOne(at: path, passphrase: passphrase, busyTimeout: busyTimeout)
            return try open(
                at: path, passphrase: passphrase, access: access, busyTimeout: busyTimeout,
                anchorFolder: anchorFolder, acceptOlderState: acceptOlderState)
        }
        guard version == VaultSchema.formatVersion else { throw VaultError(.unsupportedFormat(version: version)) }
        guard let header = Header(row: row) else {
            throw VaultError(.notAVault(path: path, why: "its header is incomplete"))
        }
        guard header.kdf.operations <= 64, header.kdf.memoryBytes <= Argon2Parameters.sensitive.memoryBytes else {
            throw VaultError(
                .notAVault(path: path, why: "its key-derivation costs are implausible: the header was altered"))
        }
        let anchors = anchorFolder ?? RollbackAnchor.defaultFolder
        if !acceptOlderState, let known = RollbackAnchor.vaultID(at: path, folder: anchors), known != header.vaultID {
            throw VaultError(.differentVault(path: path))
        }
        // Taken before the state is read, so a write committing in between can only make the vault look newer.
        let anchorSnapshot = RollbackAnchor(folder: anchors, vaultID: header.vaultID).snapshot()
        let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: header.salt, parameters: header.kdf)
        let master = try unwrap(header.wrappedMasterKey, kek: kek, vaultID: header.vaultID, kdf: header.kdf)
        var problems: [String] = []
        var keys = VaultKeys(master: master, identitySeed: nil)
        if let seed = try? openIdentitySeed(header.sealedIdentitySeed, keys: keys, vaultID: header.vaultID) {
            keys = VaultKeys(master: master, identitySeed: seed)
        } else {
            problems.append("the identity seed in the vault's header does not authenticate")
        }

        let database: DatabaseQueue
        if access == .readOnly {
            database = probe
        } else {
            try mapStorageErrors(path: path) { try probe.close() }
            database = try openDatabase(path: path, busyTimeout: busyTimeout)
        }
        let vault = Vault(
            path: path, isReadOnly: access == .readOnly, database: database, vaultID: header.vaultID, keys: keys,
            kdf: header.kdf, anchorFolder: anchorFolder ?? RollbackAnchor.defaultFolder)
        // The state, the rows and the audit head in one read transaction, so a write committing meanwhile cannot
        // look like damage.
        let (state, found) = try vault.read { reader -> (VaultState?, [String]) in
            guard let state = try vault.currentState(reader.db) else {
                return (nil, ["the vault's sealed state (its commitment and audit head) is missing or altered"])
            }
            return (
                state,
                try vault.commitmentProblems(state: state, reader: reader)
                    + vault.auditProblems(state: state, reader: reader)
            )
        }
        problems += found
        if let state {
            try vault.checkAnchor(
                anchorSnapshot, writeCounter: state.writeCounter, acceptOlderState: acceptOlderState)
        }
        if RollbackAnchor.vaultID(at: path, folder: anchors) != header.vaultID {
            try? RollbackAnchor.recordVaultID(header.vaultID, at: path, folder: anchors)
        }
        vault.findings.withLock { $0.integrity = problems }
        if let state { try vault.migrateIfDue(from: state.revision) }
        return vault
    }

    /// Compares the vault's write counter with its anchor, and moves the anchor forward.
    private func checkAnchor(_ snapshot: [UInt8]??, writeCounter: UInt64, acceptOlderState: Bool) throws {
        guard let key = keys.anchor else { return }
        guard !acceptOlderState else { return updateAnchor(writeCounter) }
        switch anchor.read(snapshot, key: key) {
        case .counter(let anchored) where writeCounter < anchored:
            throw VaultError(.rolledBack(vaultCounter: writeCounter, anchorCounter: anchored, anchor: anchor.path))
        case .invalid:
            throw VaultError(.anchorMismatch(anchor: anchor.path))
        case .counter(let anchored) where writeCounter <= anchored:
            return
        case .none where writeCounter > 1:
            noteWarning(
                "this machine had no rollback anchor for this vault (at write \(writeCounter)); it is anchored now. "
                    + "An older copy put in its place before now could not be noticed")
            updateAnchor(writeCounter)
        default:
            updateAnchor(writeCounter)
        }
    }

    private func updateAnchor(_ writeCounter: UInt64) {
        guard let key = keys.anchor else { return }
        do {
            try anchor.write(writeCounter, key: key)
        } catch {
            noteWarning("\(error); an older copy of this vault put in its place would not be noticed")
        }
    }

    /// Re-keys the vault under a new passphrase: a new master key, every record re-sealed and every blind index and
    /// audit MAC recomputed, in one transaction, then the file is vacuumed. A crash at any moment leaves either the
    /// old or the new state, whole; the old header then opens nothing written since.
    ///
    /// - Throws: ``VaultError`` when `current` is not the vault's passphrase, or the vault is damaged.
    public func changePassphrase(
        current: SecretBytes, to newPassphrase: SecretBytes, kdf newKDF: Argon2Parameters? = nil
    ) throws {
        try requireWritable()
        let oldKeys = keys
        guard let seed = oldKeys.identity else { throw VaultError(.damaged(integrityProblems)) }
        let parameters = newKDF ?? kdf
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let newKEK = try PasswordHashing.deriveKey(passphrase: newPassphrase, salt: salt, parameters: parameters)
        let master = try SymmetricKey.random()
        let newKeys = VaultKeys(master: master, identitySeed: seed)
        let newState = try Vault.mapStorageErrors(path: path) {
            try oldKeys.whileReadable {
                try newKeys.whileReadable {
                    try database.writeWithoutTransaction { db -> VaultState in
                        var state = VaultState()
                        try db.inTransaction(.immediate) {
                            let header = try Vault.currentHeader(db, path: path)
                            let currentKEK = try PasswordHashing.deriveKey(
                                passphrase: current, salt: header.salt, parameters: header.kdf)
                            _ = try Vault.unwrap(
                                header.wrappedMasterKey, kek: currentKEK, vaultID: vaultID, kdf: header.kdf)
                            let oldSealer = RecordSealer(keys: oldKeys, vaultID: vaultID)
                            guard let oldState = Vault.openState(header.sealedState, keys: oldKeys, vaultID: vaultID)
                            else { throw VaultError(.damaged(["the vault's sealed state is missing or altered"])) }
                            state = try Vault.reseal(
                                db, from: oldSealer, to: RecordSealer(keys: newKeys, vaultID: vaultID),
                                oldState: oldState)
                            let newHeader = Header(
                                vaultID: vaultID, salt: salt, kdf: parameters,
                                wrappedMasterKey: Vault.wrap(master, kek: newKEK, vaultID: vaultID, kdf: parameters),
                                sealedIdentitySeed: Vault.sealIdentitySeed(seed, keys: newKeys, vaultID: vaultID),
                                sealedState: Vault.sealState(state, keys: newKeys, vaultID: vaultID))
                            try newHeader.update(db)
                            return .commit
                        }
                        return state
                    }
                }
            }
        }
        unlocked.withLock { $0 = Unlocked(keys: newKeys, kdf: parameters) }
        try vacuum()
        updateAnchor(newState.writeCounter)
    }

    /// Re-seals every record and audit entry from one set of keys to another; returns the new state.
    private static func reseal(_ db: Database, from old: RecordSealer, to new: RecordSealer, oldState: VaultState)
        throws -> VaultState
    {
        var state = VaultState()
        state.writeCounter = oldState.writeCounter + 1
        for type in sealedRecordTypes {
            try resealTable(type, db, from: old, to: new, state: &state, oldState: oldState)
        }
        let entries = try AuditChain.entries(db, sealer: old, verifyingAgainst: oldState)
        var previous = Vault.genesisMAC
        for (number, plain) in entries {
            var entryPlain = plain
            defer { wipe(&entryPlain) }
            let sealed = new.seal(plain: entryPlain, table: .audit, id: Int64(number), version: 1, lookups: [])
            previous = AuditChain.mac(previous: previous, number: number, sealed: sealed, key: new.keys.audit)
            try db.execute(
                sql: "UPDATE audit SET sealed = ?, mac = ? WHERE seq = ?",
                arguments: [Data(sealed), Data(previous), number])
        }
        state.auditCount = Int64(entries.count)
        state.auditLastMAC = previous
        return state
    }

    private static func resealTable<Record: SealedRecord>(
        _ type: Record.Type, _ db: Database, from old: RecordSealer, to new: RecordSealer, state: inout VaultState,
        oldState: VaultState
    ) throws {
        let table = Record.table
        let (records, damaged) = try RecordReader(db: db, sealer: old).all(Record.self)
        guard damaged.isEmpty else { throw VaultError(.damaged(damaged.map(\.description))) }
        for stored in records {
            let lookups = stored.record.lookupValues(new.keys)
            let sealed = try new.seal(stored.record, id: stored.id, version: stored.version, lookups: lookups)
            let assignments = (table.lookupColumns + ["sealed"]).map { "\($0) = ?" }.joined(separator: ", ")
            var arguments: [(any DatabaseValueConvertible)?] = lookups.map { Data($0) as any DatabaseValueConvertible }
            arguments += [Data(sealed), stored.id]
            try db.execute(
                sql: "UPDATE \(table.name) SET \(assignments) WHERE id = ?", arguments: StatementArguments(arguments))
            let element = sealed.withUnsafeBytes {
                new.element(table, id: stored.id, version: stored.version, lookups: lookups, sealed: $0)
            }
            state.tables[table.position].count += 1
            state.tables[table.position].commitment.add(element)
        }
        state.tables[table.position].nextID = oldState.tables[table.position].nextID
    }

    /// Rewrites the file without free pages, so nothing of deleted or re-sealed records stays on disk.
    public func vacuum() throws {
        try requireWritable()
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
        try Vault.mapStorageErrors(path: path) {
            try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        }
    }

    // MARK: - Header

    /// The header row: everything needed to unlock the vault, and its sealed state.
    struct Header {
        var vaultID: [UInt8]
        var salt: [UInt8]
        var kdf: Argon2Parameters
        var wrappedMasterKey: [UInt8]
        var sealedIdentitySeed: [UInt8]
        var sealedState: [UInt8]

        init(
            vaultID: [UInt8], salt: [UInt8], kdf: Argon2Parameters, wrappedMasterKey: [UInt8],
            sealedIdentitySeed: [UInt8], sealedState: [UInt8]
        ) {
            (self.vaultID, self.salt, self.kdf) = (vaultID, salt, kdf)
            (self.wrappedMasterKey, self.sealedIdentitySeed, self.sealedState) = (
                wrappedMasterKey, sealedIdentitySeed, sealedState
            )
        }

        init?(row: Row) {
            guard let vaultID = row["vault_id"] as Data?, vaultID.count == 16, let salt = row["kdf_salt"] as Data?,
                let operations = row["kdf_operations"] as Int64?, let memory = row["kdf_memory"] as Int64?,
                operations > 0, memory > 0, let wrapped = row["wrapped_master_key"] as Data?
            else { return nil }
            self.vaultID = [UInt8](vaultID)
            self.salt = [UInt8](salt)
            kdf = Argon2Parameters(operations: UInt64(operations), memoryBytes: UInt64(memory))
            wrappedMasterKey = [UInt8](wrapped)
            sealedIdentitySeed = (row["sealed_identity_seed"] as Data?).map { [UInt8]($0) } ?? []
            sealedState = (row["sealed_state"] as Data?).map { [UInt8]($0) } ?? []
        }

        func insert(_ db: Database) throws {
            try db.execute(
                sql: """
                    INSERT INTO vault (id, format_version, vault_id, kdf_salt, kdf_operations, kdf_memory,
                        wrapped_master_key, sealed_identity_seed, sealed_state)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    VaultSchema.formatVersion, Data(vaultID), Data(salt), Int64(kdf.operations),
                    Int64(kdf.memoryBytes), Data(wrappedMasterKey), Data(sealedIdentitySeed), Data(sealedState),
                ])
        }

        func update(_ db: Database) throws {
            try db.execute(
                sql: """
                    UPDATE vault SET kdf_salt = ?, kdf_operations = ?, kdf_memory = ?, wrapped_master_key = ?,
                        sealed_identity_seed = ?, sealed_state = ? WHERE id = 1
                    """,
                arguments: [
                    Data(salt), Int64(kdf.operations), Int64(kdf.memoryBytes), Data(wrappedMasterKey),
                    Data(sealedIdentitySeed), Data(sealedState),
                ])
        }
    }

    static func currentHeader(_ db: Database, path: String) throws -> Header {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM vault WHERE id = 1"), let header = Header(row: row)
        else { throw VaultError(.damaged(["the vault's header row is missing or incomplete"])) }
        return header
    }

    /// Binds the wrapped master key to this vault, its format and its KDF costs, so none can be swapped unnoticed.
    static func masterKeyBinding(vaultID: [UInt8], kdf: Argon2Parameters, format: Int = VaultSchema.formatVersion)
        -> [UInt8]
    {
        var binding = Array("proffer-vault-master-key".utf8) + vaultID
        for number in [UInt64(format), kdf.operations, kdf.memoryBytes] {
            binding.append(contentsOf: withUnsafeBytes(of: number.bigEndian, Array.init))
        }
        return binding
    }

    static func wrap(_ master: SymmetricKey, kek: SymmetricKey, vaultID: [UInt8], kdf: Argon2Parameters) -> [UInt8] {
        master.secret.withUnsafeBytes {
            AEAD.seal($0, key: kek, associatedData: masterKeyBinding(vaultID: vaultID, kdf: kdf))
        }
    }

    static func unwrap(
        _ wrapped: [UInt8], kek: SymmetricKey, vaultID: [UInt8], kdf: Argon2Parameters,
        format: Int = VaultSchema.formatVersion
    ) throws -> SymmetricKey {
        do {
            return try SymmetricKey(
                try AEAD.openSecret(
                    wrapped, key: kek, associatedData: masterKeyBinding(vaultID: vaultID, kdf: kdf, format: format)))
        } catch {
            throw VaultError(.wrongPassphrase)
        }
    }

    private static func binding(_ label: String, vaultID: [UInt8]) -> [UInt8] {
        Array(label.utf8) + withUnsafeBytes(of: UInt32(VaultSchema.formatVersion).bigEndian, Array.init) + vaultID
    }

    static func sealIdentitySeed(_ seed: SymmetricKey, keys: VaultKeys, vaultID: [UInt8]) -> [UInt8] {
        seed.secret.withUnsafeBytes {
            AEAD.seal($0, key: keys.records, associatedData: binding("proffer-identity-seed", vaultID: vaultID))
        }
    }

    static func openIdentitySeed(_ sealed: [UInt8], keys: VaultKeys, vaultID: [UInt8]) throws -> SymmetricKey {
        try SymmetricKey(
            try AEAD.openSecret(
                sealed, key: keys.records, associatedData: binding("proffer-identity-seed", vaultID: vaultID)))
    }

    static func sealState(_ state: VaultState, keys: VaultKeys, vaultID: [UInt8]) -> [UInt8] {
        AEAD.seal(state.encoded, key: keys.records, associatedData: binding("proffer-vault-state", vaultID: vaultID))
    }

    static func openState(_ sealed: [UInt8], keys: VaultKeys, vaultID: [UInt8]) -> VaultState? {
        guard
            let plain = try? AEAD.open(
                sealed, key: keys.records, associatedData: binding("proffer-vault-state", vaultID: vaultID))
        else { return nil }
        return VaultState(encoded: plain)
    }

    // MARK: - Transactions

    var sealer: RecordSealer { RecordSealer(keys: keys, vaultID: vaultID) }

    private func requireWritable() throws {
        guard !isReadOnly else { throw VaultError(.readOnly(path: path)) }
        let problems = integrityProblems
        guard problems.isEmpty else { throw VaultError(.damaged(problems)) }
    }

    /// Runs `body` in one IMMEDIATE transaction: all of it is written, or none. The vault's sealed state (counters,
    /// commitment, audit head) is read at the start and rewritten at the end, in the same transaction; the rollback
    /// anchor moves forward once the transaction has committed.
    func write<T>(_ body: (VaultTransaction) throws -> T) throws -> T {
        try requireWritable()
        let sealer = self.sealer
        let (result, counter) = try Vault.mapStorageErrors(path: path) {
            try sealer.keys.whileReadable {
                try database.writeWithoutTransaction { db -> (T, UInt64?) in
                    var outcome: (T, UInt64?)?
                    try db.inTransaction(.immediate) {
                        let header = try Vault.currentHeader(db, path: path)
                        guard let state = Vault.openState(header.sealedState, keys: sealer.keys, vaultID: vaultID)
                        else { throw VaultError(.damaged(["the vault's sealed state is missing or altered"])) }
                        let transaction = VaultTransaction(db: db, sealer: sealer, state: state)
                        let value = try body(transaction)
                        guard transaction.changed else {
                            outcome = (value, nil)
                            return .commit
                        }
                        transaction.state.writeCounter += 1
                        try db.execute(
                            sql: "UPDATE vault SET sealed_state = ? WHERE id = 1",
                            arguments: [
                                Data(Vault.sealState(transaction.state, keys: sealer.keys, vaultID: vaultID))
                            ])
                        outcome = (value, transaction.state.writeCounter)
                        return .commit
                    }
                    guard let outcome else { throw VaultError(.storage("the write did not complete")) }
                    return outcome
                }
            }
        }
        if let counter {
            findings.withLock { $0.wrote = true }
            updateAnchor(counter)
        }
        return result
    }

    /// Copies what this handle wrote from the WAL into the vault file, so that the file alone holds the whole vault
    /// (a `cp vault.db` is a copy of it): run when a command that wrote ends. A passive checkpoint: it waits for no
    /// reader, and one holding an older snapshot (a backup running) leaves the rest to the next command's end. A
    /// backup is still best made with `proffer export`, which needs no other file and is encrypted whole.
    public func settle() {
        guard !isReadOnly, findings.withLock({ $0.wrote }) else { return }
        try? database.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
    }

    func read<T>(_ body: (RecordReader) throws -> T) throws -> T {
        let sealer = self.sealer
        return try Vault.mapStorageErrors(path: path) {
            try sealer.keys.whileReadable { try database.read { db in try body(RecordReader(db: db, sealer: sealer)) } }
        }
    }

    // MARK: - Storage

    static func openDatabase(path: String, busyTimeout: Double, readOnly: Bool = false) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.journalMode = readOnly ? .default : .wal
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            // Every acknowledged write survives a crash or power cut; deleted data is overwritten, not left behind.
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA cache_size = -65536")
        }
        return try mapStorageErrors(path: path) { try DatabaseQueue(path: path, configuration: configuration) }
    }

    /// A read-only connection. In a folder that cannot be written, SQLite cannot make the WAL index it needs, so
    /// the file is then opened as immutable: nobody can be writing it there anyway.
    private static func openReadOnly(path: String, busyTimeout: Double) throws -> DatabaseQueue {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(folder, W_OK) != 0, !FileManager.default.fileExists(atPath: path + "-shm") else {
            return try openDatabase(path: path, busyTimeout: busyTimeout, readOnly: true)
        }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let escaped = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return try openDatabase(path: "file:\(escaped)?mode=ro&immutable=1", busyTimeout: busyTimeout, readOnly: true)
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
            case .SQLITE_READONLY:
                throw VaultError(
                    .storage(
                        "\(path) cannot be written (the file or its folder is read-only): nothing was changed; "
                            + "commands that only read still work"))
            case .SQLITE_IOERR, .SQLITE_CANTOPEN:
                throw VaultError(
                    .storage(
                        "could not write \(path) (\(error.message ?? "I/O error")): the last change was not saved, and the vault is as it was before it"
                    ))
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                throw VaultError(
                    .notAVault(path: path, why: "SQLite cannot read it: it is damaged or is another kind of file"))
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

    /// A clear message for a path that is missing, a folder, empty, or not an SQLite file.
    private static func checkIsVaultFile(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw VaultError(.notFound(path: path)) }
        if status.st_mode & S_IFMT == S_IFDIR {
            throw VaultError(
                .notAVault(path: path, why: "it is a folder; give the vault file, such as \(path)/vault.db"))
        }
        guard status.st_size > 0 else {
            throw VaultError(.notAVault(path: path, why: "the file is empty; `proffer init` makes a vault"))
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let magic = handle.readData(ofLength: 16)
        guard magic == Data("SQLite format 3\0".utf8) else {
            throw VaultError(.notAVault(path: path, why: "it is not an SQLite file"))
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
