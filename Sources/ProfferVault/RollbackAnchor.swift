import Foundation
import ProfferCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// A small file outside the vault's folder that remembers the vault's latest write counter, so a whole vault file
/// put back from an older copy is noticed: its own commitment is consistent, but its counter is behind.
///
/// One file per vault, `<folder>/<vault id>.anchor`: a magic, the counter, and a MAC under a key derived from the
/// identity seed (so it holds across passphrase changes). It cannot catch a rollback by someone who also deletes or
/// rolls back the anchor, nor one on a machine that never saw the newer state.
struct RollbackAnchor {
    static let magic = Array("PRFANCH1".utf8)
    static let byteCount = magic.count + 8 + 32

    let folder: String
    let vaultID: [UInt8]

    /// `$XDG_STATE_HOME/proffer`, else `~/.local/state/proffer`.
    static var defaultFolder: String {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/proffer" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/proffer"
    }

    var path: String { folder + "/" + Hex.hex(vaultID) + ".anchor" }

    enum Reading {
        /// No anchor: a vault new to this machine.
        case none
        case counter(UInt64)
        /// The file exists but its MAC does not match: altered, or written for another identity seed.
        case invalid
    }

    func read(key: SymmetricKey) -> Reading {
        guard let data = FileManager.default.contents(atPath: path) else { return .none }
        let bytes = [UInt8](data)
        guard bytes.count == RollbackAnchor.byteCount, Array(bytes.prefix(8)) == RollbackAnchor.magic else {
            return .invalid
        }
        let counter = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard constantTimeEquals(Array(bytes[16...]), mac(counter, key: key)) else { return .invalid }
        return .counter(counter)
    }

    /// Records `counter`, atomically (a new file renamed over the old one).
    ///
    /// - Throws: ``VaultError`` when the folder cannot be made or written.
    func write(_ counter: UInt64, key: SymmetricKey) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw VaultError(.storage("could not create the rollback anchor's folder \(folder)"))
        }
        let bytes = RollbackAnchor.magic + withUnsafeBytes(of: counter.bigEndian, Array.init) + mac(counter, key: key)
        let draft = path + ".new"
        let descriptor = open(draft, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw VaultError(
                .storage("could not write the rollback anchor \(path): \(String(cString: strerror(errno)))"))
        }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(draft, path) == 0 else {
            unlink(draft)
            throw VaultError(.storage("could not write the rollback anchor \(path)"))
        }
    }

    private func mac(_ counter: UInt64, key: SymmetricKey) -> [UInt8] {
        KeyedHash.hash(
            RollbackAnchor.magic + vaultID + withUnsafeBytes(of: counter.bigEndian, Array.init), key: key)
    }
}
