import Foundation
import GRDB
import ProfferWire

extension Vault {
    /// Stores a preference for a persona. Keys that are data categories (`name`, `email`, `postal`, …) hold personal
    /// data with a sharing rule; other keys are ``AgentSetting``s.
    ///
    /// Setting or changing a sharing rule appends an entry to the audit chain, in the same transaction.
    ///
    /// - Parameters:
    ///   - value: The new value, checked for its category; `nil` keeps the stored value (to change only the rule).
    ///   - share: The sharing rule for personal data; `nil` keeps the current rule (`ask` for new data).
    /// - Throws: ``VaultError`` for an unknown key, a value that is not valid for its key, a sharing rule on a
    ///   setting, or neither a value nor a rule.
    public func setPreference(key rawKey: String, value newValue: String?, persona: String, share: SharingRule?) throws
    {
        let key = rawKey.lowercased()
        let category = DataCategory(rawValue: key)
        guard let value = try newValue ?? keptValue(key: key, persona: persona, share: share) else { return }
        let canonicalValue: String
        if let category {
            canonicalValue = try category.canonicalValue(value).get()
        } else if let setting = AgentSetting(rawValue: key) {
            guard share == nil else {
                throw VaultError(
                    .invalidInput("--share applies to personal data only; \(key) is a setting of the agent"))
            }
            guard !setting.isVaultWide || persona.lowercased() == Persona.defaultName else {
                throw VaultError(
                    .invalidInput("\(key) is a setting of the whole vault: set it without --persona"))
            }
            guard let canonical = setting.canonical(value) else {
                throw VaultError(
                    .invalidInput(
                        "\"\(value)\" is not a valid \(key)\(setting.nearestValid(to: value).map { " (did you mean \($0)?)" } ?? ""): "
                            + setting.summary))
            }
            canonicalValue = canonical
        } else {
            throw VaultError(.invalidInput(Vault.unknownKeyMessage(key)))
        }
        try write { transaction in
            try requirePersona(persona, in: transaction.reader)
            let existing = try fetchPreference(key: key, persona: persona, in: transaction.reader)
            let rule: SharingRule? = category == nil ? nil : share ?? existing?.record.share ?? .ask
            let preference = Preference(
                persona: existing?.record.persona ?? persona, key: key, value: canonicalValue, share: rule,
                updatedAt: Date())
            if var existing {
                existing.record = preference
                try transaction.update(existing)
            } else {
                try transaction.insert(preference, duplicateName: "\(key) for persona \(persona)")
            }
            if let category, let rule, rule != existing?.record.share {
                try transaction.appendAudit(
                    AuditEntry(
                        kind: .sharingRule, at: Date(), persona: preference.persona, categories: [category],
                        previousRule: existing?.record.share, rule: rule))
            }
        }
    }

    /// The stored value, when only the sharing rule changes.
    private func keptValue(key: String, persona: String, share: SharingRule?) throws -> String? {
        guard share != nil else {
            throw VaultError(.invalidInput("give a value for \(key), or --share RULE to change only its sharing rule"))
        }
        guard DataCategory(rawValue: key) != nil else {
            throw VaultError(.invalidInput("--share applies to personal data only; \(key) is a setting of the agent"))
        }
        guard let existing = try preference(key: key, persona: persona) else {
            throw VaultError(
                .invalidInput("\(key) is not set for persona \(persona): give its value, then the rule"))
        }
        return existing.value
    }

    /// The preference `key` of `persona`, or `nil` when none is set.
    ///
    /// - Throws: ``VaultError`` when the persona does not exist, or the record does not open.
    public func preference(key: String, persona: String) throws -> Preference? {
        try read { reader in
            try requirePersona(persona, in: reader)
            return try fetchPreference(key: key.lowercased(), persona: persona, in: reader)?.record
        }
    }

    /// Every preference that opens, or those of one persona, by persona and key.
    public func preferences(persona: String? = nil) throws -> [Preference] {
        if let persona { _ = try read { reader in try requirePersona(persona, in: reader) } }
        let preferences = try listAll(Preference.self, persona.map(Preference.ofPersona))
        return preferences.sorted { ($0.persona, $0.key) < ($1.persona, $1.key) }
    }

    /// Removes a preference; its sealed bytes are overwritten (`secure_delete`).
    ///
    /// - Throws: ``VaultError`` when no such preference is set.
    public func removePreference(key: String, persona: String) throws {
        try write { transaction in
            try requirePersona(persona, in: transaction.reader)
            guard let existing = try fetchPreference(key: key.lowercased(), persona: persona, in: transaction.reader)
            else { throw VaultError.noSuch(Preference.table.recordName, "\(key) for persona \(persona)") }
            try transaction.delete(existing)
            if let category = existing.record.dataCategory {
                try transaction.appendAudit(
                    AuditEntry(
                        kind: .preferenceRemoved, at: Date(), persona: existing.record.persona, categories: [category],
                        previousRule: existing.record.share))
            }
        }
    }

    /// The stored preference; the record's own persona and key are checked against what was asked for.
    private func fetchPreference(key: String, persona: String, in reader: RecordReader) throws -> Stored<Preference>? {
        let stored = try reader.one(Preference.key(key, persona: persona))
        if let stored, stored.record.key != key || stored.record.persona.lowercased() != persona.lowercased() {
            throw VaultError(.damaged([DamagedRecord(kind: "preference", id: stored.id).description]))
        }
        return stored
    }

    static func unknownKeyMessage(_ key: String) -> String {
        let categories = DataCategory.allCases.map(\.rawValue)
        let settings = AgentSetting.allCases.map(\.rawValue)
        let nearest =
            (DataCategory.meant(by: key)?.rawValue ?? Suggestions.nearest(to: key, among: settings))
            .map { "did you mean \($0)? " } ?? ""
        return "unknown preference \"\(key)\": \(nearest)personal data keys are \(categories.joined(separator: ", ")); "
            + "settings are \(settings.joined(separator: ", "))"
    }
}
