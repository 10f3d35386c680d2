import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Proffer: AsyncParsableCommand {
    static func main() async {
        // Past a file-size limit, let writes fail with EFBIG (reported, vault unchanged) instead of killing us.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            _ = OpenedVaults.reportDamage()
            exit(withError: error)
        }
        // A listing that left out damaged records printed what opens; the exit status says it was not everything.
        if OpenedVaults.reportDamage() { exit(withError: ExitCode(1)) }
    }

    static let configuration = CommandConfiguration(
        commandName: "proffer",
        abstract: "Announce what you want to buy, on your own terms, and disclose only what you choose.",
        discussion: """
            Proffer keeps your preferences, buying intents and vendor relationships in an encrypted vault that you own,
            and speaks the Proffer short-message protocol with vendors on your behalf.

            A message fits in a social post and reads like one:
              #buy camera.mirrorless max:1200EUR in:DE by:2026-12-24 terms:sd-base

            Exit status: 0 success, 1 failure, 64 usage error, 65 invalid data (a message, a file), 69 no vendor
            could be reached, 75 vault busy, 77 wrong passphrase. A vault that fails its integrity check (rows deleted,
            added, swapped or rolled back) is reported on every command, and the exit status is 1 even when what
            could be read was printed.
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, PassphraseCommand.self, PersonaCommand.self, Pref.self, VendorCommand.self, IntentCommand.self,
            OfferCommand.self, DealCommand.self, Audit.self, Export.self, Import.self, VaultCommand.self, Msg.self,
        ]
    )
}
