import ArgumentParser
import Foundation
import ProfferAgent
import ProfferCrypto
import ProfferVault
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where the vault is and how to unlock it: shared by every command that opens the vault.
struct VaultOptions: ParsableArguments {
    @Option(
        name: .customLong("vault"),
        help: ArgumentHelp(
            "The vault file. Default: $PROFFER_VAULT, else $XDG_DATA_HOME/proffer/vault.db (~/.local/share/proffer/vault.db).",
            valueName: "path"))
    var vaultPath: String?

    @Option(
        help: ArgumentHelp(
            "Read the passphrase from this file (one trailing newline is ignored). Default: $PROFFER_PASSPHRASE_FILE, else a prompt.",
            valueName: "file"))
    var passphraseFile: String?

    /// The vault path: --vault, then PROFFER_VAULT, then the XDG default.
    var resolvedPath: String {
        if let vaultPath { return vaultPath }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PROFFER_VAULT"], !path.isEmpty { return path }
        let dataHome =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.homeDirectoryForCurrentUser.path + "/.local/share")
        return dataHome + "/proffer/vault.db"
    }

    /// How long to wait for another proffer process holding the vault (PROFFER_BUSY_TIMEOUT, default 5 s).
    var busyTimeout: Double {
        ProcessInfo.processInfo.environment["PROFFER_BUSY_TIMEOUT"].flatMap(Double.init) ?? 5
    }

    func passphrase(prompt: String = "Vault passphrase: ") throws -> SecretBytes {
        let file = passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"]
        if let file { return try Passphrase.read(fromFile: file) }
        return try Passphrase.prompt(prompt)
    }

    /// Opens and unlocks the vault, with core dumps and ptrace-dumpability off for the rest of the process.
    ///
    /// Damage found on open is printed as a warning straight away; ``OpenedVaults`` reports it again when the
    /// command ends and makes the exit status non-zero.
    ///
    /// - Parameter access: `.readOnly` for commands that only read, so they work on a read-only vault.
    func openVault(_ access: VaultAccessMode = .readWrite, acceptOlderState: Bool = false) throws -> Vault {
        disableCoreDumps()
        let passphrase = try passphrase()
        let vault = try Vault.open(
            at: resolvedPath, passphrase: passphrase, access: access, busyTimeout: busyTimeout,
            acceptOlderState: acceptOlderState)
        if vault.usesWeakKDF { warnWeakKDF() }
        for problem in vault.integrityProblems { printError("warning: \(problem)") }
        OpenedVaults.register(vault)
        return vault
    }
}

/// The vaults this process opened, so damage seen while a command ran is reported once at its end, with a non-zero
/// exit status, however the command itself went.
enum OpenedVaults {
    private static let opened = Mutex<[Vault]>([])

    static func register(_ vault: Vault) { opened.withLock { $0.append(vault) } }

    /// Copies what this process wrote into each vault's file, so a copy of the file alone is the whole vault.
    static func settle() {
        for vault in opened.withLock({ $0 }) { vault.settle() }
    }

    /// Prints warnings and damage; returns whether anything was damaged.
    static func reportDamage() -> Bool {
        var damaged = false
        for vault in opened.withLock({ $0 }) {
            for warning in vault.warnings { printError("warning: \(warning)") }
            let problems = vault.integrityProblems.count + vault.damagedRecords.count
            guard problems > 0 else { continue }
            damaged = true
            for record in vault.damagedRecords { printError("error: \(record); it was left out") }
            printError(
                "error: the vault at \(vault.path) is damaged (\(problems) problem\(problems == 1 ? "" : "s")): "
                    + "`proffer vault check` lists everything; `proffer export --salvage FILE` saves what is intact")
        }
        return damaged
    }
}

func warnWeakKDF() {
    // Scripts and demos that made such a vault on purpose may say so once, instead of reading this on every command.
    guard ProcessInfo.processInfo.environment["PROFFER_WEAK_KDF_ACKNOWLEDGED"] != "1" else { return }
    printError(
        "warning: this vault uses weak-for-tests key derivation: its passphrase is cheap to guess. Use it only for tests."
    )
}

