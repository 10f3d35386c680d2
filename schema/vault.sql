-- The vault's SQLite schema, format version 1. Kept equal to the migrations in Sources/ProfferVault/VaultSchema.swift
-- by VaultSchemaTests. Every personal value lives inside `sealed` (XChaCha20-Poly1305, padded to 64 bytes, bound to
-- table ‖ record id ‖ format version); the clear columns hold only random ids, blind-index tokens (keyed BLAKE2b),
-- sequence numbers and KDF parameters.

-- One row: the header. The master key is wrapped by the Argon2id key-encryption key; `audit_head` (sealed) holds the
-- audit chain's length and last MAC, so deleting the newest entries is detected.
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

-- key_index = blind index of (persona id, key); the sealed payload holds key, value and sharing rule.
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

-- seq orders intents oldest first; message_index is the blind index of the message id.
CREATE TABLE intents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    message_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- Entry n: mac = BLAKE2b(audit key, mac of n-1 ‖ n ‖ sealed), the first entry chained to 32 zero bytes.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL,
    mac BLOB NOT NULL
);

-- Added by migration v2-negotiation. offer_index and intent_index are blind indexes of the offer's and its intent's
-- message ids; the sealed payload holds the vendor's signed envelope and the offer's state.
CREATE TABLE offers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    offer_index BLOB NOT NULL UNIQUE,
    intent_index BLOB NOT NULL,
    sealed BLOB NOT NULL
);

CREATE INDEX offers_by_intent ON offers (intent_index);

-- A deal: deal_index is the blind index of the accept's id; the sealed payload holds both signed envelopes (the
-- person's accept and the vendor's confirm), as IEEE 7012 asks both parties to keep.
CREATE TABLE deals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    deal_index BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL
);

-- Replies already accepted: token = blind index of (sender key ‖ nonce); rows are dropped once a copy would be
-- refused as stale anyway.
CREATE TABLE seen_replies (
    token BLOB PRIMARY KEY NOT NULL,
    fresh_until INTEGER NOT NULL
);
