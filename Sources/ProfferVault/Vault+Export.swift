import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

/// The export file: a header (magic, format, Argon2id salt and costs, secretstream header), then length-prefixed
/// secretstream chunks, one record each, the last one final. The header is the associated data of the first chunk,
/// so none of it can be changed. See `schema/README.md` ("Vault export").
enum ExportFormat {
    static let magic = Array("PROFFER-VAULT-EXPORT".utf8)
    static let version: UInt8 = 2
    /// Chunks larger than this are refused before any allocation.
    static let maximumChunkBytes = 1 << 20
    static let headerByteCount =
        magic.count + 1 + PasswordHashing.saltByteCount + 16 + SecretStreamWriter.headerByteCount

    /// A chunk's kind, written before its payload and a newline.
    enum Kind {
        static let identitySeed = "identity-seed"
        static let audit = "audit"
        static let salvage = "salvage"
        static let end = "end"
    }

    /// Format 1's one record per chunk, kept to import exports made before format 2.
    struct FormatOneRecord: Codable {
        var persona: Persona?
        var preference: Preference?
        var vendor: Vendor?
        var intent: StoredIntent?
        var audit: AuditEntry?
        var end: Int?
    }
}

/// What an export wrote, and for a salvage what it left out.
public struct ExportSummary: Sendable {
    public let records: Int
    public let auditEntries: Int
    /// Empty unless salvaging: each thing that did not authenticate and was left out.
    public let leftOut: [String]
}

/// Everything an export holds, read back and authenticated.
struct ExportContents {
    var identitySeed: SymmetricKey?
    /// Records in export order, each with its type's table.
    var records: [any SealedRecord] = []
    var audit: [AuditEntry] = []
    var salvageNote: String?
    var kdf: Argon2Parameters
    var format: UInt8
}

extension Vault {
    /// Writes everything in the vault to one encrypted file, protected by `passphrase` with a fresh Argon2id salt:
    /// every record type, the audit chain and the identity seed.
    ///
    /// - Parameters:
    ///   - salvage: Write what authenticates and leave out what does not, saying what, instead of refusing a
    ///     damaged vault.
    ///   - overwrite: Replace an existing file (never the vault itself).
    /// - Throws: ``VaultError`` when the vault is damaged (without `salvage`), the file exists (without
    ///   `overwrite`), or the file is the vault itself.
    @discardableResult
    public func export(
        to path: String, passphrase: SecretBytes, kdf exportKDF: Argon2Parameters? = nil, salvage: Bool = false,
        overwrite: Bool = false
    ) throws -> ExportSummary {
        try checkExportTarget(path, overwrite: overwrite)
        var leftOut = integrityProblems
        if case .broken(let entry, let reason) = try verifyAuditChain() {
            leftOut.append("the audit chain is broken at entry \(entry) (\(reason))")
        }
        var records: [any SealedRecord] = []
        for type in sealedRecordTypes { records += try listAll(type) }
        let audit = try auditEntries()
        leftOut += damagedRecords.map(\.description)
        if keys.identity == nil { leftOut.append("the identity seed (vendors will see new keys)") }
        guard leftOut.isEmpty || salvage else {
            throw VaultError(
                .refused(
                    "refusing to export a damaged vault: \(leftOut.joined(separator: "; ")). "
                        + "`proffer export --salvage FILE` writes what authenticates and names what it leaves out"))
        }

        let parameters = exportKDF ?? kdf
        let salt = SecureRandom.bytes(PasswordHashing.saltByteCount)
        let key = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var writer = SecretStreamWriter(key: key)
        var header = ExportFormat.magic + [ExportFormat.version] + salt
        header += withUnsafeBytes(of: parameters.operations.bigEndian, Array.init)
        header += withUnsafeBytes(of: parameters.memoryBytes.bigEndian, Array.init)
        header += writer.header
        var file = header
        var chunkCount = 0
        func push(_ kind: String, _ payload: UnsafeRawBufferPointer, final: Bool = false) {
            var plain: [UInt8] = []
            plain.reserveCapacity(kind.utf8.count + 1 + payload.count)
            plain += kind.utf8
            plain.append(0x0A)
            plain += payload
            defer { wipe(&plain) }
            let chunk = writer.push(plain, isFinal: final, associatedData: chunkCount == 0 ? header : [])
            file += withUnsafeBytes(of: UInt32(chunk.count).bigEndian, Array.init) + chunk
            chunkCount += 1
        }
        if let seed = keys.identity {
            seed.secret.withUnsafeBytes { push(ExportFormat.Kind.identitySeed, $0) }
        }
        for record in records {
            var json = try RecordSealer.encode(record)
            json.withUnsafeBytes { push(type(of: record).table.name, $0) }
            wipe(&json)
        }
        for numbered in audit {
            var json = try RecordSealer.encode(numbered.entry)
            json.withUnsafeBytes { push(ExportFormat.Kind.audit, $0) }
            wipe(&json)
        }
        if !leftOut.isEmpty {
            Array(leftOut.joined(separator: "; ").utf8).withUnsafeBytes { push(ExportFormat.Kind.salvage, $0) }
        }
        Array(String(chunkCount).utf8).withUnsafeBytes { push(ExportFormat.Kind.end, $0, final: true) }
        defer { wipe(&file) }
        try Vault.writeNewFile(path, bytes: file, overwrite: overwrite)
        return ExportSummary(records: records.count, auditEntries: audit.count, leftOut: leftOut)
    }

