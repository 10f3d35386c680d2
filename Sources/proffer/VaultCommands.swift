import ArgumentParser
import Foundation
import ProfferCrypto
import ProfferEnvelope
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
        try runReportingErrors {
            disableCoreDumps()
            let passphrase = try Passphrase.new(
                fromFile: vault.passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"])
            if kdf == .weakForTests { warnWeakKDF() }
            let created = try Vault.create(
                at: vault.resolvedPath, passphrase: passphrase, kdf: kdf.parameters, busyTimeout: vault.busyTimeout)
            StandardOutput().write(line: "created a vault at \(created.path) (\(kdf.rawValue) key derivation)")
        }
    }
}

struct PassphraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passphrase", abstract: "Change the vault's passphrase.", subcommands: [Change.self])

    struct Change: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the passphrase; only the master key is re-wrapped, atomically.")

        @OptionGroup var vault: VaultOptions
        @Option(help: ArgumentHelp("Read the new passphrase from this file instead of asking.", valueName: "file"))
        var newPassphraseFile: String?

        func run() throws {
            try runReportingErrors {
                let opened = try vault.openVault()
                let current = try vault.passphrase()
                let new = try Passphrase.new(fromFile: newPassphraseFile)
                try opened.changePassphrase(current: current, to: new)
                StandardOutput().write(line: "passphrase changed")
            }
        }
    }
}

struct PersonaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona", abstract: "Manage personas: the faces you show vendors.",
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a persona.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "Its name: 1 to 64 letters, digits, -, _ or .") var name: String

        func run() throws {
            try runReportingErrors {
                try vault.openVault().addPersona(named: name)
                StandardOutput().write(line: "added persona \(name)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List personas.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let personas = try vault.openVault(.readOnly).personas()
                if json { return try printJSON(personas) }
                printTable(["NAME", "CREATED"], personas.map { [$0.name, $0.createdAt.shortText] })
            }
        }
    }
}

