import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

extension Vault {
    /// Stores a preference for a persona. Keys that are data categories (`name`, `email`, `postal`, …) hold personal
    /// data with a sharing rule; other keys are ``AgentSetting``s.
    ///
    /// Setting or changing a sharing rule appends an entry to the audit chain, in the same transaction.
    ///
    /// - Parameter share: The sharing rule for personal data; `nil` keeps the current rule (`ask` for new data).
    /// - Throws: ``VaultError`` for an unknown key, a value that is not valid for its key, or a sharing rule on a
    ///   setting.
    public func setPreference(key rawKey: String, value: String, persona: String, share: SharingRule?) throws {
        let key = rawKey.lowercased()
        let canonicalValue: String
        if DataCategory(rawValue: key) != nil {
            guard !value.isEmpty, value.count <= 1000 else {
                throw VaultError(.invalidInput("a value for \(key) is 1 to 1000 characters"))
            }
            canonicalValue = value
        } else if let setting = AgentSetting(rawValue: key) {
            guard share == nil else {
                throw VaultError(
                    .invalidInput("--share applies to personal data only; \(key) is a setting of the agent"))
            }
            guard let canonical = setting.canonical(value) else {
                throw VaultError(.invalidInput("\"\(value)\" is not a valid \(key): \(setting.summary)"))
            }
            canonicalValue = canonical
        } else {
            throw VaultError(.invalidInput(Vault.unknownKeyMessage(key)))
        }
        try write { db in
            let personaID = try personaID(named: persona, in: db)
            let index = preferenceIndex(personaID: personaID, key: key)
            let existing = try existingPreference(index: index, in: db)
            let rule: SharingRule? =
                DataCategory(rawValue: key) == nil ? nil : share ?? existing?.preference.share ?? .ask
            let id = existing?.id ?? SecureRandom.bytes(16)
            let preference = Preference(
                persona: persona, key: key, value: canonicalValue, share: rule, updatedAt: Date())
            let sealed = try seal(preference, table: "preferences", id: id)
            try db.execute(
                sql: """
                    INSERT INTO preferences (id, key_index, persona_id, sealed) VALUES (?, ?, ?, ?)
                    ON CONFLICT(key_index) DO UPDATE SET sealed = excluded.sealed
                    """,
                arguments: [Data(id), Data(index), Data(personaID), sealed])
            if let rule, rule != existing?.preference.share {
                try appendAudit(
                    AuditEntry(
                        kind: .sharingRule, at: Date(), persona: persona, categories: [key],
                        previousRule: existing?.preference.share, rule: rule),
                    in: db)
            }
        }
    }

    /// The preference `key` of `persona`, or `nil` when none is set.
    public func preference(key: String, persona: String) throws -> Preference? {
        try read { db in
            let index = preferenceIndex(personaID: try personaID(named: persona, in: db), key: key.lowercased())
            return try existingPreference(index: index, in: db)?.preference
        }
    }

    /// Every preference, or those of one persona, by persona and key.
    public func preferences(persona: String? = nil) throws -> [Preference] {
        try read { db in
            var sql = "SELECT id, sealed FROM preferences"
            var arguments: StatementArguments = []
            if let persona {
                sql += " WHERE persona_id = ?"
                arguments = [Data(try personaID(named: persona, in: db))]
            }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                try open(Preference.self, sealed: row["sealed"], table: "preferences", id: [UInt8](row["id"] as Data))
            }
        }.sorted { ($0.persona, $0.key) < ($1.persona, $1.key) }
    }

    /// Removes a preference; its sealed bytes are overwritten (`secure_delete`).
    ///
    /// - Throws: ``VaultError`` when no such preference is set.
    public func removePreference(key: String, persona: String) throws {
        try write { db in
            let index = preferenceIndex(personaID: try personaID(named: persona, in: db), key: key.lowercased())
            try db.execute(sql: "DELETE FROM preferences WHERE key_index = ?", arguments: [Data(index)])
            guard db.changesCount > 0 else {
                throw VaultError(.noSuchRecord(kind: "preference", name: "\(key) for persona \(persona)"))
            }
        }
    }

    private func preferenceIndex(personaID: [UInt8], key: String) -> [UInt8] {
        keys.blindIndex(personaID.map { String(format: "%02x", $0) }.joined() + ":" + key, in: "preference")
    }

    private func existingPreference(index: [UInt8], in db: Database) throws -> (id: [UInt8], preference: Preference)? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, sealed FROM preferences WHERE key_index = ?", arguments: [Data(index)])
        else { return nil }
        let id = [UInt8](row["id"] as Data)
        return (id, try open(Preference.self, sealed: row["sealed"], table: "preferences", id: id))
    }

    static func unknownKeyMessage(_ key: String) -> String {
        let categories = DataCategory.allCases.map(\.rawValue)
        let settings = AgentSetting.allCases.map(\.rawValue)
        return "unknown preference \"\(key)\": personal data keys are \(categories.joined(separator: ", ")); "
            + "settings are \(settings.joined(separator: ", "))"
    }
}
