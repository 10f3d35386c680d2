import ArgumentParser
import Foundation
import ProfferCrypto
import ProfferVault
import ProfferWire

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the whole vault to one encrypted file (same passphrase): every record, the audit chain, and "
            + "the identity seed, so vendors see the same keys after an import.",
        discussion: """
            The vault is only read, so export works on a read-only vault. It refuses to write onto the vault itself, \
            and over an existing file unless --force is given. A damaged vault is refused; --salvage writes what \
            authenticates and names what it left out, and an import of it records that in the audit log.
            """)
    @OptionGroup var vault: VaultOptions
    @Argument(help: "The file to write.") var file: String
    @Flag(help: "Replace the file if it exists (never the vault itself).") var force = false
    @Flag(help: "Write what authenticates from a damaged vault, and say what was left out.") var salvage = false

    func run() throws {
        let passphraseFile = vault.passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"]
        if let passphraseFile, sameFile(passphraseFile, file) {
            throw CLIError("refusing to export over the passphrase file \(file): choose another file")
        }
        let opened = try vault.openVault(.readOnly)
        let summary = try opened.export(
            to: file, passphrase: try vault.passphrase(), salvage: salvage, overwrite: force)
        standardOutput.write(
            line:
                "exported \(summary.records) records and \(summary.auditEntries) audit entries to \(file)")
        if !summary.leftOut.isEmpty {
            for item in summary.leftOut { printError("left out: \(item)") }
            // The person asked for a salvage and got one; the damage was named just above.
            standardOutput.flush()
            Foundation.exit(0)
        }
    }
}

/// Whether two paths name the same existing file.
func sameFile(_ first: String, _ second: String) -> Bool {
    var a = stat()
    var b = stat()
    return stat(first, &a) == 0 && stat(second, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a vault from an export. Nothing is written unless the whole file checks out.",
        discussion: """
            The new vault gets a new master key and vault id, and keeps the export's identity seed, so vendors see \
            the same keys. Exports from format 1 import too; they hold no offers, deals or identity seed.
            """)
    @OptionGroup var vault: VaultOptions
    @Argument(help: "The export file.") var file: String

    func run() throws {
        disableCoreDumps()
        let imported = try Vault.importVault(from: file, to: vault.resolvedPath, passphrase: try vault.passphrase())
        if imported.usesWeakKDF { warnWeakKDF() }
        standardOutput.write(line: "imported \(file) into \(imported.path)")
    }
}
