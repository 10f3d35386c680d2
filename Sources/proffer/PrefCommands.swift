import ArgumentParser
import Foundation
import ProfferVault
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

struct PrefCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pref", abstract: "Manage personal data and settings, with a sharing rule per item.",
        discussion: """
            Personal data keys (each a W3C DPV category): \(DataCategory.allCases.map(\.rawValue).joined(separator: ", ")). \
            Values are checked: email is an e-mail address, birthdate a date (YYYY-MM-DD), age a number, location \
            a region code (DE, US-CA), language a BCP 47 tag (de-CH), phone 5 to 20 digits.

            Each has a sharing rule per persona: never (refused), ask (you confirm each time; the default) or \
            always. Changing a rule, and removing a value, is recorded in the audit chain.

            Settings (any other key is refused):
            \(AgentSetting.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n"))
            """,
        subcommands: [Set.self, Get.self, List.self, Remove.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a value and its sharing rule, or only the rule (`pref set email --share never`).")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key, such as email or terms.default.", completion: VaultCompletion.preferenceKeys) var key:
            String
        @Argument(help: "The value; leave it out to change only the sharing rule.") var value: String?
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName
        @Option(help: ArgumentHelp("For personal data: never, ask or always.", valueName: "rule")) var share:
            SharingRule?

        func run() throws {
            try vault.openVault().setPreference(key: key, value: value, persona: persona, share: share)
            let what = value == nil ? "the sharing rule of \(key.lowercased())" : key.lowercased()
            let whole = AgentSetting(rawValue: key.lowercased())?.isVaultWide == true
            standardOutput.write(line: "set \(what) for " + (whole ? "the whole vault" : "persona \(persona)"))
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one value.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key.", completion: VaultCompletion.preferenceKeys) var key: String
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            // One value, for scripts: never one that may be a rolled-back copy.
            guard opened.integrityProblems.isEmpty else {
                throw CLIError("not printing \(key): the vault failed its integrity check (see `proffer vault check`)")
            }
            guard let preference = try opened.preference(key: key, persona: persona) else {
                throw CLIError("\(key) is not set for persona \(persona)")
            }
            standardOutput.write(line: isatty(STDOUT_FILENO) == 1 ? Caret.visible(preference.value) : preference.value)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List values and settings with their sharing rules.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only this persona's.") var persona: String?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let preferences = try vault.openVault(.readOnly).preferences(persona: persona)
            if json { return try printJSON(preferences) }
            if preferences.isEmpty {
                return standardOutput.write(
                    line: "nothing set yet: `proffer pref set KEY VALUE` (see `proffer pref set --help` for the keys)")
            }
            // A vault-wide setting belongs to no persona, whichever record holds it.
            let isVaultWide = { (key: String) in AgentSetting(rawValue: key)?.isVaultWide == true }
            printTable(
                ["PERSONA", "KEY", "SHARE", "VALUE"],
                preferences.map {
                    [isVaultWide($0.key) ? "(vault)" : $0.persona, $0.key, $0.share?.rawValue ?? "-", $0.value]
                })
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a value or setting; removing personal data is audited.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key.", completion: VaultCompletion.preferenceKeys) var key: String
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName

        func run() throws {
            try vault.openVault().removePreference(key: key, persona: persona)
            standardOutput.write(line: "removed \(key) for persona \(persona)")
        }
    }
}

extension SharingRule: ExpressibleByArgument {}
