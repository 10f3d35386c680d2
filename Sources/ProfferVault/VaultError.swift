import ProfferCrypto
import ProfferWire

/// Why a vault operation failed, in words that say what to do. Never includes secrets or personal data values.
public struct VaultError: Error, Sendable, CustomStringConvertible {
    enum Reason: Sendable {
        case wrongPassphrase
        case notFound(path: String)
        case alreadyExists(path: String)
        case busy(path: String)
        case tampered(record: String)
        case unsafePermissions(path: String, mode: String)
        case unsupportedFormat(version: Int)
        case noSuchRecord(kind: String, name: String)
        case duplicate(kind: String, name: String)
        case invalidInput(String)
        case storage(String)
        case invalidExport(String)
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    /// The passphrase does not unlock this vault.
    public var isWrongPassphrase: Bool {
        if case .wrongPassphrase = reason { return true }
        return false
    }

    /// Another process holds the vault longer than the wait allows.
    public var isBusy: Bool {
        if case .busy = reason { return true }
        return false
    }

    /// Stored data failed authentication: it was altered or moved.
    public var isTampering: Bool {
        if case .tampered = reason { return true }
        return false
    }

    /// The input (a name, key, value or file) is not acceptable.
    public var isInvalidInput: Bool {
        switch reason {
        case .invalidInput, .invalidExport, .duplicate, .noSuchRecord: true
        default: false
        }
    }

    public var description: String {
        switch reason {
        case .wrongPassphrase:
            "wrong passphrase: it does not unlock this vault (nothing was changed)"
        case .notFound(let path):
            "no vault at \(path): create one with `proffer init`, or point --vault / PROFFER_VAULT at yours"
        case .alreadyExists(let path):
            "a vault already exists at \(path): choose another path with --vault, or remove the old one first"
        case .busy(let path):
            "the vault at \(path) is in use by another proffer process: try again when it has finished"
        case .tampered(let record):
            "\(record) failed authentication: it was altered or moved on disk (other records are unaffected)"
        case .unsafePermissions(let path, let mode):
            "refusing to open \(path): its permissions (\(mode)) let other users write to it; run `chmod go-w \(path)`"
        case .unsupportedFormat(let version):
            "this vault uses format \(version), which this proffer does not know: upgrade proffer"
        case .noSuchRecord(let kind, let name):
            "no \(kind) named \(name)"
        case .duplicate(let kind, let name):
            "a \(kind) named \(name) already exists"
        case .invalidInput(let message):
            message
        case .storage(let message):
            message
        case .invalidExport(let message):
            "cannot import: \(message); nothing was written"
        }
    }
}
