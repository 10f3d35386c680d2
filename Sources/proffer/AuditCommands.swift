import ArgumentParser
import Foundation
import ProfferVault
import ProfferWire

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the tamper-evident record of sharing rules, disclosures and forgets.",
        discussion: """
            Entries: sharing-rule (a rule set or changed), disclosure (data sealed to a vendor, written just before \
            it left), forget-request (a forget reached the vendor), forget-confirmed (the vendor confirmed it \
            deleted the data), preference-removed, salvage (the vault was rebuilt from a salvaged export).
            """,
        subcommands: [List.self, Verify.self], defaultSubcommand: List.self)

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
                    let deal = entry.deal?.description ?? "?"
                    let vendor = entry.vendor ?? "?"
                    let detail =
                        switch entry.kind {
                        case .sharingRule:
                            "\(entry.previousRule?.rawValue ?? "none") → \(entry.rule?.rawValue ?? "none")"
                        case .disclosure:
                            "to \(vendor) under \((entry.terms ?? []).map(\.description).joined(separator: ",")), deal \(deal)"
                                + (entry.note.map { " (\($0))" } ?? "")
                        case .forgetRequest: "asked \(vendor) to delete it, deal \(deal)"
                        case .forgetConfirmed: "\(vendor) confirmed it deleted it, deal \(deal)"
                        case .preferenceRemoved:
                            "removed from the vault (rule was \(entry.previousRule?.rawValue ?? "none"))"
                        case .salvage: entry.note ?? "rebuilt from a salvaged export"
                        }
                    return [
                        String(numbered.number), entry.at.shortText, entry.kind.rawValue, entry.persona,
                        entry.categories.map(\.rawValue).joined(separator: ","), detail,
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
}
