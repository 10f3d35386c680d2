import GRDB

/// The vault's tables. `schema/vault.sql` states the same schema, and a test keeps the two equal.
///
/// Only opaque ids, blind-index tokens, sequence numbers and ciphertext are stored in the clear.
enum VaultSchema {
    static let formatVersion = 1

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE vault (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        format_version INTEGER NOT NULL,
                        vault_id BLOB NOT NULL,
                        kdf_salt BLOB NOT NULL,
                        kdf_operations INTEGER NOT NULL,
                        kdf_memory INTEGER NOT NULL,
                        wrapped_master_key BLOB NOT NULL,
                        audit_head BLOB
                    );
                    CREATE TABLE personas (
                        id BLOB PRIMARY KEY NOT NULL,
                        name_index BLOB NOT NULL UNIQUE,
                        sealed BLOB NOT NULL
                    );
                    CREATE TABLE preferences (
                        id BLOB PRIMARY KEY NOT NULL,
                        key_index BLOB NOT NULL UNIQUE,
                        persona_id BLOB NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
                        sealed BLOB NOT NULL
                    );
                    CREATE TABLE vendors (
                        id BLOB PRIMARY KEY NOT NULL,
                        name_index BLOB NOT NULL UNIQUE,
                        sealed BLOB NOT NULL
                    );
                    CREATE TABLE intents (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id BLOB NOT NULL UNIQUE,
                        message_index BLOB NOT NULL UNIQUE,
                        sealed BLOB NOT NULL
                    );
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY,
                        sealed BLOB NOT NULL,
                        mac BLOB NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-negotiation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE offers (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id BLOB NOT NULL UNIQUE,
                        offer_index BLOB NOT NULL UNIQUE,
                        intent_index BLOB NOT NULL,
                        sealed BLOB NOT NULL
                    );
                    CREATE INDEX offers_by_intent ON offers (intent_index);
                    CREATE TABLE deals (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id BLOB NOT NULL UNIQUE,
                        deal_index BLOB NOT NULL UNIQUE,
                        sealed BLOB NOT NULL
                    );
                    CREATE TABLE seen_replies (
                        token BLOB PRIMARY KEY NOT NULL,
                        fresh_until INTEGER NOT NULL
                    );
                    """)
        }
        return migrator
    }
}
