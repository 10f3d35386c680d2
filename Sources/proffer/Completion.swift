import ArgumentParser
import Foundation
import ProfferCrypto
import ProfferVault
import ProfferWire

/// Shell completion of what the vault keeps: offer, intent and deal ids, vendor and persona names.
///
/// Ids and names are sealed, so they are offered only when a passphrase file is configured (`PROFFER_PASSPHRASE_FILE`)
/// and the vault opens read-only without asking; otherwise nothing is offered, and nothing is prompted for (a shell
/// completing a word cannot show a prompt). Preference keys are no secret and always completed.
enum VaultCompletion {
    /// Completion from names the vault keeps, those starting with what is typed.
    static func names(_ pick: @escaping @Sendable (Vault) throws -> [String]) -> CompletionKind {
        .custom { _, _, typed in
            guard let vault = openQuietly() else { return [] }
            return ((try? pick(vault)) ?? []).filter { $0.lowercased().hasPrefix(typed.lowercased()) }
        }
    }

    /// The vault, read-only, when a passphrase file is configured and it opens; `nil` otherwise, with nothing printed.
    static func openQuietly() -> Vault? {
        guard let file = ProcessInfo.processInfo.environment["PROFFER_PASSPHRASE_FILE"], !file.isEmpty,
            let options = try? VaultOptions.parse([]), let passphrase = try? Passphrase.read(fromFile: file)
        else { return nil }
        return try? Vault.open(
            at: options.resolvedPath, passphrase: passphrase, access: .readOnly, busyTimeout: options.busyTimeout)
    }

    static let openOffers = names { try $0.offers().filter { $0.state == .open }.map(\.name) }
    static let intents = names { try $0.intents().map(\.id.description) }
    static let deals = names { try $0.deals().map(\.id.description) }
    static let vendors = names { try $0.vendors().map(\.name) }
    static let personas = names { try $0.personas().map(\.name) }
    static let preferenceKeys = CompletionKind.list(
        DataCategory.allCases.map(\.rawValue) + AgentSetting.allCases.map(\.rawValue))
}
