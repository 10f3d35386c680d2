import ArgumentParser
import Foundation
import ProfferAudit
import ProfferVault
import ProfferWire

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract:
            "Show the tamper-evident record of sharing rules, disclosures and forgets; write a report or records.",
        discussion: """
            Entries: sharing-rule (a rule set or changed), disclosure (data sealed to a vendor, written just before \
            it left), forget-request (a forget reached the vendor), forget-confirmed (the vendor confirmed it \
            deleted the data), preference-removed, salvage (the vault was rebuilt from a salvaged export).
            """,
        subcommands: [List.self, Verify.self, Report.self, ExportRecords.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, oldest first.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only entries about this vendor.") var vendor: String?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let entries = try opened.auditEntries(vendor: vendor)
            if let vendor, entries.isEmpty, (try? opened.vendor(named: vendor)) == nil {
                throw CLIError("no vendor named \(vendor) and no audit entry about one: see `proffer vendor list`")
            }
            if json { return try printJSON(entries.map(\.entry)) }
            printTable(
                ["#", "WHEN", "WHAT", "PERSONA", "DATA", "DETAIL"],
                entries.map { numbered in
                    let entry = numbered.entry
                    return [
                        String(numbered.number), entry.at.shortText, entry.kind.rawValue, entry.persona,
                        entry.categories.map(\.rawValue).joined(separator: ","), entry.detail,
                    ]
                })
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit chain; exit 1 and name the first bad entry if anything was altered.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON: {\"intact\":…,\"entries\":…} or {\"intact\":false,\"entry\":…,\"reason\":…}.")
        var json =
            false

        struct Report: Encodable {
            let intact: Bool
            let entries: Int?
            let entry: Int?
            let reason: String?
        }

        func run() throws {
            switch try vault.openVault(.readOnly).verifyAuditChain() {
            case .intact(let entries):
                if json { return try printJSON(Report(intact: true, entries: entries, entry: nil, reason: nil)) }
                standardOutput.write(line: "audit chain intact: \(entries) entries")
            case .broken(let entry, let reason):
                if json {
                    try printJSON(Report(intact: false, entries: nil, entry: entry, reason: reason))
                    throw ExitCode(1)
                }
                throw CLIError("the audit chain is broken at entry \(entry): \(reason)")
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one self-contained HTML page: the chain's state, who holds what, a timeline, the terms.",
            discussion: """
                The page opens from disk with no network: inline CSS, no script, font or image, and a policy that \
                forbids every fetch. It shows the audit chain as verified now, a vendor-by-category grid of who \
                holds what (held, pending, forgotten), forgets never confirmed, the terms each disclosure was made \
                under with their meaning, each vendor's record and your notes, and a timeline. Values are left out \
                unless --with-values is given. The file is written readable by you only (0600).
                """)
        @OptionGroup var vault: VaultOptions
        @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file")) var html: String
        @Flag(help: "Show the current values of the data you disclosed (your postal address, say).")
        var withValues = false
        @Flag(help: "Replace the file if it exists.") var force = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let facts = try AuditFacts(vault: opened)
            var values: [AuditReport.Value]?
            if withValues {
                let disclosed = Set(facts.holdings().map { "\($0.persona.lowercased())/\($0.category)" })
                values = facts.preferences.compactMap { preference in
                    guard let category = preference.dataCategory,
                        disclosed.contains("\(preference.persona.lowercased())/\(category.rawValue)")
                    else { return nil }
                    return AuditReport.Value(persona: preference.persona, category: category, value: preference.value)
                }
            }
            try writePrivateFile(
                html, Array(AuditReport.html(facts, values: values).utf8), vault: opened, options: vault,
                overwrite: force)
            let chain =
                switch facts.chain {
                case .intact(let entries): "audit chain intact, \(entries) entries"
                case .broken(let entry, _): "audit chain BROKEN at entry \(entry)"
                }
            let damage = facts.problems.isEmpty ? "" : "; the vault is DAMAGED, which the report says"
            standardOutput.write(
                line: "wrote the audit report to \(html) (\(facts.deals.count) deals, \(chain)\(damage)); "
                    + "open it in a browser")
        }
    }

    struct ExportRecords: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write one consent record per deal into a folder (ISO/IEC TS 27560, JSON-LD with W3C DPV).",
            discussion: """
                Each file is DEAL.jsonld: the data categories as DPV IRIs, the terms as IEEE 7012 IRIs, the vendor \
                as controller (name, URL, key), you as the pairwise key that vendor knows (never your name), the \
                consent's status and times, and the signed envelopes as evidence. The same deal always gives the \
                same file. The folder is made (0700) if it does not exist; files in it are replaced.
                """)
        @OptionGroup var vault: VaultOptions
        @Option(help: "The record format: iso27560.") var format: ReceiptFormat = .iso27560
        @Argument(help: "The folder to write into.") var folder: String

        func run() throws {
            guard format == .iso27560 else {
                throw CLIError("audit export writes iso27560 records; for the deal's own JSON use `deal show --json`")
            }
            let opened = try vault.openVault(.readOnly)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
                guard isFolder.boolValue else { throw CLIError("\(folder) is a file, not a folder: name a folder") }
            } else {
                do {
                    try FileManager.default.createDirectory(
                        atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw CLIError("could not make the folder \(folder): \(error.localizedDescription)")
                }
            }
            // Checked once the folder exists: `VAULTFOLDER/new/..` resolves only then.
            try refuseVaultFiles(folder, vault: opened, options: vault, isFolder: true)
            let facts = try AuditFacts(vault: opened)
            for deal in facts.deals {
                let record = try ConsentRecord.json(of: deal)
                try writePrivateFile(
                    folder + "/\(deal.deal.id).jsonld", Array(record) + [0x0A], vault: opened, options: vault)
            }
            standardOutput.write(line: "wrote \(facts.deals.count) consent records to \(folder)")
        }
    }
}

/// How `deal receipt` and `audit export` write a deal.
enum ReceiptFormat: String, ExpressibleByArgument, CaseIterable {
    /// ISO/IEC TS 27560 in JSON-LD with DPV.
    case iso27560
    /// The deal as `deal show --json` gives it.
    case json
}

/// Writes a report or record: 0600, whole or not at all, never over the passphrase file or among the vault's own
/// files (which `Vault.refuseOwnFiles` names; a wrong place is a usage error here).
///
/// - Parameter overwrite: Replace a file already there (`--force`); without it an existing file is refused, as
///   `export` refuses one.
func writePrivateFile(
    _ path: String, _ bytes: [UInt8], vault opened: Vault, options: VaultOptions, overwrite: Bool = true
) throws {
    try refuseVaultFiles(path, vault: opened, options: options)
    if !overwrite, FileManager.default.fileExists(atPath: path) {
        throw CLIError(.usage, "\(path) already exists: choose another file, or pass --force to replace it")
    }
    try Vault.writeNewFile(path, bytes: bytes, overwrite: overwrite)
}

/// Refuses the passphrase file and the vault's own files as a place to write into.
func refuseVaultFiles(_ path: String, vault opened: Vault, options: VaultOptions, isFolder: Bool = false) throws {
    let passphraseFile = options.passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"]
    if let passphraseFile, sameFile(passphraseFile, path) {
        throw CLIError("refusing to write over the passphrase file \(passphraseFile): choose another file")
    }
    do {
        try opened.refuseOwnFiles(path, isFolder: isFolder)
    } catch let error as VaultError {
        throw CLIError(.usage, error.description)
    }
}
