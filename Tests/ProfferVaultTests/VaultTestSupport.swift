import Foundation
import GRDB
import ProfferCrypto
import ProfferVault

/// A vault in its own temporary folder, removed afterwards.
final class TemporaryVault {
    let folder: URL
    let path: String
    let passphrase: SecretBytes
    let vault: Vault

    init(passphrase text: String = "correct horse battery") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-vault-\(UUID().uuidString)")
        path = folder.appendingPathComponent("vault.db").path
        passphrase = try secret(text)
        vault = try Vault.create(
            at: path, passphrase: passphrase, kdf: .weakForTests,
            anchorFolder: folder.appendingPathComponent("state").path)
    }

    /// Where this vault's rollback anchor lives: inside the temporary folder, never the user's own state folder.
    var anchorFolder: String { folder.appendingPathComponent("state").path }

    /// Opens the vault again, as a new process would.
    func reopen(
        passphrase other: SecretBytes? = nil, access: VaultAccessMode = .readWrite, acceptOlderState: Bool = false
    ) throws -> Vault {
        try Vault.open(
            at: path, passphrase: other ?? passphrase, access: access, anchorFolder: anchorFolder,
            acceptOlderState: acceptOlderState)
    }

    /// Copies the vault file (after a checkpoint, so it is whole) for a later rollback.
    func snapshot(_ name: String) throws -> URL {
        try rawDatabase().writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let copy = folder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(atPath: path, toPath: copy.path)
        return copy
    }

    /// Puts a snapshot back in place of the vault file, dropping the WAL, as an attacker copying an old file would.
    func restore(_ snapshot: URL) throws {
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: snapshot.path, toPath: path)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Raw access to the SQLite file, as an attacker with the file would have.
    func rawDatabase() throws -> DatabaseQueue { try DatabaseQueue(path: path) }

    /// Every byte the vault has on disk: the file and its WAL and shared-memory files.
    func bytesOnDisk() -> [UInt8] {
        ["", "-wal", "-shm"].flatMap { suffix in
            FileManager.default.contents(atPath: path + suffix).map { [UInt8]($0) } ?? []
        }
    }
}

func secret(_ text: String) throws -> SecretBytes {
    var bytes = Array(text.utf8)
    return try SecretBytes(wiping: &bytes)
}

extension [UInt8] {
    func contains(_ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard pattern.count <= count else { return false }
        return (0...(count - pattern.count)).contains { self[$0..<$0 + pattern.count].elementsEqual(pattern) }
    }
}