    /// Refuses to write an export onto the vault's own files, or over a file without `overwrite`.
    private func checkExportTarget(_ path: String, overwrite: Bool) throws {
        try refuseOwnFiles(path)
        var target = stat()
        guard stat(path, &target) == 0 else { return }
        guard target.st_mode & S_IFMT == S_IFREG else {
            throw VaultError(.refused("\(path) is not a regular file: an export is written only to a plain file"))
        }
        guard overwrite else {
            throw VaultError(.refused("\(path) already exists: choose another file, or pass --force to replace it"))
        }
    }

    /// Refuses to write `path` where it would clobber the vault's own files: proffer's state folder (the rollback
    /// anchors), the vault and its journal files, and, for a folder to write into (`isFolder`), the vault's own folder.
    ///
    /// Paths are compared where they really lead: SQLite keeps the journal files beside the file a symbolic link to
    /// the vault points at, so a vault opened through a link has its `-wal` in the link target's folder, and a target
    /// reached through a linked folder is the same file as its real path. Every command that writes a file (exports,
    /// reports, consent records) passes through here before anything is written.
    public func refuseOwnFiles(_ path: String, isFolder: Bool = false) throws {
        let folder = isFolder ? Vault.realPath(path) : Vault.realPath(Vault.folder(of: path))
        let stateFolder = Vault.realPath(anchor.folder)
        if folder == stateFolder || folder.hasPrefix(stateFolder + "/") {
            throw VaultError(
                .refused(
                    "refusing to write into proffer's state folder \(anchor.folder), which holds the vault's own "
                        + "files: choose another folder"))
        }
        // The vault as named, and as reached through every link: both places hold (or may hold) its files.
        let vaultNames = Set([Vault.realLocation(self.path), Vault.realPath(self.path)])
        if isFolder {
            guard !vaultNames.map(Vault.folder(of:)).contains(folder) else {
                throw VaultError(
                    .refused("refusing to write into \(path), which holds the vault's own files: choose another folder")
                )
            }
            return
        }
        let vaultFiles = vaultNames.flatMap { name in ["", "-wal", "-shm", "-journal"].map { name + $0 } }
        let target = Vault.realLocation(path)
        if vaultFiles.contains(target) || vaultFiles.contains(Vault.realPath(path)) {
            throw VaultError(
                .refused(
                    "refusing to write onto the vault itself or its journal files (\(path)): its folder holds the "
                        + "vault's own files; choose another file"))
        }
        var targetStat = stat()
        guard stat(path, &targetStat) == 0 else { return }
        for file in vaultFiles {
            var vaultFile = stat()
            if stat(file, &vaultFile) == 0, vaultFile.st_dev == targetStat.st_dev, vaultFile.st_ino == targetStat.st_ino
            {
                throw VaultError(.refused("refusing to write onto the vault itself (\(path)): choose another file"))
            }
        }
    }

    /// Refuses to make a vault where it would clobber or block another's files: inside proffer's state folder (by
    /// its real path, links followed), or under a name SQLite gives a vault's journal files (`-wal`, `-shm`,
    /// `-journal`), where it would stop the vault beside it from opening.
    static func refusePlacement(_ path: String, anchorFolder: String?) throws {
        let stateFolder = realPath(anchorFolder ?? RollbackAnchor.defaultFolder)
        let target = realLocation(path)
        guard target != stateFolder, !target.hasPrefix(stateFolder + "/") else {
            throw VaultError(.refused("refusing to put a vault inside proffer's state folder \(stateFolder)"))
        }
        let name = split(path).name
        if let suffix = ["-wal", "-shm", "-journal"].first(where: { name.hasSuffix($0) }) {
            throw VaultError(
                .refused(
                    "refusing to make a vault named \(name): SQLite names a vault's own files …\(suffix), so it would "
                        + "stand in for the journal of \(name.dropLast(suffix.count)); choose another name"))
        }
    }

