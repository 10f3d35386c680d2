import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

/// A table of sealed records and what of it is stored in the clear: the record id, its version, and the lookup
/// columns (blind indexes). Everything else is inside `sealed`.
struct RecordTable: Hashable, Sendable {
    /// The SQL table; also bound into every record's associated data.
    let name: String
    /// The clear lookup columns, in the order ``SealedRecord/lookupValues(_:)`` gives them. The first is UNIQUE.
    let lookupColumns: [String]
    /// What one record is called in messages ("preference").
    let recordName: String
    /// `id, version, <lookup columns>, sealed`, the columns every statement reads or writes, in that order.
    let selectColumns: String
    let insertSQL: String
    let updateSQL: String
    /// The table's name and a 0 byte, as hashed into each record's commitment term.
    let nameBytes: [UInt8]

    init(name: String, lookupColumns: [String], recordName: String) {
        (self.name, self.lookupColumns, self.recordName) = (name, lookupColumns, recordName)
        selectColumns = (["id", "version"] + lookupColumns + ["sealed"]).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: lookupColumns.count + 3).joined(separator: ", ")
        insertSQL = "INSERT INTO \(name) (\(selectColumns)) VALUES (\(placeholders))"
        let assignments = (["version"] + lookupColumns + ["sealed"]).map { "\($0) = ?" }.joined(separator: ", ")
        updateSQL = "UPDATE \(name) SET \(assignments) WHERE id = ?"
        nameBytes = Array(name.utf8) + [0]
    }

    /// Every record table, in the order of ``sealedRecordTypes``.
    static let all: [RecordTable] = sealedRecordTypes.map { $0.table }
    private static let positions = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.name, $0) })

    /// Where the table's counters sit in ``VaultState/tables``: its place in ``sealedRecordTypes``.
    var position: Int { RecordTable.positions[name]! }
}

/// A kind of record the vault keeps sealed. Each type states its table and how its lookup columns are computed; one
/// generic layer (``RecordReader``, ``VaultTransaction``) fetches, inserts, updates and deletes all of them.
///
/// A new kind of record is one declaration (a type conforming here, added at the end of ``sealedRecordTypes``) and one
/// migration step that creates its table (``VaultMigration``); vaults made before it open and migrate.
protocol SealedRecord: Codable, Sendable {
    static var table: RecordTable { get }
    /// The values of the table's lookup columns for this record, in ``RecordTable/lookupColumns`` order.
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]]
}

/// Every record type, in the order their tables were added to the vault: a type's place here is its table's place in
/// the vault's sealed state, so a new one goes at the end. Export, import, re-keying and `vault check` loop over it,
/// so none can be forgotten.
let sealedRecordTypes: [any SealedRecord.Type] = [
    Persona.self, Preference.self, Vendor.self, StoredIntent.self, StoredOffer.self, StoredDeal.self, SeenReply.self,
]

/// How records of one type are found: one of its lookup columns and the value it holds there, and how a person names
/// what was looked for (for "no such …"). Each record type declares its lookups once, and computes its own lookup
/// values through them, so the two cannot drift apart.
struct RecordLookup<Record: SealedRecord> {
    let column: String
    let value: (VaultKeys) -> [UInt8]
    /// What was looked for, as a person names it ("cameras/v9a1b2c3").
    let name: String
}

extension Persona: SealedRecord {
    static let table = RecordTable(name: "personas", lookupColumns: ["name_index"], recordName: "persona")
    static func named(_ name: String) -> RecordLookup<Persona> {
        RecordLookup(column: "name_index", value: { $0.personaIndex(name) }, name: name)
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] { [Persona.named(name).value(keys)] }
}

extension Preference: SealedRecord {
    static let table = RecordTable(
        name: "preferences", lookupColumns: ["key_index", "persona_index"], recordName: "preference")
    static func key(_ key: String, persona: String) -> RecordLookup<Preference> {
        RecordLookup(
            column: "key_index", value: { $0.preferenceIndex(persona: persona, key: key) },
            name: "\(key) for persona \(persona)")
    }
    static func ofPersona(_ persona: String) -> RecordLookup<Preference> {
        RecordLookup(column: "persona_index", value: { $0.personaIndex(persona) }, name: "persona \(persona)")
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] {
        [Preference.key(key, persona: persona).value(keys), Preference.ofPersona(persona).value(keys)]
    }
}

