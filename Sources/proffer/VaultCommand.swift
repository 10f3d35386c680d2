import ArgumentParser
import Foundation
import ProfferVault

struct VaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Check the vault's integrity, or accept an older copy of it on purpose.",
        subcommands: [Check.self, AcceptRollback.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check everything: every record opens, no row was deleted, added, swapped or rolled back, the "
                + "audit chain is whole.",
            discussion: """
                Exits 0 when the vault is intact, 1 and names every problem when it is not. Works on a read-only \\
                vault.
                """)
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let report = try opened.check()
            if json {
                try printJSON(report)
            } else {
                let output = standardOutput
                for problem in report.problems { output.write(line: "problem: \(problem)") }
                for record in report.damagedRecords { output.write(line: "damaged: \(record)") }
                let records = report.tables.map(\.records).reduce(0, +)
                output.write(
                    line: report.isIntact
                        ? "vault intact: \(records) records in \(report.tables.count) tables, "
                            + "\(report.auditEntries) audit entries, \(report.writeCounter ?? 0) writes"
                        : "vault damaged: \(report.problems.count + report.damagedRecords.count) "
                            + (report.problems.count + report.damagedRecords.count == 1 ? "problem" : "problems"))
            }
            if !report.isIntact { throw ExitCode(1) }
        }
    }

    struct AcceptRollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept-rollback",
            abstract: "Accept the vault as it is now, older than what this machine last saw (a restored backup).",
            discussion: """
                Proffer remembers each vault's latest write outside its folder ($XDG_STATE_HOME/proffer, else \\
                ~/.local/state/proffer) and refuses a vault file older than that: someone may have put back an old \\
                copy to undo a sharing rule or a forget. Run this only when you restored the older copy yourself.
                """)
        @OptionGroup var vault: VaultOptions

        func run() throws {
            let opened = try vault.openVault(.readOnly, acceptOlderState: true)
            standardOutput.write(line: "accepted the vault at \(opened.path) as it is now")
        }
    }
}
