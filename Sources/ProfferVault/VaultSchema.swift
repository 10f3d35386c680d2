import GRDB

/// The vault's tables. `schema/vault.sql` states the same schema, and a test keeps the two equal.
///
/// In the clear: the header's KDF parameters and sealed blobs, and per record a row id (never reused), a version
/// (how often it changed), blind-index tokens and ciphertext. No timestamps, no sequence table.
enum VaultSchema {
    static let formatVersion = 2

    /// Every record table has the same shape: `id`, `version`, its lookup columns, `sealed`.
    static var formatTwo: String {
        var sql = """
            CREATE TABLE vault (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                format_version INTEGER NOT NULL,
                vault_id BLOB NOT NULL,
                kdf_salt BLOB NOT NULL,
                kdf_operations INTEGER NOT NULL,
                kdf_memory INTEGER NOT NULL,
                wrapped_master_key BLOB NOT NULL,
                sealed_identity_seed BLOB NOT NULL,
                sealed_state BLOB NOT NULL
            );
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY,
                sealed BLOB NOT NULL,
                mac BLOB NOT NULL
            );

            """
        for table in RecordTable.all { sql += createTable(table) }
        return sql
    }

    /// One record table and its indexes: `id`, `version`, its lookup columns (the first UNIQUE), `sealed`.
    static func createTable(_ table: RecordTable) -> String {
        var columns = ["    id INTEGER PRIMARY KEY", "    version INTEGER NOT NULL"]
        for (index, column) in table.lookupColumns.enumerated() {
            columns.append("    \(column) BLOB NOT NULL\(index == 0 ? " UNIQUE" : "")")
        }
        columns.append("    sealed BLOB NOT NULL")
        var sql = "CREATE TABLE \(table.name) (\n" + columns.joined(separator: ",\n") + "\n);\n"
        for column in table.lookupColumns.dropFirst() {
            sql += "CREATE INDEX \(table.name)_by_\(column) ON \(table.name) (\(column));\n"
        }
        return sql
    }

    static func createFormatTwo(_ db: Database) throws {
        try db.execute(sql: formatTwo)
    }
}