extension Vendor: SealedRecord {
    static let table = RecordTable(name: "vendors", lookupColumns: ["name_index"], recordName: "vendor")
    static func named(_ name: String) -> RecordLookup<Vendor> {
        RecordLookup(column: "name_index", value: { $0.blindIndex(name.lowercased(), in: "vendor") }, name: name)
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] { [Vendor.named(name).value(keys)] }
}

extension StoredIntent: SealedRecord {
    static let table = RecordTable(name: "intents", lookupColumns: ["message_index"], recordName: "intent")
    static func withID(_ id: MessageID) -> RecordLookup<StoredIntent> {
        RecordLookup(
            column: "message_index", value: { $0.blindIndex(id.description, in: "intent") }, name: id.description)
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] { [StoredIntent.withID(id).value(keys)] }
}

extension StoredOffer: SealedRecord {
    static let table = RecordTable(
        name: "offers", lookupColumns: ["offer_index", "intent_index"], recordName: "offer")
    /// The offer kept under (vendor, id) (PROTOCOL.md §4.1): the blind index over the vendor's label and the id.
    static func withKey(_ key: OfferKey) -> RecordLookup<StoredOffer> {
        RecordLookup(
            column: "offer_index",
            value: { $0.blindIndex((key.vendorLabel ?? key.vendor) + "/" + key.id.description, in: "offer") },
            name: "\(key.vendor)/\(key.id)")
    }
    /// The offers answering one intent.
    static func answering(_ intent: MessageID) -> RecordLookup<StoredOffer> {
        RecordLookup(
            column: "intent_index", value: { $0.blindIndex(intent.description, in: "intent") },
            name: "intent \(intent)")
    }
    /// The index an offer had before offers were kept by vendor: its id alone. Offers stored then keep it until the
    /// vault's migration (``VaultMigration/offersKeptByVendor``) labels them, so a vault of that version still checks
    /// intact when opened read-only.
    static func unlabelled(_ id: MessageID) -> RecordLookup<StoredOffer> {
        RecordLookup(column: "offer_index", value: { $0.blindIndex(id.description, in: "offer") }, name: id.description)
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] {
        [
            (vendorLabel == nil ? StoredOffer.unlabelled(id) : StoredOffer.withKey(key)).value(keys),
            StoredOffer.answering(intentID).value(keys),
        ]
    }
}

extension StoredDeal: SealedRecord {
    static let table = RecordTable(name: "deals", lookupColumns: ["deal_index"], recordName: "deal")
    static func withID(_ id: MessageID) -> RecordLookup<StoredDeal> {
        RecordLookup(column: "deal_index", value: { $0.blindIndex(id.description, in: "deal") }, name: id.description)
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] { [StoredDeal.withID(id).value(keys)] }
}

extension SeenReply: SealedRecord {
    static let table = RecordTable(name: "seen_replies", lookupColumns: ["token"], recordName: "seen reply")
    static func withToken(_ token: [UInt8]) -> RecordLookup<SeenReply> {
        RecordLookup(column: "token", value: { _ in token }, name: "a reply")
    }
    func lookupValues(_ keys: VaultKeys) -> [[UInt8]] { [token] }
}

/// A record as stored: its row id, its version (1 when inserted, one more at every update) and the record.
struct Stored<Record: SealedRecord> {
    let id: Int64
    let version: Int64
    var record: Record
}

/// A record that does not open: altered, moved, swapped or forged on disk. Other records are unaffected.
public struct DamagedRecord: Error, Hashable, Sendable, CustomStringConvertible {
    /// The table's record name ("preference").
    public let kind: String
    /// The row id.
    public let id: Int64

    public var description: String {
        "\(kind) record #\(id) does not authenticate: it was altered, moved, swapped or forged on disk"
    }
}

/// Seals and opens records with the vault's keys, binding each to where it lives.
struct RecordSealer {
    let keys: VaultKeys
    let vaultID: [UInt8]

    static let associatedDataLabel = Array("proffer-vault-record".utf8)

    /// Associated data: label ‖ format ‖ vault id ‖ table ‖ 0 ‖ id ‖ version ‖ each lookup value, length-prefixed.
    /// A payload moved to another row, table, version or lookup value fails to open.
    func associatedData(_ table: RecordTable, id: Int64, version: Int64, lookups: [[UInt8]]) -> [UInt8] {
        var data = RecordSealer.associatedDataLabel
        data.reserveCapacity(96 + lookups.count * 33)
        data += withUnsafeBytes(of: UInt32(VaultSchema.formatVersion).bigEndian, Array.init)
        data += vaultID
        data += table.name.utf8
        data.append(0)
        data += withUnsafeBytes(of: id.bigEndian, Array.init)
        data += withUnsafeBytes(of: version.bigEndian, Array.init)
        for value in lookups {
            data.append(UInt8(value.count))
            data += value
        }
        return data
    }

