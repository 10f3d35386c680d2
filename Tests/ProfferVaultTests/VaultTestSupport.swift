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
        vault = try Vault.create(at: path, passphrase: passphrase, kdf: .weakForTests)
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
