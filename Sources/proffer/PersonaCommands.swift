import ArgumentParser
import Foundation
import ProfferAgent
import ProfferVault

struct PersonaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona",
        abstract: "Manage personas: the faces you show vendors, each with its own data, rules and keys.",
        discussion: """
            An intent belongs to a persona (intent new --persona NAME). Accepting an offer for it discloses that \
            persona's data under that persona's rules and signs with that persona's key toward the vendor, so a \
            vendor cannot tell two personas are one person from their keys.
            """,
        subcommands: [Add.self, List.self, Rename.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a persona.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "Its name: 1 to 64 letters, digits, -, _ or .") var name: String

        func run() throws {
            try vault.openVault().addPersona(named: name)
            standardOutput.write(line: "added persona \(name)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List personas.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let personas = try vault.openVault(.readOnly).personas()
            if json { return try printJSON(personas.map { ["name": $0.name, "created": $0.createdAt.iso8601] }) }
            printTable(["NAME", "CREATED"], personas.map { [$0.name, $0.createdAt.shortText] })
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a persona; its data, intents, deals and keys go with it.",
            discussion: "Vendors still see the same keys. Audit entries keep the name they were written with.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "Its current name.") var name: String
        @Argument(help: "The new name.") var newName: String

        func run() throws {
            try vault.openVault().renamePersona(name, to: newName)
            standardOutput.write(line: "renamed persona \(name) to \(newName)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a persona and its data.",
            discussion: """
                Refused while vendors hold its published intents open and while a vendor may hold data disclosed \
                under it (a deal not forgotten, declined ones included: the vendor had the data): withdraw with \
                `proffer intent withdraw ID` and ask for a forget with `proffer deal forget DEAL` first, or pass \
                --force to withdraw its intents here and remove it anyway. `proffer deal forget DEAL` still works for \
                its deals after it is removed. Asks first on a terminal, saying what vendors still hold; --yes \
                answers yes. Intents and deals keep its name as history.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The persona's name.", completion: VaultCompletion.personas) var name: String
        @Flag(
            help: ArgumentHelp(
                "Withdraw its open intents first, and remove it although vendors may hold its data (`deal forget` "
                    + "still works for its deals)."))
        var force = false
        @Flag(help: "Answer yes to the question asked on a terminal.") var yes = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let persona = try agent.vault.persona(named: name)
            // Intents a vendor still in the vault holds open: one removed since can be told nothing, by anyone.
            let vendors = Set(try agent.vault.vendors().map(\.name))
            let open = try agent.vault.intents(state: .published).filter { intent in
                intent.persona == persona.name && !Set(intent.sentTo ?? []).isDisjoint(with: vendors)
            }
            let ids = open.map(\.id.description).joined(separator: ", ")
            let held = try agent.vault.dataHeld(underPersona: persona.name)
            let heldText = held.map(\.description).joined(separator: "; ")
            guard (open.isEmpty && held.isEmpty) || force else {
                var reasons: [String] = []
                if !open.isEmpty { reasons.append("vendors hold its published intents open (\(ids))") }
                if !held.isEmpty { reasons.append("vendors may still hold its data (\(heldText))") }
                throw CLIError(
                    "persona \(persona.name) is still in use: " + reasons.joined(separator: ", and ")
                        + ". Withdraw with `proffer intent withdraw ID` and ask for a forget with `proffer deal forget "
                        + "DEAL` first, or pass --force to withdraw its intents and remove it anyway (`proffer deal "
                        + "forget` still works for its deals afterwards)")
            }
            if !yes {
                let withdrawing = open.isEmpty ? "" : ", after withdrawing \(ids)"
                let holding = held.isEmpty ? "" : " Vendors still hold: \(heldText)."
                guard
                    try confirm(
                        "Remove persona \(persona.name) and its data\(withdrawing)?\(holding)", orPass: "--yes")
                else {
                    throw CLIError.declined("nothing was removed")
                }
            }
            for intent in open {
                let outcomes = try await agent.withdraw(
                    intentID: intent.id.description, timeout: network.duration(vault: agent.vault))
                if let untold = outcomes.first(where: { $0.error != nil && vendors.contains($0.vendor) }) {
                    throw CLIError(
                        "\(untold.vendor) could not be told that intent \(intent.id) is withdrawn, so persona "
                            + "\(persona.name) was kept (its key is needed to tell it): run this again later")
                }
            }
            try agent.vault.removePersona(named: persona.name, force: force)
            standardOutput.write(line: "removed persona \(persona.name) and its data")
            for item in held {
                printError(
                    "warning: \(item.vendor) may still hold \(item.categories.map(\.rawValue).joined(separator: ", ")) "
                        + "(deal \(item.deal)): `proffer deal forget \(item.deal)` still asks it to forget")
            }
        }
    }
}

extension Date {
    /// `2026-11-23T09:30:00Z`.
    var iso8601: String { ISO8601DateFormatter().string(from: self) }
}
