import GRDB
import GRDBSQLite

/// A value of a record row: its id and version, or a lookup value or sealed payload.
enum RecordRowValue {
    case integer(Int64)
    case blob([UInt8])
}

extension Statement {
    /// Binds a record row's values straight to the prepared statement and runs it.
    ///
    /// GRDB's `StatementArguments` boxes each value in an existential and converts every blob to `Data`: a third of
    /// the processor time of storing an intent. The statement is still run, and its errors reported, by GRDB.
    func executeRecordRow(_ values: [RecordRowValue]) throws {
        // Marks the (empty) arguments as bound, so `execute()` keeps the bindings made here.
        setUncheckedArguments(StatementArguments())
        let handle = sqliteStatement
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch value {
            case .integer(let number):
                code = sqlite3_bind_int64(handle, position, number)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { buffer in
                    // SQLITE_TRANSIENT: SQLite copies the bytes, so they need not outlive this call.
                    sqlite3_bind_blob(
                        handle, position, buffer.baseAddress, Int32(buffer.count),
                        unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                }
            }
            guard code == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "could not bind a value")
            }
        }
        try execute()
    }
}
