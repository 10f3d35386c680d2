import ArgumentParser
import Foundation
import ProfferAgent
import ProfferCrypto
import ProfferVault
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Proffer: AsyncParsableCommand {
    static func main() async {
        // Past a file-size limit, let writes fail with EFBIG (reported, vault unchanged) instead of killing us.
        signal(SIGXFSZ, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let typo = CommandTypo.find(in: arguments, root: Proffer.self) {
            printError("error: \(typo)")
            Glibc.exit(64)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            standardOutput.flush()
            OpenedVaults.settle()
            if let declined = error as? CLIError, declined.code == .declined {
                printError(declined.message)
                _ = OpenedVaults.reportDamage()
                Glibc.exit(1)
            }
            if let failure = Failure(error) {
                printError("error: " + Caret.visible(failure.message))
                _ = OpenedVaults.reportDamage()
                Glibc.exit(failure.status)
            }
            _ = OpenedVaults.reportDamage()
            exit(withError: error)
        }
        standardOutput.flush()
        OpenedVaults.settle()
        // A listing that left out damaged records printed what opens; the exit status says it was not everything.
        if OpenedVaults.reportDamage() { Glibc.exit(1) }
    }

    static let configuration = CommandConfiguration(
        commandName: "proffer",
        abstract: "Announce what you want to buy, on your own terms, and disclose only what you choose.",
        discussion: """
            Proffer keeps your preferences, buying intents and vendor relationships in an encrypted vault that you \
            own, and speaks the Proffer short-message protocol with vendors on your behalf.

            A message fits in a social post and reads like one:
              #buy camera.mirrorless max:1200EUR in:DE by:2026-12-24 terms:sd-base

            Exit status: 0 success, 1 failure, 64 usage error, 65 invalid data (a message, a value, a file), \
            69 no vendor could be reached, 75 vault busy, 77 wrong passphrase. A vault that fails its integrity \
            check (rows deleted, added, swapped or rolled back) is reported on every command, and the exit status is \
            1 even when what could be read was printed.

            Environment: PROFFER_VAULT (the vault file), PROFFER_PASSPHRASE_FILE, PROFFER_BUSY_TIMEOUT (seconds to \
            wait for another proffer process), PROFFER_WEAK_KDF_ACKNOWLEDGED=1 (silence the warning on vaults made \
            with --kdf weak-for-tests), XDG_DATA_HOME and XDG_STATE_HOME.
            """,
        version: "0.2.0",
        subcommands: [
            Init.self, PassphraseCommand.self, PersonaCommand.self, PrefCommand.self, VendorCommand.self,
            IntentCommand.self, Inbox.self, OfferCommand.self, DealCommand.self, DueCommand.self, HoldingsCommand.self,
            AuditCommand.self, Export.self, Import.self,
            VaultCommand.self, Msg.self,
        ]
    )
}

/// An error as the person sees it: one message and the documented exit status. Every error a command throws is
/// mapped here, once.
struct Failure {
    let message: String
    let status: Int32

    /// `nil` for the argument parser's own errors and exit codes, which it reports itself.
    init?(_ error: any Error) {
        switch error {
        case let error as VaultError:
            message = error.description
            status =
                switch error.code {
                case .wrongPassphrase: 77
                case .busy: 75
                case .invalidInput, .noSuchRecord: 65
                default: 1
                }
        case let error as AgentError:
            message = error.message
            status =
                switch error.code {
                case .unreachable, .timedOut: 69
                case .invalidInput: 65
                default: 1
                }
        case let error as CLIError:
            message = error.message
            status =
                switch error.code {
                case .usage: 64
                case .invalidData: 65
                default: 1
                }
        case let error as MessageError:
            message = error.description
            status = 65
        case let error as CryptoError:
            message = "\(error)"
            status = 1
        default:
            return nil
        }
    }
}

/// Finds a mistyped subcommand (`proffer vendr list`) before the parser does, to suggest the one meant.
enum CommandTypo {
    static func find(in arguments: [String], root: ParsableCommand.Type) -> String? {
        var command = root
        var path = [root.configuration.commandName ?? "proffer"]
        for argument in arguments {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !argument.hasPrefix("-") else { return nil }
            let names = subcommands.map { $0.configuration.commandName ?? "\($0)".lowercased() }
            if let index = names.firstIndex(of: argument) {
                command = subcommands[index]
                path.append(argument)
                continue
            }
            if argument == "help" { return nil }
            let close = names.filter {
                Suggestions.editDistance(Array($0.utf8), Array(argument.utf8)) <= (argument.count <= 3 ? 1 : 2)
                    || $0.hasPrefix(argument)
            }
            // A command with a default subcommand may take this word as its argument.
            guard command.configuration.defaultSubcommand == nil || !close.isEmpty else { return nil }
            let suggestion = close.isEmpty ? "" : "; did you mean \(close.map { "`\($0)`" }.joined(separator: " or "))?"
            return "`\(path.joined(separator: " ")) \(argument)` is not a command\(suggestion) "
                + "(see `\(path.joined(separator: " ")) --help`)"
        }
        return nil
    }
}
