import ArgumentParser
import Foundation
import ProfferAudit
import ProfferVault
import ProfferWire

struct DueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "due", abstract: "List what needs you, most urgent first, each with the command that settles it.",
        discussion: """
            Works offline, from the vault alone. In order: offers lapsing within a day (soonest first), vendors \
            that presented other keys, accepts never confirmed, forgets never confirmed, deliveries past their eta \
            not marked received (`proffer deal received`), vendors holding data longer than forget.after \
            (`proffer pref set forget.after 90d`), and intents, drafts or published, past their by: date. Within each kind, the \
            oldest first.
            """)
    @OptionGroup var vault: VaultOptions
    @Flag(help: "Write JSON: [{kind, due, vendor, subject, what, command}].") var json = false

    func run() throws {
        let facts = try AuditFacts(vault: try vault.openVault(.readOnly))
        let items = facts.followUps()
        if json { return try printJSON(items) }
        if items.isEmpty {
            standardOutput.write(line: "nothing needs you now")
        } else {
            printTable(
                ["WHAT", "DUE", "DETAIL", "RUN"],
                items.map { [$0.kind.rawValue, $0.due.shortText, $0.what, $0.command] })
        }
        if facts.forgetAfter == nil, facts.deals.contains(where: { !$0.deal.disclosed.isEmpty }) {
            printError(
                "note: to be told when a vendor has held your data too long, set `proffer pref set forget.after 90d`")
        }
    }
}

struct HoldingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holdings", abstract: "Show who holds which of your data now, per data category.",
        discussion: """
            Every category disclosed under a deal, with the vendor, since when, under which terms, and whether a \
            forget was asked for and confirmed. States: held (disclosed, not forgotten, whatever the vendor \
            answered), pending (a forget was asked for, not confirmed), forgotten (the vendor confirmed it deleted \
            the data). From the vault alone; values are never shown. A deal whose record was lost (a salvage left it \
            out) still counts, from what the audit log says, marked "record lost".
            """)
    @OptionGroup var vault: VaultOptions
    @Option(help: "Only this data category (e.g. postal).") var category: String?
    @Flag(
        help:
            "Write JSON: [{category, vendor, persona, deal, terms, since, state, forgetAsked, forgetDelivered, forgotten, recordLost}]."
    )
    var json = false

    func run() throws {
        if let category, DataCategory(rawValue: category.lowercased()) == nil {
            let meant = DataCategory.meant(by: category).map { " (did you mean \($0.rawValue)?)" } ?? ""
            throw CLIError(.usage, "unknown data category \"\(category)\"\(meant): see `proffer msg categories`")
        }
        let facts = try AuditFacts(vault: try vault.openVault(.readOnly))
        let holdings = facts.holdings().filter { category == nil || $0.category == category?.lowercased() }
            .sorted { ($0.category, $0.since) < ($1.category, $1.since) }
        if json { return try printJSON(holdings) }
        if holdings.isEmpty { return standardOutput.write(line: "no vendor holds data you disclosed") }
        printTable(["DATA", "VENDOR", "STATE", "SINCE", "TERMS", "PERSONA", "DEAL", "FORGET"], holdings.map(row))
        if holdings.contains(where: \.recordLost) {
            standardOutput.write(
                line:
                    "\nA deal marked \"record lost\" is known from the audit log alone: its record is gone (a salvaged "
                    + "or damaged vault). `proffer deal forget DEAL` still asks the vendor to delete what it holds.")
        }
    }

    func row(_ holding: Holding) -> [String] {
        let forget =
            switch holding.state {
            case .forgotten: "confirmed \(holding.forgotten?.dayText ?? "")"
            case .pending:
                "asked \(holding.forgetAsked?.dayText ?? ""), "
                    + (holding.forgetDelivered ? "not confirmed" : "not delivered")
            case .held: "-"
            }
        return [
            holding.category, holding.vendor, holding.state.rawValue, holding.since.dayText,
            holding.terms.joined(separator: ","), holding.persona,
            holding.recordLost ? holding.deal + " (record lost)" : holding.deal, forget,
        ]
    }
}