/// Reads passphrases without ever taking them from the command line.
enum Passphrase {
    static func read(fromFile path: String) throws -> SecretBytes {
        guard let passphrase = try SecretBytes.contentsOfFile(path) else {
            throw CLIError("cannot read the passphrase file \(path): check the path and its permissions")
        }
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
            printError(
                "warning: other users can read or change the passphrase file \(path) (mode "
                    + String(status.st_mode & 0o777, radix: 8) + "): `chmod 600 \(path)`")
        }
        guard passphrase.count > 0 else { throw CLIError("the passphrase file \(path) is empty") }
        return passphrase
    }

    /// Asks on the terminal with echo off, reading straight into secure memory (no growing array leaves copies).
    /// - Parameter missing: What to say when there is no terminal: which option gives this passphrase instead.
    static func prompt(
        _ prompt: String,
        missing: String = "no passphrase: give --passphrase-file FILE or set PROFFER_PASSPHRASE_FILE"
    ) throws -> SecretBytes {
        let terminal = open("/dev/tty", O_RDWR)
        guard terminal >= 0 else { throw CLIError(missing + " (there is no terminal to ask on)") }
        defer { close(terminal) }
        _ = prompt.withCString { write(terminal, $0, strlen($0)) }
        var original = termios()
        tcgetattr(terminal, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(terminal, TCSAFLUSH, &silent)
        defer {
            tcsetattr(terminal, TCSAFLUSH, &original)
            _ = write(terminal, "\n", 1)
        }
        let buffer = try SecretBytes(zeroedCount: SecretBytes.maximumFileBytes)
        var length = 0
        var tooLong = false
        buffer.withUnsafeMutableBytes { bytes in
            var byte: UInt8 = 0
            while Glibc.read(terminal, &byte, 1) == 1, byte != 0x0A {
                if length < bytes.count {
                    bytes[length] = byte
                    length += 1
                } else {
                    tooLong = true
                }
            }
            byte = 0
        }
        guard !tooLong else {
            throw CLIError("the passphrase is longer than \(SecretBytes.maximumFileBytes) bytes; nothing was changed")
        }
        guard length > 0 else { throw CLIError("no passphrase was entered") }
        return try buffer.prefix(length)
    }

    /// A new passphrase: from the file if given, else asked twice on the terminal.
    static func new(fromFile file: String?, option: String = "--new-passphrase-file", minimumLength: Int = 8) throws
        -> SecretBytes
    {
        let passphrase: SecretBytes
        if let file {
            passphrase = try read(fromFile: file)
        } else {
            let missing = "no new passphrase: give \(option) FILE"
            passphrase = try prompt("New passphrase: ", missing: missing)
            let again = try prompt("Repeat it: ", missing: missing)
            guard passphrase.hasSameBytes(as: again) else {
                throw CLIError("the two passphrases differ; nothing was changed")
            }
        }
        guard passphrase.count >= minimumLength else {
            throw CLIError("a passphrase has at least \(minimumLength) characters; a few words are easiest to remember")
        }
        return passphrase
    }
}

/// Options shared by the commands that talk to vendors.
struct NetworkOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Seconds each vendor's whole exchange may take: connecting, the answer, every byte of it (default: the "
                + "publish.timeout setting, else 10).",
            valueName: "seconds"))
    var timeout: Int?

    func duration(vault: Vault) -> Duration {
        if let timeout { return .seconds(timeout) }
        let setting = try? vault.preference(key: AgentSetting.publishTimeout.rawValue, persona: Persona.defaultName)
        return setting.flatMap { Int($0.value) }.map { .seconds($0) } ?? Agent.defaultTimeout
    }

    func validate() throws {
        if let timeout, !(1...600).contains(timeout) { throw ValidationError("--timeout is 1 to 600 seconds") }
    }
}

/// Asks a yes/no question on the terminal; without one, refuses and names the flag that answers it in advance.
func confirm(_ question: String, orPass flag: String) throws -> Bool {
    standardOutput.flush()
    guard isatty(STDIN_FILENO) == 1 else {
        throw CLIError("there is no terminal to ask \"\(question)\" on: pass \(flag) to answer yes in advance")
    }
    FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    return answer == "y" || answer == "yes"
}
