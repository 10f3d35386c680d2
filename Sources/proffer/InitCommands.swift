import ArgumentParser
import Foundation
import ProfferCrypto
import ProfferVault
import ProfferWire

enum KDFLevel: String, ExpressibleByArgument, CaseIterable {
    case interactive, moderate, sensitive
    case weakForTests = "weak-for-tests"

    var parameters: Argon2Parameters {
        switch self {
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        case .weakForTests: .weakForTests
        }
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new, empty vault protected by a passphrase.",
        discussion: """
            The vault is one SQLite file (folder 0700, file 0600) in which every record is sealed with \
            XChaCha20-Poly1305; the passphrase unlocks its key through Argon2id. A persona named "default" is created.
            """)

    @OptionGroup var vault: VaultOptions
    @Option(
        help: ArgumentHelp(
            "Key-derivation cost: interactive, moderate (default), sensitive; weak-for-tests only for tests.",
            valueName: "level"))
    var kdf: KDFLevel = .moderate

    func run() throws {
        disableCoreDumps()
        let passphrase = try Passphrase.new(
            fromFile: vault.passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"],
            option: "--passphrase-file (or set PROFFER_PASSPHRASE_FILE)")
        if kdf == .weakForTests { warnWeakKDF() }
        let created = try Vault.create(
            at: vault.resolvedPath, passphrase: passphrase, kdf: kdf.parameters, busyTimeout: vault.busyTimeout)
        standardOutput.write(line: "created a vault at \(created.path) (\(kdf.rawValue) key derivation)")
    }
}

struct PassphraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passphrase", abstract: "Change the vault's passphrase.", subcommands: [Change.self])

    struct Change: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the passphrase: a new master key, and every record and audit entry sealed again.",
            discussion: """
                All of it in one transaction, then the file is rewritten without free pages, so nothing sealed under \
                the old key stays on disk; a copy of the vault made before opens with the old passphrase only. The \
                keys vendors know you by do not change. Exports made before keep the passphrase they were made with.
                """)

        @OptionGroup var vault: VaultOptions
        @Option(help: ArgumentHelp("Read the new passphrase from this file instead of asking.", valueName: "file"))
        var newPassphraseFile: String?

        func run() throws {
            let opened = try vault.openVault()
            let current = try vault.passphrase()
            let new = try Passphrase.new(fromFile: newPassphraseFile)
            try opened.changePassphrase(current: current, to: new)
            standardOutput.write(line: "passphrase changed")
        }
    }
}
