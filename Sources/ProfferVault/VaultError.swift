import ProfferCrypto
import ProfferWire

/// Why a vault operation failed: a ``code`` to act on and a message that says what to do. Never includes secrets or
/// personal data values.
public struct VaultError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }

        /// The passphrase does not unlock this vault.
        public static let wrongPassphrase = Code("wrong-passphrase")
        /// Another process holds the vault longer than the wait allows.
        public static let busy = Code("busy")
        /// No vault at the path.
        public static let notFound = Code("not-found")
        /// Stored data failed authentication or the vault's commitment: it was altered, moved, deleted or added.
        public static let damaged = Code("damaged")
        /// The vault file is older than the state this machine last saw.
        public static let rolledBack = Code("rolled-back")
        /// The input (a name, key, value or file) is not acceptable.
        public static let invalidInput = Code("invalid-input")
        /// Nothing in the vault has the name or id asked for.
        public static let noSuchRecord = Code("no-such-record")
        /// The vault or its folder cannot be written (or another file is in the way).
        public static let storage = Code("storage")
        /// Refused for safety: unsafe permissions, a vault opened read-only, a file that would be overwritten.
        public static let refused = Code("refused")
    }

    enum Reason: Sendable {
        case wrongPassphrase
        case notFound(path: String)
        case notAVault(path: String, why: String)
        case alreadyExists(path: String)
        case busy(path: String)
        case damaged([String])
        case rolledBack(vaultCounter: UInt64, anchorCounter: UInt64, anchor: String)
        case anchorMismatch(anchor: String)
        case differentVault(path: String)
        case unsafePermissions(path: String, mode: String)
        case unsupportedFormat(version: Int)
        case noSuchRecord(kind: String, name: String)
        case duplicate(kind: String, name: String)
        case invalidInput(String)
        case storage(String)
        case invalidExport(String)
        case exportLocked
        case readOnly(path: String)
        case refused(String)
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    public var code: Code {
        switch reason {
        case .wrongPassphrase, .exportLocked: .wrongPassphrase
        case .busy: .busy
        case .notFound: .notFound
        case .damaged, .anchorMismatch: .damaged
        case .rolledBack, .differentVault: .rolledBack
        case .invalidInput, .invalidExport, .duplicate, .notAVault: .invalidInput
        case .noSuchRecord: .noSuchRecord
        case .storage, .alreadyExists: .storage
        case .unsafePermissions, .unsupportedFormat, .readOnly, .refused: .refused
        }
    }

    /// The one "no such …" error: the kind of record (its ``RecordTable/recordName``), what was asked for, and the
    /// command that lists what there is.
    static func noSuch(_ kind: String, _ wanted: String, listedBy command: String? = nil) -> VaultError {
        VaultError(.noSuchRecord(kind: kind, name: wanted + (command.map { " (see `proffer \($0)`)" } ?? "")))
    }

    /// The command that accepts an older vault state on purpose.
    public static let acceptRollbackCommand = "proffer vault accept-rollback"

    public var description: String {
        switch reason {
        case .wrongPassphrase:
            "wrong passphrase: it does not unlock this vault, or the vault's header was altered (nothing was changed)"
        case .notFound(let path):
            "no vault at \(path): create one with `proffer init`, or point --vault / PROFFER_VAULT at yours"
        case .notAVault(let path, let why):
            "\(path) is not a proffer vault (\(why)): check --vault / PROFFER_VAULT"
        case .alreadyExists(let path):
            "a vault already exists at \(path): choose another path with --vault, or remove the old one first"
        case .busy(let path):
            "the vault at \(path) is in use by another proffer process: try again when it has finished"
        case .damaged(let problems):
            "the vault failed its integrity check: \(problems.joined(separator: "; ")). Nothing was changed. "
                + "`proffer vault check` lists all damage; `proffer export --salvage FILE` saves what is intact"
        case .rolledBack(let vaultCounter, let anchorCounter, let anchor):
            "this vault file is older than the last state this machine saw (it is at write \(vaultCounter); "
                + "\(anchor) says \(anchorCounter)): an older copy was put in its place. If you restored a backup "
                + "on purpose, run `\(VaultError.acceptRollbackCommand)`"
        case .anchorMismatch(let anchor):
            "the rollback anchor \(anchor) does not match this vault: the anchor was altered, or this vault file "
                + "was replaced by another with the same id. If you restored a backup on purpose, run "
                + "`\(VaultError.acceptRollbackCommand)`"
        case .differentVault(let path):
            "\(path) is not the vault this machine last used there: another vault file was put in its place. If you "
                + "did that on purpose, run `\(VaultError.acceptRollbackCommand)`"
        case .unsafePermissions(let path, let mode):
            "refusing to open \(path): its permissions (\(mode)) let other users write to it; run `chmod go-w \(path)`"
        case .unsupportedFormat(let version):
            "this vault uses format \(version), which this proffer does not know: upgrade proffer"
        case .noSuchRecord(let kind, let name):
            "no \(kind) named \(name)"
        case .duplicate(let kind, let name):
            "\("aeiou".contains(kind.prefix(1)) ? "an" : "a") \(kind) named \(name) already exists"
        case .invalidInput(let message):
            message
        case .storage(let message):
            message
        case .invalidExport(let message):
            "cannot import: \(message); nothing was written"
        case .exportLocked:
            "cannot import: the passphrase does not open this export, or its header was altered; nothing was written. "
                + "An export keeps the passphrase the vault had when it was made: after a passphrase change, older "
                + "exports still open with the old one"
        case .readOnly(let path):
            "the vault at \(path) was opened read-only: this command does not write"
        case .refused(let message):
            message
        }
    }
}
