import Foundation
import GRDB
import ProfferCrypto

extension Vault {
    /// Adds a persona.
    ///
    /// - Throws: ``VaultError`` when the name is taken or not 1 to 64 letters, digits, `-`, `_` or `.`.
    public func addPersona(named name: String) throws {
        try Vault.checkName(name, of: "persona")
        try write { db in try insertPersona(named: name, in: db) }
    }

    @discardableResult
    func insertPersona(named name: String, in db: Database) throws -> [UInt8] {
        let index = keys.blindIndex(name.lowercased(), in: "persona")
        guard try Row.fetchOne(db, sql: "SELECT 1 FROM personas WHERE name_index = ?", arguments: [Data(index)]) == nil
        else { throw VaultError(.duplicate(kind: "persona", name: name)) }
        let id = SecureRandom.bytes(16)
        let sealed = try seal(Persona(name: name, createdAt: Date()), table: "personas", id: id)
        try db.execute(
            sql: "INSERT INTO personas (id, name_index, sealed) VALUES (?, ?, ?)",
            arguments: [Data(id), Data(index), sealed])
        return id
    }

    /// Every persona, by name.
    public func personas() throws -> [Persona] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, sealed FROM personas").map { row in
                try open(Persona.self, sealed: row["sealed"], table: "personas", id: [UInt8](row["id"] as Data))
            }
        }.sorted { $0.name < $1.name }
    }

    /// The id of the persona named `name`.
    func personaID(named name: String, in db: Database) throws -> [UInt8] {
        let index = keys.blindIndex(name.lowercased(), in: "persona")
        guard
            let id = try Data.fetchOne(
                db, sql: "SELECT id FROM personas WHERE name_index = ?", arguments: [Data(index)])
        else { throw VaultError(.noSuchRecord(kind: "persona", name: "\(name) (see `proffer persona list`)")) }
        return [UInt8](id)
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
