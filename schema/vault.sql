-- The vault's SQLite schema, format version 2. Kept equal to VaultSchema.createFormatTwo
-- (Sources/ProfferVault/VaultSchema.swift) by VaultTests. schema/README.md ("The vault") explains the design.
--
-- In the clear: the header's KDF parameters, and per record a row id, a version, blind-index tokens (keyed BLAKE2b
-- of names and ids) and the sealed payload. No timestamps, no AUTOINCREMENT (so no sqlite_sequence).
--
-- Every sealed payload is XChaCha20-Poly1305 over the record's JSON, padded (ISO/IEC 7816-4) to a bucket shared by
-- all record types: 256 bytes, then each power of two and the size halfway to the next (384, 512, 768, 1024, …).
-- Its associated data is
--   "proffer-vault-record" ‖ format (u32) ‖ vault id ‖ table ‖ 0x00 ‖ id (i64) ‖ version (i64)
--   ‖ for each lookup column: length (u8) ‖ value
-- so a payload moved to another row, table, version or lookup value does not open.

-- One row: the header. The master key is wrapped by the Argon2id key-encryption key (associated data binds the vault
-- id, the format and the KDF costs). sealed_identity_seed is the random seed of the vendor-facing keys, sealed under
-- the records key. sealed_state is the vault's commitment, sealed under the records key and rewritten by every
-- write in the same transaction:
--   layout version (u8) ‖ write counter (u64) ‖ audit entries (u64) ‖ last audit MAC (32)
--   ‖ tables (u64) ‖ per table: next id (i64) ‖ record count (i64) ‖ commitment (32, little-endian sum)
-- where a table's commitment is the sum modulo 2^256 of BLAKE2b(commitment key, table ‖ 0x00 ‖ id ‖ version
-- ‖ lookup values ‖ sealed) over its rows.
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

-- Entry n: mac = BLAKE2b(audit key, mac of n-1 ‖ n (u64) ‖ sealed), the first entry chained to 32 zero bytes. The
-- state holds the chain's length and last MAC. Entries are sealed like records (table "audit", id n, version 1, no
-- lookup columns).
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL,
    mac BLOB NOT NULL
);

-- Every record table has one shape: id (assigned from the state's next id, never reused), version (1 when inserted,
-- one more at each update), its lookup columns (the first UNIQUE), sealed.

-- name_index = blind index of the lowercased name.
CREATE TABLE personas (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- key_index = blind index of (persona, key); persona_index = blind index of the persona's name.
CREATE TABLE preferences (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    key_index BLOB NOT NULL UNIQUE,
    persona_index BLOB NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX preferences_by_persona_index ON preferences (persona_index);

-- name_index = blind index of the lowercased name; the payload holds the URL and the pinned keys.
CREATE TABLE vendors (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- message_index = blind index of the intent's message id.
CREATE TABLE intents (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    message_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- offer_index and intent_index = blind indexes of the offer's and its intent's message ids; the payload holds the
-- vendor's signed envelope and the offer's state.
CREATE TABLE offers (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    offer_index BLOB NOT NULL UNIQUE,
    intent_index BLOB NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX offers_by_intent_index ON offers (intent_index);

-- deal_index = blind index of the accept's id; the payload holds both signed envelopes (the person's accept and the
-- vendor's answer), as IEEE 7012 asks both parties to keep.
CREATE TABLE deals (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    deal_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- Replies already accepted: token = blind index of (sender key ‖ nonce); the payload holds the time after which a
-- copy would be refused as stale anyway, when the record is dropped.
CREATE TABLE seen_replies (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    token BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);
