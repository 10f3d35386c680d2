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

    var path: String { folder + "/" + Hex.encode(vaultID) + ".anchor" }

    enum Reading {
        /// No anchor: a vault new to this machine.
        case none
        case counter(UInt64)
        /// The file exists but is not an anchor, or its MAC does not match: altered, or written for another seed.
        case invalid
    }

    /// The anchor file's bytes as they are now; `nil` when there is none. Read before the vault's header, so a write
    /// that commits in between (and then moves the anchor) can only make the vault look newer, never older.
    ///
    /// Anything there that is not a regular file (a folder, a link to a device) reads as an invalid anchor.
    func snapshot() -> [UInt8]?? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return .some(nil) }
        guard status.st_mode & S_IFMT == S_IFREG, let data = FileManager.default.contents(atPath: path) else {
            return .none
        }
        return .some([UInt8](data))
    }

    /// Checks a ``snapshot()`` with the anchor key.
    func read(_ snapshot: [UInt8]??, key: SymmetricKey) -> Reading {
        guard case .some(let contents) = snapshot else { return .invalid }
        guard let bytes = contents else { return .none }
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
        // A name of its own, so two processes anchoring at once never write into one draft.
        let draft = path + ".new-" + Hex.encode(SecureRandom.bytes(6))
        let descriptor = open(draft, O_WRONLY | O_CREAT | O_EXCL, 0o600)
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

    // MARK: - Which vault lives at a path

    /// `<folder>/paths/<hash of the vault's path>`: the id of the vault last used at that path, so a whole other
    /// vault copied or linked into its place (with the same passphrase) is noticed. The path is taken as given,
    /// tidied (`./`, `//`) but not through symbolic links: a link swapped in at the path must not move the check to
    /// wherever the link points.
    static func pathRecord(folder: String, vaultPath: String) -> String {
        let resolved = URL(fileURLWithPath: vaultPath).standardized.path
        return folder + "/paths/" + Hex.encode(Array(KeyedHash.digest(Array(resolved.utf8)).prefix(16)))
    }

    /// The id of the vault last used at `vaultPath`, if any.
    static func vaultID(at vaultPath: String, folder: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: pathRecord(folder: folder, vaultPath: vaultPath)),
            let text = String(data: data, encoding: .utf8)
        else { return nil }
        let hex = Array(text.utf8)
        guard hex.count == 32 else { return [] }
        return stride(from: 0, to: 32, by: 2).map { index in
            UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) ?? 0
        }
    }

    /// Records that the vault `vaultID` lives at `vaultPath`.
    static func recordVaultID(_ vaultID: [UInt8], at vaultPath: String, folder: String) throws {
        let record = pathRecord(folder: folder, vaultPath: vaultPath)
        do {
            try FileManager.default.createDirectory(
                atPath: folder + "/paths", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let draft = record + ".new-" + Hex.encode(SecureRandom.bytes(6))
            try Data(Hex.encode(vaultID).utf8).write(to: URL(fileURLWithPath: draft))
            guard rename(draft, record) == 0 else { throw VaultError(.storage("rename failed")) }
        } catch {
            throw VaultError(.storage("could not record which vault lives at \(vaultPath) in \(folder)/paths"))
        }
    }
}
