import ArgumentParser
import Foundation
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

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a persona and its data.",
            discussion: """
                Refused while a vendor may hold data disclosed under it (a deal not forgotten, declined ones \
                included: the vendor had the data): ask it to forget first with `proffer deal forget DEAL`, or pass \
                --force. Intents and deals keep its name as history.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The persona's name.") var name: String
        @Flag(help: "Remove it although vendors may hold its data; no forget can be signed as it afterwards.")
        var force =
            false

        func run() throws {
            try vault.openVault().removePersona(named: name, force: force)
            standardOutput.write(line: "removed persona \(name) and its data")
        }
    }
}

extension Date {
    /// `2026-11-23T09:30:00Z`.
    var iso8601: String { ISO8601DateFormatter().string(from: self) }
}
