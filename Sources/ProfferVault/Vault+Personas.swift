import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

extension Vault {
    /// Adds a persona.
    ///
    /// - Throws: ``VaultError`` when the name is taken or not 1 to 64 letters, digits, `-`, `_` or `.`.
    public func addPersona(named name: String) throws {
        try Vault.checkName(name, of: "persona")
        try write { transaction in try insertPersona(named: name, in: transaction) }
    }

    /// Inserts a persona. The default persona made by `init` keeps deriving its keys from its name (as vaults always
    /// did); every other persona gets a random label, so a later persona of a renamed one's old name gets new keys.
    func insertPersona(named name: String, in transaction: VaultTransaction) throws {
        let label = name == Persona.defaultName ? nil : Hex.encode(SecureRandom.bytes(16))
        try transaction.insert(Persona(name: name, createdAt: Date(), identityLabel: label), duplicateName: name)
    }

    /// The persona named `name` (in any case).
    public func persona(named name: String) throws -> Persona {
        try read { reader in try fetchPersona(name, in: reader).record }
    }

    /// Renames a persona, and every preference, intent and deal of it, in one transaction. Its pairwise keys stay
    /// the same, so vendors still recognise it; audit entries keep the name they were written with.
    ///
    /// - Throws: ``VaultError`` when `old` does not exist, `new` is taken or not a valid name, or `old` is the
    ///   default persona (commands use it when no `--persona` is given).
    public func renamePersona(_ old: String, to new: String) throws {
        try Vault.checkName(new, of: "persona")
        guard old.lowercased() != Persona.defaultName else {
            throw VaultError(
                .invalidInput("the default persona keeps its name: commands use it when no --persona is given"))
        }
        try write { transaction in
            var persona = try fetchPersona(old, in: transaction.reader)
            let before = persona.record
            let oldName = before.name
            if old.lowercased() != new.lowercased(),
                try transaction.reader.one(Persona.named(new)) != nil
            {
                throw VaultError(.duplicate(kind: "persona", name: new))
            }
            persona.record.identityLabel = persona.record.keyLabel
            persona.record.name = new
            try transaction.update(persona)
            for var preference in try transaction.reader.all(Preference.self, Preference.ofPersona(oldName)).records {
                preference.record.persona = new
                try transaction.update(preference)
            }
            for var intent in try transaction.reader.all(StoredIntent.self).records
            where intent.record.persona == oldName {
                intent.record.persona = new
                try transaction.update(intent)
            }
            // Only this persona's deals: one of a persona removed before, of the same name, keeps its own.
            for var deal in try transaction.reader.all(StoredDeal.self).records
            where deal.record.wasMade(by: before) {
                deal.record.persona = new
                try transaction.update(deal)
            }
        }
    }

    /// What vendors may still hold of what was disclosed under a persona (deals not forgotten, lost records
    /// included).
    public func dataHeld(underPersona name: String) throws -> [HeldDisclosure] {
        try read { reader in
            let persona = try fetchPersona(name, in: reader)
            return try Vault.dealsHoldingData(in: reader) { _, dealPersona in dealPersona == persona.record.name }
        }
    }

    /// Removes a persona and its preferences. Intents and deals keep its name as history, and its deals keep the
    /// label its key is derived from, so `deal forget` can still be signed as it.
    ///
    /// - Parameter force: Remove it even though vendors may hold its data.
    /// - Throws: ``VaultError`` when it is the default persona, or a vendor may still hold data disclosed under it
    ///   (a deal not forgotten), unless `force`.
    public func removePersona(named name: String, force: Bool = false) throws {
        guard name.lowercased() != Persona.defaultName else {
            throw VaultError(.invalidInput("the default persona cannot be removed: commands use it by default"))
        }
        try write { transaction in
            let persona = try fetchPersona(name, in: transaction.reader)
            let holding = try Vault.dealsHoldingData(in: transaction.reader) { _, dealPersona in
                dealPersona == persona.record.name
            }
            guard force || holding.isEmpty else {
                throw VaultError(
                    .refused(
                        "vendors may still hold data of persona \(persona.record.name): \(Vault.describe(holding)). Ask "
                            + "them to forget it first (`proffer deal forget DEAL`), or pass --force to remove it "
                            + "anyway: `proffer deal forget DEAL` still works for its deals afterwards"))
            }
            let removedAt = Date()
            for preference in try transaction.reader.all(Preference.self, Preference.ofPersona(persona.record.name))
                .records
            {
                try transaction.delete(preference)
                // Each sharing rule that goes is logged as `pref rm` logs it: the log shows every rule's end.
                if let category = preference.record.dataCategory {
                    try transaction.appendAudit(
                        AuditEntry(
                            kind: .preferenceRemoved, at: removedAt, persona: persona.record.name,
                            categories: [category], previousRule: preference.record.share,
                            note: "persona \(persona.record.name) removed"))
                }
            }
            try transaction.delete(persona)
            // Its intents and deals keep it in their history under a name no persona can take.
            let removed = RemovedName.of(persona.record.name)
            for var intent in try transaction.reader.all(StoredIntent.self).records
            where intent.record.persona == persona.record.name {
                intent.record.persona = removed
                try transaction.update(intent)
            }
            for var deal in try transaction.reader.all(StoredDeal.self).records
            where deal.record.wasMade(by: persona.record) {
                deal.record.persona = removed
                try transaction.update(deal)
            }
        }
    }

    private func fetchPersona(_ name: String, in reader: RecordReader) throws -> Stored<Persona> {
        try reader.require(Persona.named(name), listedBy: "persona list", suggesting: \.name)
    }

    /// Every persona that opens, by name.
    public func personas() throws -> [Persona] {
        try listAll(Persona.self).sorted { $0.name < $1.name }
    }

    /// Checks that a persona exists, inside a transaction.
    ///
    /// - Throws: ``VaultError`` naming `persona list` when it does not.
    func requirePersona(_ name: String, in reader: RecordReader) throws {
        _ = try fetchPersona(name, in: reader)
    }

    /// Every record of a type that opens, in the order they were added; those that do not are named in
    /// ``damagedRecords``.
    func listAll<Record: SealedRecord>(_ type: Record.Type) throws -> [Record] { try listAll(type, nil) }

    /// ``listAll(_:)``, of those `lookup` finds.
    func listAll<Record: SealedRecord>(_ type: Record.Type, _ lookup: RecordLookup<Record>?) throws -> [Record] {
        let (records, damaged) = try read { reader in try reader.all(type, lookup) }
        noteDamage(damaged)
        return records.map(\.record)
    }

    static func checkName(_ name: String, of kind: String) throws {
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "-_.".unicodeScalars.contains($0)
        }
        guard (1...64).contains(name.count), allowed else {
            throw VaultError(.invalidInput("a \(kind) name is 1 to 64 letters, digits, -, _ or ., not \"\(name)\""))
        }
    }

    /// "nam (did you mean name?)" or "nam (see `proffer LIST`)", for a name that matches nothing.
    static func missingName(_ name: String, among names: [String], list: String) -> String {
        let lowercased = names.map { $0.lowercased() }
        let starting = lowercased.filter { $0.hasPrefix(name.lowercased()) }
        if let nearest = starting.count == 1
            ? starting[0] : Suggestions.nearest(to: name.lowercased(), among: lowercased)
        {
            return "\(name) (did you mean \(nearest)?)"
        }
        return "\(name) (see `proffer \(list)`)"
    }
}