struct Pref: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage personal data and preferences, with a sharing rule per item.",
        discussion: """
            Personal data keys (each a W3C DPV category): \(DataCategory.allCases.map(\.rawValue).joined(separator: ", ")).
            Each has a sharing rule per persona: never (refused), ask (you confirm each time; the default) or always.

            Agent settings:
            \(AgentSetting.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n"))
            """,
        subcommands: [Set.self, Get.self, List.self, Remove.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a preference (and its sharing rule).")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key, such as email or terms.default.") var key: String
        @Argument(help: "The value.") var value: String
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName
        @Option(help: ArgumentHelp("For personal data: never, ask or always.", valueName: "rule")) var share:
            SharingRule?

        func run() throws {
            try runReportingErrors {
                try vault.openVault().setPreference(key: key, value: value, persona: persona, share: share)
                StandardOutput().write(line: "set \(key.lowercased()) for persona \(persona)")
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one preference's value.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key.") var key: String
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName

        func run() throws {
            try runReportingErrors {
                let opened = try vault.openVault(.readOnly)
                // One value, for scripts: never one that may be a rolled-back copy.
                guard opened.integrityProblems.isEmpty else {
                    throw CLIError(
                        "not printing \(key): the vault failed its integrity check (see `proffer vault check`)")
                }
                guard let preference = try opened.preference(key: key, persona: persona) else {
                    throw CLIError("\(key) is not set for persona \(persona)")
                }
                StandardOutput().write(
                    line: isatty(STDOUT_FILENO) == 1 ? Caret.visible(preference.value) : preference.value)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List preferences with their sharing rules.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only this persona's.") var persona: String?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let preferences = try vault.openVault(.readOnly).preferences(persona: persona)
                if json { return try printJSON(preferences) }
                printTable(
                    ["PERSONA", "KEY", "SHARE", "VALUE"],
                    preferences.map { [$0.persona, $0.key, $0.share?.rawValue ?? "-", $0.value] })
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a preference.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The key.") var key: String
        @Option(help: "The persona it belongs to.") var persona = Persona.defaultName

        func run() throws {
            try runReportingErrors {
                try vault.openVault().removePreference(key: key, persona: persona)
                StandardOutput().write(line: "removed \(key) for persona \(persona)")
            }
        }
    }
}

extension SharingRule: ExpressibleByArgument {}
extension IntentState: ExpressibleByArgument {}

struct VendorCommand: ParsableCommand {
    static func fingerprintText(_ key: String) -> String? {
        Base64URL.decode(key).flatMap { try? SigningPublicKey($0) }.map(fingerprint(of:))
    }

    static let configuration = CommandConfiguration(
        commandName: "vendor", abstract: "Manage the vendors you deal with.",
        subcommands: [Add.self, Repin.self, List.self, Show.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List vendors.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let vendors = try vault.openVault(.readOnly).vendors()
                if json { return try printJSON(vendors) }
                printTable(
                    ["NAME", "URL", "TERMS", "ADDED"],
                    vendors.map {
                        [$0.name, $0.baseURL, $0.terms.map(\.description).joined(separator: ","), $0.addedAt.shortText]
                    })
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one vendor.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name.") var name: String
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let vendor = try vault.openVault(.readOnly).vendor(named: name)
                if json { return try printJSON(vendor) }
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["name", vendor.name], ["url", vendor.baseURL],
                        ["pinned key", vendor.signingKey.map(fingerprint(of:)) ?? "not pinned"],
                        ["terms", vendor.terms.map(\.description).joined(separator: ",")],
                        ["categories", vendor.categories.map(\.description).joined(separator: ",")],
                        ["added", vendor.addedAt.shortText],
                    ])
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a vendor.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name.") var name: String

        func run() throws {
            try runReportingErrors {
                try vault.openVault().removeVendor(named: name)
                StandardOutput().write(line: "removed vendor \(name)")
            }
        }
    }
}

struct IntentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent", abstract: "Keep buying intents: what you want, on your terms.",
        subcommands: [New.self, List.self, Show.self, Publish.self, Withdraw.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an intent, give it an id if it has none, store it as a draft and print its canonical form."
        )
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent, such as '#buy camera.mirrorless max:1200EUR in:DE terms:sd-base'.") var message:
            String
        @Option(help: "The persona it is for.") var persona = Persona.defaultName

        func run() throws {
            try runReportingErrors {
                let parsed: Message
                do {
                    parsed = try Message.parse(message)
                } catch {
                    printError("error: \(error)")
                    throw ExitCode(65)
                }
                let intent = try vault.openVault().addIntent(parsed, persona: persona)
                StandardOutput().write(line: intent.canonical)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List intents, oldest first.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only intents in this state: draft, published, withdrawn, expired or fulfilled.") var state:
            IntentState?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let intents = try vault.openVault(.readOnly).intents(state: state)
                if json { return try printJSON(intents) }
                printTable(
                    ["ID", "STATE", "PERSONA", "CREATED", "MESSAGE"],
                    intents.map {
                        [$0.id.description, $0.state.rawValue, $0.persona, $0.createdAt.shortText, $0.canonical]
                    })
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one intent and what it means.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent's id.") var id: String
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let intent = try vault.openVault(.readOnly).intent(id: id)
                if json { return try printJSON(intent) }
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["id", intent.id.description], ["state", intent.state.rawValue], ["persona", intent.persona],
                        ["message", intent.canonical], ["meaning", intent.message.explanation],
                        ["created", intent.createdAt.shortText], ["updated", intent.updatedAt.shortText],
                    ])
            }
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the tamper-evident record of sharing rules and disclosures.",
        subcommands: [Show.self, Verify.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List audit entries, oldest first.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only entries about this vendor.") var vendor: String?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try runReportingErrors {
                let entries = try vault.openVault(.readOnly).auditEntries(vendor: vendor)
                if json { return try printJSON(entries.map(\.entry)) }
                printTable(
                    ["#", "WHEN", "WHAT", "PERSONA", "DATA", "DETAIL"],
                    entries.map { numbered in
                        let entry = numbered.entry
                        let detail =
                            switch entry.kind {
                            case .sharingRule:
                                "\(entry.previousRule?.rawValue ?? "none") → \(entry.rule?.rawValue ?? "none")"
                            case .disclosure:
                                "to \(entry.vendor ?? "?") under \((entry.terms ?? []).map(\.description).joined(separator: ",")), deal \(entry.deal?.description ?? "?")"
                            case .forgetRequest:
                                "asked \(entry.vendor ?? "?") to delete it, deal \(entry.deal?.description ?? "?")"
                            case .salvage:
                                entry.note ?? "rebuilt from a salvaged export"
                            }
                        return [
                            String(numbered.number), entry.at.shortText, entry.kind.rawValue, entry.persona,
                            entry.categories.map(\.rawValue).joined(separator: ","), detail,
                        ]
                    })
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit chain; exit 1 and name the first bad entry if anything was altered.")
        @OptionGroup var vault: VaultOptions

        func run() throws {
            try runReportingErrors {
                switch try vault.openVault(.readOnly).verifyAuditChain() {
                case .intact(let entries):
                    StandardOutput().write(line: "audit chain intact: \(entries) entries")
                case .broken(let entry, let reason):
                    printError("error: the audit chain is broken at entry \(entry): \(reason)")
                    throw ExitCode(1)
                }
            }
        }
    }
}

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
        try runReportingErrors {
            let passphraseFile = vault.passphraseFile ?? ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"]
            if let passphraseFile, sameFile(passphraseFile, file) {
                throw CLIError("refusing to export over the passphrase file \(file): choose another file")
            }
            let opened = try vault.openVault(.readOnly)
            let summary = try opened.export(
                to: file, passphrase: try vault.passphrase(), salvage: salvage, overwrite: force)
            StandardOutput().write(
                line:
                    "exported \(summary.records) records and \(summary.auditEntries) audit entries to \(file)")
            if !summary.leftOut.isEmpty {
                for item in summary.leftOut { printError("left out: \(item)") }
                // The person asked for a salvage and got one; the damage was named just above.
                Foundation.exit(0)
            }
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
        try runReportingErrors {
            disableCoreDumps()
            let imported = try Vault.importVault(from: file, to: vault.resolvedPath, passphrase: try vault.passphrase())
            if imported.usesWeakKDF { warnWeakKDF() }
            StandardOutput().write(line: "imported \(file) into \(imported.path)")
        }
    }
}