    /// The folder part of a path and its last name, split as written: a `..` is left for the kernel to follow, after
    /// the links before it (tidying it away as text would step back from a link's name, not from its target).
    static func split(_ path: String) -> (folder: String, name: String) {
        var trimmed = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let slash = trimmed.lastIndex(of: "/")!
        let folder = String(trimmed[..<slash])
        return (folder.isEmpty ? "/" : folder, String(trimmed[trimmed.index(after: slash)...]))
    }

    /// The folder part of a path.
    static func folder(of path: String) -> String { split(path).folder }

    /// Where `path` leads once every symbolic link in it is followed (`realpath`), or, for a path that does not
    /// exist (yet), where a file written there lands (``realLocation(_:)``).
    static func realPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return realLocation(path)
    }

    /// Where a file written at `path` lands: its folder's real path and its own name. A file written through a rename
    /// replaces a link at `path` rather than what the link points at. A folder that does not exist gives the path
    /// tidied as text (nothing can be written there).
    static func realLocation(_ path: String) -> String {
        let (folder, name) = split(path)
        if name == "." || name == ".." {
            return realpath(path, nil).map { resolved in
                defer { free(resolved) }
                return String(cString: resolved)
            } ?? URL(fileURLWithPath: path).standardized.path
        }
        guard let resolved = realpath(folder, nil) else { return URL(fileURLWithPath: path).standardized.path }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return (base == "/" ? "" : base) + "/" + name
    }

    /// Writes a file 0600 through a temporary name and a rename, so a crash leaves the old file or the new one.
    package static func writeNewFile(_ path: String, bytes: [UInt8], overwrite: Bool) throws {
        let temporary = path + ".partial-" + Hex.encode(SecureRandom.bytes(4))
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "its folder does not exist: make it first" : String(cString: strerror(errno))
            throw VaultError(.storage("could not write \(path): \(reason)"))
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        var existing = stat()
        let taken = !overwrite && stat(path, &existing) == 0
        guard written == bytes.count, synced, !taken, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw VaultError(
                .storage("could not write \(path): check the folder exists, is writable and has space"))
        }
    }

    /// Rebuilds a vault at `vaultPath` from an export (format 2, or format 1), audit chain and identity seed
    /// included, under a new master key.
    ///
    /// The whole file is read and authenticated before anything is written: a truncated, reordered or altered file
    /// is refused and no vault is created.
    public static func importVault(
        from exportPath: String, to vaultPath: String, passphrase: SecretBytes, kdf: Argon2Parameters? = nil,
        anchorFolder: String? = nil
    ) throws -> Vault {
        guard let data = FileManager.default.contents(atPath: exportPath) else {
            throw VaultError(.invalidExport("cannot read \(exportPath)"))
        }
        guard !FileManager.default.fileExists(atPath: vaultPath) else {
            throw VaultError(.alreadyExists(path: vaultPath))
        }
        try Vault.refusePlacement(vaultPath, anchorFolder: anchorFolder)
        let contents = try readExport([UInt8](data), passphrase: passphrase)
        return try Vault.create(
            at: vaultPath, passphrase: passphrase, kdf: kdf ?? contents.kdf, anchorFolder: anchorFolder,
            identitySeed: contents.identitySeed
        ) { transaction in
            for record in contents.records {
                if let persona = record as? Persona, persona.name == Persona.defaultName {
                    // The new vault made its own default persona; it takes the exported one's record.
                    if var stored = try transaction.reader.one(Persona.named(persona.name)) {
                        stored.record = persona
                        try transaction.update(stored)
                    }
                    continue
                }
                try insert(record, into: transaction)
            }
            for entry in contents.audit { try transaction.appendAudit(entry) }
            // An export from an earlier version holds records as that version kept them.
            for step in VaultMigration.all { try step.apply(transaction) }
            if let note = contents.salvageNote {
                try transaction.appendAudit(
                    AuditEntry(
                        kind: .salvage, at: Date(), persona: Persona.defaultName, categories: [],
                        note: "rebuilt from a salvaged export that left out: \(note)"))
            }
        }
    }

    private static func insert<Record: SealedRecord>(_ record: Record, into transaction: VaultTransaction) throws {
        try transaction.insert(record, duplicateName: "\(Record.table.recordName) in the export")
    }

    static func readExport(_ bytes: [UInt8], passphrase: SecretBytes) throws -> ExportContents {
        guard bytes.count >= ExportFormat.headerByteCount,
            Array(bytes.prefix(ExportFormat.magic.count)) == ExportFormat.magic
        else { throw VaultError(.invalidExport("this is not a proffer vault export")) }
        let format = bytes[ExportFormat.magic.count]
        guard format == 1 || format == 2 else {
            throw VaultError(.invalidExport("export format \(format) is not known to this proffer: upgrade it"))
        }
        var offset = ExportFormat.magic.count + 1
        func take(_ count: Int) -> [UInt8] {
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        func bigEndian(_ slice: [UInt8]) -> UInt64 { slice.reduce(0) { $0 << 8 | UInt64($1) } }
        let salt = take(PasswordHashing.saltByteCount)
        let parameters = Argon2Parameters(operations: bigEndian(take(8)), memoryBytes: bigEndian(take(8)))
        guard parameters.memoryBytes <= Argon2Parameters.sensitive.memoryBytes, parameters.operations <= 64,
            parameters.operations > 0, parameters.memoryBytes > 0
        else { throw VaultError(.invalidExport("its key-derivation costs are implausible: the header was altered")) }
        let key = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var reader = try SecretStreamReader(key: key, header: take(SecretStreamWriter.headerByteCount))
        let header = Array(bytes[0..<offset])
        var contents = ExportContents(kdf: parameters, format: format)
        var chunks = 0
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw VaultError(.invalidExport("the file is truncated")) }
            let length = Int(bigEndian(take(4)))
            guard length <= ExportFormat.maximumChunkBytes, offset + length <= bytes.count else {
                throw VaultError(.invalidExport("the file is truncated or altered"))
            }
            var plain: [UInt8]
            do {
                plain = try reader.pull(take(length), associatedData: format == 2 && chunks == 0 ? header : [])
            } catch {
                if chunks == 0 { throw VaultError(.exportLocked) }
                throw VaultError(
                    .invalidExport("record \(chunks + 1) was altered, reordered or does not belong to this export"))
            }
            defer { wipe(&plain) }
            chunks += 1
            let finished =
                try format == 1
                ? readFormatOneChunk(plain, into: &contents, count: chunks - 1)
                : readChunk(plain, into: &contents, count: chunks - 1)
            if finished {
                guard reader.isFinished, offset == bytes.count else {
                    throw VaultError(.invalidExport("the file's records do not add up: it was altered"))
                }
                return contents
            }
        }
        throw VaultError(.invalidExport("the file is truncated: its final record is missing"))
    }

    /// Reads one format-2 chunk; returns whether it was the last.
    private static func readChunk(_ plain: [UInt8], into contents: inout ExportContents, count: Int) throws -> Bool {
        guard let newline = plain.firstIndex(of: 0x0A) else {
            throw VaultError(.invalidExport("record \(count + 1) has no kind"))
        }
        let kind = String(decoding: plain[..<newline], as: UTF8.self)
        let payload = Data(plain[(newline + 1)...])
        func bad() -> VaultError { VaultError(.invalidExport("record \(count + 1) (\(kind)) does not decode")) }
        switch kind {
        case ExportFormat.Kind.identitySeed:
            var seed = [UInt8](payload)
            guard seed.count == SymmetricKey.byteCount else { throw bad() }
            contents.identitySeed = try SymmetricKey(SecretBytes(wiping: &seed))
        case ExportFormat.Kind.audit:
            guard let entry = try? decoder.decode(AuditEntry.self, from: payload) else { throw bad() }
            contents.audit.append(entry)
        case ExportFormat.Kind.salvage:
            contents.salvageNote = String(decoding: payload, as: UTF8.self)
        case ExportFormat.Kind.end:
            guard Int(String(decoding: payload, as: UTF8.self)) == count else {
                throw VaultError(.invalidExport("the file's records do not add up: it was altered"))
            }
            return true
        default:
            guard let type = sealedRecordTypes.first(where: { $0.table.name == kind }) else {
                throw VaultError(.invalidExport("record \(count + 1) is of an unknown kind \"\(kind)\""))
            }
            guard let record = try? decoder.decode(type, from: payload) else { throw bad() }
            contents.records.append(record)
        }
        return false
    }

    /// Reads one format-1 chunk; returns whether it was the last. Format 1 kept no offers, deals or identity seed.
    private static func readFormatOneChunk(_ plain: [UInt8], into contents: inout ExportContents, count: Int) throws
        -> Bool
    {
        guard let record = try? decoder.decode(ExportFormat.FormatOneRecord.self, from: Data(plain)) else {
            throw VaultError(.invalidExport("record \(count + 1) does not decode"))
        }
        if let end = record.end {
            guard end == count else {
                throw VaultError(.invalidExport("the file's records do not add up: it was altered"))
            }
            return true
        }
        let parts: [(any SealedRecord)?] = [record.persona, record.preference, record.vendor, record.intent]
        contents.records += parts.compactMap { $0 }
        if let audit = record.audit { contents.audit.append(audit) }
        return false
    }
}
