import Foundation
import GRDB

extension Vault {
    /// Adds a persona.
    ///
    /// - Throws: ``VaultError`` when the name is taken or not 1 to 64 letters, digits, `-`, `_` or `.`.
    public func addPersona(named name: String) throws {
        try Vault.checkName(name, of: "persona")
        try write { transaction in try insertPersona(named: name, in: transaction) }
    }

    func insertPersona(named name: String, in transaction: VaultTransaction) throws {
        try transaction.insert(Persona(name: name, createdAt: Date()), duplicateName: name)
    }

    /// Every persona that opens, by name.
    public func personas() throws -> [Persona] {
        try listAll(Persona.self).sorted { $0.name < $1.name }
    }

    /// Checks that a persona exists, inside a transaction.
    ///
    /// - Throws: ``VaultError`` naming `persona list` when it does not.
    func requirePersona(_ name: String, in reader: RecordReader) throws {
        guard try reader.one(Persona.self, where: "name_index", is: reader.keys.personaIndex(name)) != nil else {
            throw VaultError(.noSuchRecord(kind: "persona", name: "\(name) (see `proffer persona list`)"))
        }
    }

    /// Every record of a type that opens, in the order they were added; those that do not are named in
    /// ``damagedRecords``.
    func listAll<Record: SealedRecord>(_ type: Record.Type, where column: String? = nil, is value: [UInt8]? = nil)
        throws -> [Record]
    {
        let (records, damaged) = try read { reader in try reader.all(type, where: column, is: value) }
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
}