    func seal<Record: SealedRecord>(_ record: Record, id: Int64, version: Int64, lookups: [[UInt8]]) throws -> [UInt8] {
        var plain = try RecordSealer.encode(record)
        defer { wipe(&plain) }
        return seal(plain: plain, table: Record.table, id: id, version: version, lookups: lookups)
    }

    func seal(plain: [UInt8], table: RecordTable, id: Int64, version: Int64, lookups: [[UInt8]]) -> [UInt8] {
        var padded = Padding.pad(plain, blockSize: RecordSealer.bucket(for: plain.count))
        defer { wipe(&padded) }
        return AEAD.seal(
            padded, key: keys.records,
            associatedData: associatedData(table, id: id, version: version, lookups: lookups))
    }

    /// Opens a row's payload.
    ///
    /// - Throws: ``DamagedRecord`` when it does not authenticate or does not decode.
    func open<Record: SealedRecord>(
        _ type: Record.Type, sealed: UnsafeRawBufferPointer, id: Int64, version: Int64, lookups: [[UInt8]]
    ) throws(DamagedRecord) -> Record {
        let damaged = DamagedRecord(kind: Record.table.recordName, id: id)
        do {
            return try openPlain(sealed, table: Record.table, id: id, version: version, lookups: lookups) { plain in
                if let readable = Record.self as? any SealedJSONReadable.Type,
                    let record = plain.withUnsafeBytes({ readable.readSealedJSON($0) }) as? Record
                {
                    return record
                }
                return try Vault.decoder.decode(Record.self, from: plain)
            }
        } catch {
            throw damaged
        }
    }

    /// Decrypts into a buffer that is wiped afterwards, and hands `body` the unpadded plaintext.
    func openPlain<T>(
        _ sealed: UnsafeRawBufferPointer, table: RecordTable, id: Int64, version: Int64, lookups: [[UInt8]],
        _ body: (Data) throws -> T
    ) throws -> T {
        var padded = try AEAD.open(
            sealed, key: keys.records,
            associatedData: associatedData(table, id: id, version: version, lookups: lookups))
        defer { wipe(&padded) }
        return try padded.withUnsafeMutableBytes { bytes in
            let length = try Padding.unpaddedLength(UnsafeRawBufferPointer(bytes), blockSize: bytes.count)
            return try body(Data(bytesNoCopy: bytes.baseAddress!, count: length, deallocator: .none))
        }
    }

    /// The record's contribution to its table's commitment: a keyed hash of where it lives and its ciphertext.
    func element(_ table: RecordTable, id: Int64, version: Int64, lookups: [[UInt8]], sealed: UnsafeRawBufferPointer)
        -> [UInt8]
    {
        var hasher = KeyedHasher(key: keys.commitment)
        hasher.update(table.nameBytes)
        hasher.update(bigEndian: UInt64(bitPattern: id))
        hasher.update(bigEndian: UInt64(bitPattern: version))
        for value in lookups {
            hasher.update([UInt8(value.count)])
            hasher.update(value)
        }
        hasher.update(sealed)
        return hasher.finalize()
    }

    /// The commitment term of a row as stored: its id, version and lookup values (a missing `sealed` hashes as empty).
    func element(ofRow row: Row, in table: RecordTable) throws -> [UInt8] {
        let (id, version, lookups) = RecordReader.location(row, table)
        return try row.withUnsafeData(atIndex: 2 + lookups.count) { data in
            (data ?? Data()).withUnsafeBytes { element(table, id: id, version: version, lookups: lookups, sealed: $0) }
        }
    }

    /// Every sealed payload is padded to one of these sizes, shared by all record types, so a record's type cannot
    /// be read from its length: 256 bytes, then each power of two and the size halfway to the next (384, 512, 768,
    /// 1024, …), so padding costs at most a third of a record, not half.
    static func bucket(for plainCount: Int) -> Int {
        var size = 256
        while size < plainCount + 1 {
            size = size & (size - 1) == 0 ? size + size / 2 : size / 3 * 4
        }
        return size
    }

