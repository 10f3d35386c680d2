import Foundation
import GRDB
import ProfferCrypto

/// What `proffer vault check` found: every problem, named, and what was counted.
public struct VaultCheckReport: Codable, Sendable {
    public struct TableCount: Codable, Sendable {
        public let table: String
        public let records: Int
    }

    /// Problems with the vault as a whole: rows deleted, added or replaced, the audit chain, the header, SQLite.
    public let problems: [String]
    /// Records that do not open.
    public let damagedRecords: [String]
    public let tables: [TableCount]
    public let auditEntries: Int
    /// How many writes the vault has committed.
    public let writeCounter: UInt64?

    public var isIntact: Bool { problems.isEmpty && damagedRecords.isEmpty }
}

extension Vault {
    /// Recomputes each table's count and commitment from its rows and compares them with the sealed state.
    ///
    /// Names the table and what happened: rows deleted or added, or a row replaced by an older or altered copy.
    func commitmentProblems(state: VaultState, reader: RecordReader) throws -> [String] {
        var problems: [String] = []
        for table in RecordTable.all {
            let expected = state.tables[table.position]
            // A table added to the code since the vault was written is made by its migration step; until then it is
            // empty, as the state says.
            if table.position >= state.tablesInFile, try !reader.db.tableExists(table.name) { continue }
            var commitment = Commitment()
            var count: Int64 = 0
            var unknownIDs = 0
            let rows = try Row.fetchCursor(reader.db, sql: "SELECT \(table.selectColumns) FROM \(table.name)")
            while let row = try rows.next() {
                let id = RecordReader.location(row, table).id
                if id >= expected.nextID || id < 1 { unknownIDs += 1 }
                commitment.add(try reader.sealer.element(ofRow: row, in: table))
                count += 1
            }
            let name = table.recordName
            if count < expected.count {
                let missing = expected.count - count
                problems.append(
                    "\(missing) \(name) record\(missing == 1 ? " is" : "s are") missing (deleted from the file)")
            } else if count > expected.count {
                let extra = count - expected.count
                problems.append(
                    "\(extra) \(name) record\(extra == 1 ? " was" : "s were") added that this vault never wrote")
            } else if commitment != expected.commitment {
                problems.append(
                    unknownIDs > 0
                        ? "a \(name) record was replaced by one this vault never wrote"
                        : "a \(name) record was replaced by an older, altered or swapped copy")
            }
        }
        return problems
    }

    /// Checks everything: SQLite's structure, the header, every table's commitment, every record, the audit chain.
    public func check() throws -> VaultCheckReport {
        var problems = try integrityCheck().filter { $0 != "ok" }.map { "SQLite: \($0)" }
        let state = try currentState()
        if state == nil {
            problems.append("the vault's sealed state (its commitment and audit head) is missing or altered")
        }
        if keys.identity == nil { problems.append("the identity seed in the vault's header does not authenticate") }
        var damaged: [String] = []
        var counts: [VaultCheckReport.TableCount] = []
        let audit = try read { reader -> (Int, (Int, String)?) in
            if let state { problems += try commitmentProblems(state: state, reader: reader) }
            for type in sealedRecordTypes {
                let (count, bad) = try checkRecords(type, reader: reader)
                counts.append(.init(table: type.table.name, records: count))
                damaged += bad
            }
            return try AuditChain.verify(reader.db, sealer: reader.sealer, state: state)
        }
        if let (entry, reason) = audit.1 { problems.append("the audit chain is broken at entry \(entry): \(reason)") }
        return VaultCheckReport(
            problems: problems, damagedRecords: damaged, tables: counts, auditEntries: audit.0,
            writeCounter: state?.writeCounter)
    }

    /// Opens every record of a type and checks that its lookup columns are what its contents say.
    private func checkRecords<Record: SealedRecord>(_ type: Record.Type, reader: RecordReader) throws -> (Int, [String])
    {
        let table = Record.table
        var damaged: [String] = []
        var count = 0
        let rows = try Row.fetchCursor(reader.db, sql: "SELECT \(table.selectColumns) FROM \(table.name) ORDER BY id")
        while let row = try rows.next() {
            count += 1
            let stored: Stored<Record>
            do {
                stored = try reader.open(Record.self, row: row)
            } catch let error as DamagedRecord {
                damaged.append(error.description)
                continue
            }
            if stored.record.lookupValues(reader.keys) != RecordReader.location(row, table).lookups {
                damaged.append("\(table.recordName) record #\(stored.id) is filed under another name than it holds")
            }
        }
        return (count, damaged)
    }
}
