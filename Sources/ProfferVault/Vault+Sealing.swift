import Foundation
import GRDB
import ProfferCrypto

extension Vault {
    /// Records are padded to a multiple of this, so their sizes say little about their contents.
    static let paddingBlockSize = 64

    /// Encodes, pads and seals a payload for one row of one table.
    func seal(_ payload: some Encodable, table: String, id: [UInt8]) throws -> Data {
        var plain = [UInt8](try Vault.encoder.encode(payload))
        defer { wipe(&plain) }
        var padded = Padding.pad(plain, blockSize: Vault.paddingBlockSize)
        defer { wipe(&padded) }
        let binding = associatedData(table: table, recordID: id, formatVersion: VaultSchema.formatVersion)
        return Data(AEAD.seal(padded, key: keys.records, associatedData: binding))
    }

    /// Opens one row's payload; a payload altered or moved from another row or table fails, naming the record.
    func open<T: Decodable>(_ type: T.Type, sealed: Data, table: String, id: [UInt8]) throws -> T {
        let binding = associatedData(table: table, recordID: id, formatVersion: VaultSchema.formatVersion)
        do {
            // Decrypted straight from the row's bytes and decoded from the unpadded prefix: one copy, then wiped.
            var padded = try sealed.withUnsafeBytes { try AEAD.open($0, key: keys.records, associatedData: binding) }
            defer { wipe(&padded) }
            return try padded.withUnsafeMutableBytes { bytes in
                let length = try Padding.unpaddedLength(
                    UnsafeRawBufferPointer(bytes), blockSize: Vault.paddingBlockSize)
                let plain = Data(bytesNoCopy: bytes.baseAddress!, count: length, deallocator: .none)
                return try Vault.decoder.decode(T.self, from: plain)
            }
        } catch {
            throw VaultError(.tampered(record: Vault.describeRecord(table: table, id: id)))
        }
    }

    static func describeRecord(table: String, id: [UInt8]) -> String {
        let singular = table.hasSuffix("s") ? String(table.dropLast()) : table
        return "the \(singular) record \(id.prefix(4).map { String(format: "%02x", $0) }.joined())"
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