    static func encode<Record: Encodable>(_ record: Record) throws -> [UInt8] {
        if let writable = record as? any SealedJSONWritable {
            var plain: [UInt8] = []
            plain.reserveCapacity(512)
            writable.writeSealedJSON(to: &plain)
            return plain
        }
        return [UInt8](try Vault.encoder.encode(record))
    }
}

/// Reads sealed records inside a transaction.
struct RecordReader {
    let db: Database
    let sealer: RecordSealer
    var keys: VaultKeys { sealer.keys }

    /// The record `lookup` finds, or `nil`.
    ///
    /// - Throws: ``VaultError`` naming the record when it does not open, or when what it holds is not what was
    ///   asked for (its own lookup value differs).
    func one<Record: SealedRecord>(_ lookup: RecordLookup<Record>) throws -> Stored<Record>? {
        let table = Record.table
        let (column, value) = (lookup.column, lookup.value(keys))
        guard let position = table.lookupColumns.firstIndex(of: column) else {
            preconditionFailure("\(table.name) has no lookup column \(column)")
        }
        let statement = try db.cachedStatement(
            sql: "SELECT \(table.selectColumns) FROM \(table.name) WHERE \(column) = ? LIMIT 1")
        guard let row = try Row.fetchOne(statement, arguments: [Data(value)]) else { return nil }
        let stored: Stored<Record>
        do {
            stored = try open(Record.self, row: row)
        } catch let damaged as DamagedRecord {
            throw VaultError(.damaged([damaged.description]))
        }
        guard stored.record.lookupValues(keys)[position] == value else {
            throw VaultError(.damaged([DamagedRecord(kind: table.recordName, id: stored.id).description]))
        }
        return stored
    }

    /// The record `lookup` finds.
    ///
    /// - Throws: ``VaultError`` (`noSuchRecord`, naming what was looked for and, with `listedBy`, the command that
    ///   lists what there is) when there is none; as ``one(_:)`` otherwise.
    /// With `suggesting`, a name that finds nothing is answered with the nearest name there is ("did you mean").
    func require<Record: SealedRecord>(
        _ lookup: RecordLookup<Record>, listedBy command: String? = nil, suggesting name: ((Record) -> String)? = nil
    ) throws -> Stored<Record> {
        if let stored = try one(lookup) { return stored }
        if let name, let command {
            let names = try all(Record.self).records.map { name($0.record) }
            throw VaultError.noSuch(
                Record.table.recordName, Vault.missingName(lookup.name, among: names, list: command))
        }
        throw VaultError.noSuch(Record.table.recordName, lookup.name, listedBy: command)
    }

    /// Every record of a type, or those `lookup` finds, in the order they were added; and the
    /// rows that do not open.
    func all<Record: SealedRecord>(_ type: Record.Type, _ lookup: RecordLookup<Record>? = nil) throws
        -> (records: [Stored<Record>], damaged: [DamagedRecord])
    {
        let table = Record.table
        var sql = "SELECT \(table.selectColumns) FROM \(table.name)"
        var arguments: StatementArguments = []
        if let lookup {
            sql += " WHERE \(lookup.column) = ?"
            arguments = [Data(lookup.value(keys))]
        }
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql + " ORDER BY id"), arguments: arguments)
        var records: [Stored<Record>] = []
        var damaged: [DamagedRecord] = []
        while let row = try rows.next() {
            do {
                records.append(try open(Record.self, row: row))
            } catch let error as DamagedRecord {
                damaged.append(error)
            }
        }
        return (records, damaged)
    }

    /// Opens one row read with ``RecordTable/selectColumns``.
    ///
    /// - Throws: ``DamagedRecord`` when it does not authenticate or decode.
    func open<Record: SealedRecord>(_ type: Record.Type, row: Row) throws -> Stored<Record> {
        let (id, version, lookups) = RecordReader.location(row, Record.table)
        let record: Record = try row.withUnsafeData(atIndex: 2 + lookups.count) { data throws -> Record in
            guard let data else { throw DamagedRecord(kind: Record.table.recordName, id: id) }
            return try data.withUnsafeBytes { bytes throws(DamagedRecord) in
                try sealer.open(Record.self, sealed: bytes, id: id, version: version, lookups: lookups)
            }
        }
        return Stored(id: id, version: version, record: record)
    }

    /// A row's id, version and lookup values.
    static func location(_ row: Row, _ table: RecordTable) -> (id: Int64, version: Int64, lookups: [[UInt8]]) {
        let lookups = (0..<table.lookupColumns.count).map { index -> [UInt8] in
            (row[2 + index] as Data?).map { [UInt8]($0) } ?? []
        }
        return (row[0] as Int64? ?? 0, row[1] as Int64? ?? 0, lookups)
    }
}

