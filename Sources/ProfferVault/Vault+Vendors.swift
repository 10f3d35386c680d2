import Foundation
import GRDB
import ProfferCrypto

extension Vault {
    /// Adds a vendor the person deals with.
    ///
    /// - Throws: ``VaultError`` when the name is taken or the URL is not an http(s) URL.
    public func addVendor(_ newVendor: Vendor) throws {
        var vendor = newVendor
        if vendor.identityLabel == nil {
            vendor.identityLabel = SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined()
        }
        try Vault.checkName(vendor.name, of: "vendor")
        guard let url = URL(string: vendor.baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            throw VaultError(
                .invalidInput("\"\(vendor.baseURL)\" is not a vendor URL: write it like https://shop.example/proffer"))
        }
        try write { db in
            let index = keys.blindIndex(vendor.name.lowercased(), in: "vendor")
            guard
                try Row.fetchOne(db, sql: "SELECT 1 FROM vendors WHERE name_index = ?", arguments: [Data(index)]) == nil
            else { throw VaultError(.duplicate(kind: "vendor", name: vendor.name)) }
            let id = SecureRandom.bytes(16)
            try db.execute(
                sql: "INSERT INTO vendors (id, name_index, sealed) VALUES (?, ?, ?)",
                arguments: [Data(id), Data(index), try seal(vendor, table: "vendors", id: id)])
        }
    }

    /// Replaces what is stored about the vendor of the same name.
    public func updateVendor(_ vendor: Vendor) throws {
        try write { db in
            let id = try vendorID(named: vendor.name, in: db)
            try db.execute(
                sql: "UPDATE vendors SET sealed = ? WHERE id = ?",
                arguments: [try seal(vendor, table: "vendors", id: id), Data(id)])
        }
    }

    /// Every vendor, by name.
    public func vendors() throws -> [Vendor] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, sealed FROM vendors").map { row in
                try open(Vendor.self, sealed: row["sealed"], table: "vendors", id: [UInt8](row["id"] as Data))
            }
        }.sorted { $0.name < $1.name }
    }

    /// The vendor named `name` (in any case).
    public func vendor(named name: String) throws -> Vendor {
        try read { db in
            let id = try vendorID(named: name, in: db)
            let sealed = try Data.fetchOne(db, sql: "SELECT sealed FROM vendors WHERE id = ?", arguments: [Data(id)])!
            return try open(Vendor.self, sealed: sealed, table: "vendors", id: id)
        }
    }

    /// Forgets a vendor.
    public func removeVendor(named name: String) throws {
        try write { db in
            try db.execute(
                sql: "DELETE FROM vendors WHERE id = ?", arguments: [Data(try vendorID(named: name, in: db))])
        }
    }

    private func vendorID(named name: String, in db: Database) throws -> [UInt8] {
        let index = keys.blindIndex(name.lowercased(), in: "vendor")
        guard
            let id = try Data.fetchOne(db, sql: "SELECT id FROM vendors WHERE name_index = ?", arguments: [Data(index)])
        else { throw VaultError(.noSuchRecord(kind: "vendor", name: "\(name) (see `proffer vendor list`)")) }
        return [UInt8](id)
    }
}
