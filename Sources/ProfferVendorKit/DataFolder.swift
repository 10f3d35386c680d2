import Foundation
import Synchronization

/// The vendor's `--data` folder: its keys and, on SQLite, `vendor.db`. Created private when missing; an existing
/// folder is checked, never changed.
enum DataFolder {
    /// Creates the folder (0700) when missing. An existing folder must be a folder this user owns that no one else
    /// can read or write: a shared folder such as /tmp is refused, not turned private under everyone else's feet.
    static func prepare(_ folder: String) throws {
        try checkAncestors(of: folder)
        var status = stat()
        if lstat(folder, &status) != 0 {
            guard errno == ENOENT else {
                throw VendorStoreError(
                    .unsafeFolder, "cannot use \(folder) as the data folder: \(String(cString: strerror(errno)))")
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VendorStoreError(
                    .unsafeFolder, "cannot create the data folder \(folder): check the path and its permissions")
            }
            return
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw VendorStoreError(
                .unsafeFolder, "\(folder) is not a folder: give --data a folder for the vendor's keys and records")
        }
        guard status.st_uid == getuid() else {
            throw VendorStoreError(
                .unsafeFolder,
                "\(folder) belongs to another user: give --data a folder of your own, e.g. a new one that "
                    + "proffer-vendor creates")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw VendorStoreError(
                .unsafeFolder,
                "\(folder) can be read or written by other users (mode \(String(status.st_mode & 0o7777, radix: 8))): "
                    + "the vendor's keys and the data people disclose must not be. Run `chmod 700 \(folder)`, or give "
                    + "--data a new folder")
        }
    }

    /// Refuses a folder inside one that others may write without the sticky bit: they could rename the data folder
    /// away and put their own in its place (as ssh refuses for its own files).
    static func checkAncestors(of folder: String) throws {
        let absolute =
            folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
        var parent = (absolute as NSString).deletingLastPathComponent
        while true {
            var status = stat()
            if lstat(parent, &status) == 0, status.st_mode & 0o022 != 0, status.st_mode & S_ISVTX == 0 {
                throw VendorStoreError(
                    .unsafeFolder,
                    "\(parent), which holds the data folder \(folder), can be written by other users: they could put "
                        + "their own folder in its place. Give --data a folder under one only you can write, or run "
                        + "`chmod go-w \(parent)`")
            }
            guard parent != "/", !parent.isEmpty else { return }
            parent = (parent as NSString).deletingLastPathComponent
        }
    }
}

/// A lock on a data folder's `lock` file, held for as long as this value lives.
///
/// A vendor on SQLite holds it exclusively: a second process on the same folder would keep separate records under the
/// same keys, and accept what the first had refused as a replay. Instances over PostgreSQL hold it shared: they may
/// share the folder with each other, never with one keeping its own records in it.
public final class FolderLock: Sendable {
    private let descriptor: Mutex<Int32?>

    public init(_ folder: String, shared: Bool = false) throws {
        let path = (folder as NSString).appendingPathComponent("lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw VendorStoreError(.unsafeFolder, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(descriptor)
            throw VendorStoreError(
                .locked,
                shared
                    ? "a proffer-vendor keeping its records in \(folder) (SQLite) is using these keys: stop it, or give "
                        + "the instances over PostgreSQL their own --data"
                    : "another proffer-vendor is already using \(folder): stop it first, or give this one its own --data"
            )
        }
        self.descriptor = Mutex(descriptor)
    }

    /// Lets go of the folder now, for a restart within this process.
    func release() {
        descriptor.withLock { descriptor in
            if let open = descriptor { close(open) }
            descriptor = nil
        }
    }

    deinit { release() }
}