/// One write transaction: the generic insert, update and delete, each keeping the vault state's counters and
/// commitment current, so the header can be rewritten once at the end.
final class VaultTransaction {
    let db: Database
    let reader: RecordReader
    var state: VaultState
    private(set) var changed = false
    var keys: VaultKeys { reader.keys }
    private var sealer: RecordSealer { reader.sealer }

    init(db: Database, sealer: RecordSealer, state: VaultState) {
        self.db = db
        self.reader = RecordReader(db: db, sealer: sealer)
        self.state = state
    }

    /// Notes a change made outside the generic operations (an audit entry), so the state is rewritten.
    func markChanged() { changed = true }

    /// Stores a new record under a fresh id.
    ///
    /// - Returns: The new record's row id.
    /// - Throws: ``VaultError`` when its first lookup value is taken (a duplicate name or id).
    @discardableResult
    func insert<Record: SealedRecord>(_ record: Record, duplicateName: @autoclosure () -> String) throws -> Int64 {
        let table = Record.table
        let id = state.tables[table.position].nextID
        let lookups = record.lookupValues(keys)
        let sealed = try sealer.seal(record, id: id, version: 1, lookups: lookups)
        let statement = try db.cachedStatement(sql: table.insertSQL)
        do {
            var row: [RecordRowValue] = [.integer(id), .integer(1)]
            row.reserveCapacity(lookups.count + 3)
            for value in lookups { row.append(.blob(value)) }
            row.append(.blob(sealed))
            try statement.executeRecordRow(row)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw VaultError(.duplicate(kind: table.recordName, name: duplicateName()))
        }
        let element = sealed.withUnsafeBytes { sealer.element(table, id: id, version: 1, lookups: lookups, sealed: $0) }
        state.tables[table.position].nextID += 1
        state.tables[table.position].count += 1
        state.tables[table.position].commitment.add(element)
        changed = true
        return id
    }

    /// Writes a changed record over its row, one version later.
    @discardableResult
    func update<Record: SealedRecord>(_ stored: Stored<Record>) throws -> Stored<Record> {
        let table = Record.table
        try removeFromCommitment(table, id: stored.id, expectedVersion: stored.version)
        let version = stored.version + 1
        let lookups = stored.record.lookupValues(keys)
        let sealed = try sealer.seal(stored.record, id: stored.id, version: version, lookups: lookups)
        try db.cachedStatement(sql: table.updateSQL).executeRecordRow(
            [.integer(version)] + lookups.map(RecordRowValue.blob) + [.blob(sealed), .integer(stored.id)])
        let element = sealed.withUnsafeBytes {
            sealer.element(table, id: stored.id, version: version, lookups: lookups, sealed: $0)
        }
        state.tables[table.position].count += 1
        state.tables[table.position].commitment.add(element)
        changed = true
        return Stored(id: stored.id, version: version, record: stored.record)
    }

    /// Deletes a record; its bytes are overwritten on disk (`secure_delete`).
    func delete<Record: SealedRecord>(_ stored: Stored<Record>) throws {
        let table = Record.table
        try removeFromCommitment(table, id: stored.id, expectedVersion: stored.version)
        try db.cachedStatement(sql: "DELETE FROM \(table.name) WHERE id = ?").execute(arguments: [stored.id])
        changed = true
    }

    /// Takes a row's current contribution out of its table's commitment and count.
    private func removeFromCommitment(_ table: RecordTable, id: Int64, expectedVersion: Int64) throws {
        let statement = try db.cachedStatement(sql: "SELECT \(table.selectColumns) FROM \(table.name) WHERE id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [id]) else {
            throw VaultError(.damaged(["\(table.recordName) record #\(id) vanished during the write"]))
        }
        guard RecordReader.location(row, table).version == expectedVersion else {
            throw VaultError(.damaged(["\(table.recordName) record #\(id) changed during the write"]))
        }
        state.tables[table.position].count -= 1
        state.tables[table.position].commitment.subtract(try sealer.element(ofRow: row, in: table))
    }
}
