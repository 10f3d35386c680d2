import Foundation
import GRDB
import ProfferCrypto

extension Vault {
    /// Adds a vendor the person deals with.
    ///
    /// - Throws: ``VaultError`` when the name is taken or the URL is not an http(s) URL.
    public func addVendor(_ newVendor: Vendor) throws {
        var vendor = newVendor
        if vendor.identityLabel == nil { vendor.identityLabel = Hex.hex(SecureRandom.bytes(16)) }
        try Vault.checkName(vendor.name, of: "vendor")
        guard let url = URL(string: vendor.baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            throw VaultError(
                .invalidInput("\"\(vendor.baseURL)\" is not a vendor URL: write it like https://shop.example/proffer"))
        }
        try write { transaction in try transaction.insert(vendor, duplicateName: vendor.name) }
    }

    /// Replaces what is stored about the vendor of the same name.
    public func updateVendor(_ vendor: Vendor) throws {
        try write { transaction in
            var stored = try fetchVendor(named: vendor.name, in: transaction.reader)
            stored.record = vendor
            try transaction.update(stored)
        }
    }

    /// Every vendor that opens, by name.
    public func vendors() throws -> [Vendor] {
        try listAll(Vendor.self).sorted { $0.name < $1.name }
    }

    /// The vendor named `name` (in any case).
    public func vendor(named name: String) throws -> Vendor {
        try read { reader in try fetchVendor(named: name, in: reader).record }
    }

    /// Forgets a vendor.
    public func removeVendor(named name: String) throws {
        try write { transaction in try transaction.delete(try fetchVendor(named: name, in: transaction.reader)) }
    }

    private func fetchVendor(named name: String, in reader: RecordReader) throws -> Stored<Vendor> {
        guard
            let stored = try reader.one(
                Vendor.self, where: "name_index", is: reader.keys.blindIndex(name.lowercased(), in: "vendor"))
        else { throw VaultError(.noSuchRecord(kind: "vendor", name: "\(name) (see `proffer vendor list`)")) }
        return stored
    }
}
