import Foundation
import GRDB
import GRDBSQLite
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import ServiceLifecycle
import Synchronization

/// The vendor's records in `vendor.db` in its data folder: the embedded engine, for one process.
///
/// Each state change that must happen at most once runs in one `BEGIN IMMEDIATE` transaction, whose write lock makes
/// the check and the change one step, even against another process (a backup, say).
///
/// Disclosed data is deleted for real on `forget`: `secure_delete` zeroes the freed bytes and a WAL checkpoint
/// removes the old page images, so the values are gone from every file in the folder.
///
/// Offers are numbered in the order they are made and stored under their number, so that new offers append to the
/// end of one B-tree instead of landing on a random page each; an offer's id is its number through a keyed
/// permutation (``FortyBitCipher``) whose key is new each time the file is opened. Measured on the inbox's load, this
/// writes about a third of the pages per intent that offers keyed by sender did (schema/envelope.md).
public final class SQLiteRecords: VendorRecords {
    let database: DatabaseQueue
    /// The folder lock, released when the records go away.
    private let lock: FolderLock
    /// The keys of offer ids, newest first, each with the first number given out under it: the key made when the
    /// file was opened, then the keys of earlier runs under which offers are kept. A number's id depends on the run
    /// that gave it out, so a number given out again (after a power loss dropped the last commits before a
    /// checkpoint, or after a backup was restored) gets another id than the one already sent.
    private let offerIDKeys: [(firstNumber: UInt64, cipher: FortyBitCipher)]
    /// The next offer number to give out. One process holds the folder, so numbers are given out here, before the
    /// offers are signed, instead of by the database when they are stored.
    private let nextOfferNumber: Mutex<UInt64>
    /// Whether offers made before offers were numbered are kept: their ids are found through `offers_made_before_v5`.
    private let keepsOffersMadeBeforeNumbering: Bool
    let walLength: WALLength
    private let checkpointPages: Int32
    static let busyTimeoutMilliseconds: Int32 = 5000
    /// How long a forget's checkpoint waits for readers (a backup) to let go of older snapshots.
    static let forgetCheckpointWaitMilliseconds: Int32 = 250

    /// - Parameters:
    ///   - checkpointPages: The WAL's length in pages at which it is copied into the database file once a group
    ///     commit's senders are answered (``finishGroupCommit()``). Checkpoints are the writer's one fsync: every 1,000
    ///     pages (SQLite's default) they cost a quarter of the inbox's throughput; every 10,000 (a WAL of about 40 MB)
    ///     a few percent. At four times this length any commit checkpoints before it returns, as SQLite's own
    ///     autocheckpoint does, so that the WAL stays bounded should group commits stop while other changes go on; a
    ///     WAL file grown past 64 MiB is cut back to it once checkpointed (`journal_size_limit`).
    ///   - now: The time offers are compared with when the file is opened, to let go of the keys of runs whose offers
    ///     have all lapsed.

    public init(folder: String, checkpointPages: Int32 = 10_000, now: Timestamp = .now) throws {
        try DataFolder.prepare(folder)
        lock = try FolderLock(folder)
        self.checkpointPages = checkpointPages
        let walLength = WALLength(checkpointAtTheLatest: 4 * checkpointPages)
        self.walLength = walLength
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(Double(SQLiteRecords.busyTimeoutMilliseconds) / 1000)
        configuration.prepareDatabase { db in
            // A forget checkpoints at once, so deleted values leave the WAL with it. A cache of 64 MiB keeps a busy
            // vendor's recent pages from being read again. (The file is not held exclusively, which would spare a
            // few percent of locking: `sqlite3 vendor.db ".backup …"` must be able to copy it while the vendor runs.)
            try db.execute(
                sql: """
                    PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA cache_size = -65536;
                    PRAGMA journal_size_limit = 67108864
                    """)
            walLength.watch(db)
        }
        let path = (folder as NSString).appendingPathComponent("vendor.db")
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        database = try DatabaseQueue(path: path, configuration: configuration)
        // Migrated at once: one process owns the file, and a store that opens is ready to use.
        try SQLiteRecords.migrator.migrate(database)
        let now = now.secondsSince1970
        let numbering = try database.write { db in
            let next = try UInt64.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM offers") ?? 1
            // Keys under which no offer is kept have nothing left to find. Nor have those whose offers have all
            // lapsed: a lapsed offer cannot be taken, so its id may as well be unknown, and every key kept costs each
            // lookup and each offer stored eight SipHash rounds. A run's last offer lapses last: offers are numbered
            // as they are made, and all of one run's stand as long (the catalog is read once per run).
            try db.execute(sql: "DELETE FROM offer_numbering WHERE first_number >= ?", arguments: [next])
            let runs = try Int64.fetchAll(db, sql: "SELECT first_number FROM offer_numbering ORDER BY first_number")
            for (first, end) in zip(runs, runs.dropFirst() + [Int64(next)]) {
                let lastLapses = try Int64.fetchOne(
                    db,
                    sql: "SELECT expires_at FROM offers WHERE number >= ? AND number < ? ORDER BY number DESC LIMIT 1",
                    arguments: [first, end])
                if (lastLapses ?? 0) < now {
                    try db.execute(sql: "DELETE FROM offer_numbering WHERE first_number = ?", arguments: [first])
                }
            }
            try db.execute(
                sql: "INSERT INTO offer_numbering (first_number, key) VALUES (?, ?)",
                arguments: [next, Data(FortyBitCipher.randomKey())])
            return (
                // Read as database values: a row edited by hand must stop the vendor with a message, not a trap.
                keys: try Row.fetchAll(
                    db, sql: "SELECT first_number, key FROM offer_numbering ORDER BY first_number DESC"
                ).map { row in
                    (
                        firstNumber: UInt64.fromDatabaseValue(row[0] as DatabaseValue),
                        cipher: Data.fromDatabaseValue(row[1] as DatabaseValue).flatMap {
                            FortyBitCipher(key: [UInt8]($0))
                        }
                    )
                },
                next: next,
                before: try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM offers_made_before_v5)") ?? false
            )
        }
        offerIDKeys = try numbering.keys.map { key in
            guard let firstNumber = key.firstNumber, let cipher = key.cipher else {
                throw VendorStoreError(
                    .damaged,
                    "vendor.db's offer_numbering holds a row that is not a first number and a "
                        + "\(FortyBitCipher.keyByteCount)-byte key: the file was edited by hand; restore it from a backup"
                )
            }
            return (firstNumber, cipher)
        }
        nextOfferNumber = Mutex(numbering.next)
        keepsOffersMadeBeforeNumbering = numbering.before
    }

    /// Nothing runs in the background: the records stay open until the service group stops, then the database is
    /// closed and the folder let go, so another process (or a restart in this one) may take it.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Closes the database and lets go of the folder, at once rather than when the last reference goes (an async
    /// read's closure may hold one a moment after it returned): for a restart within this process.
    func close() {
        try? database.close()
        lock.release()
    }

    public func migrate() async throws { try SQLiteRecords.migrator.migrate(database) }

    /// SQLite has one writer: a second transaction would only wait for the first.
    public var concurrentWrites: Int { 1 }

    /// The schema's steps, in order, each run once in its own transaction (GRDB's migrator records which ran), as
    /// ``PostgresRecords/migrations`` lists PostgreSQL's; tables and columns that hold the same thing have the same
    /// names in both.
    static let migrations: [(name: String, apply: @Sendable (Database) throws -> Void)] = [
        (
            "v1",
            { db in
                try db.execute(
                    sql: """
                        CREATE TABLE intents (
                            sender BLOB NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, canonical TEXT NOT NULL,
                            received_at INTEGER NOT NULL, PRIMARY KEY (sender, id));
                        CREATE TABLE offers (
                            id TEXT PRIMARY KEY NOT NULL, sender BLOB NOT NULL, intent_id TEXT NOT NULL, sku TEXT NOT NULL,
                            price INTEGER NOT NULL, currency TEXT NOT NULL, qty INTEGER NOT NULL, needs TEXT NOT NULL,
                            terms TEXT NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL, envelope TEXT NOT NULL);
                        CREATE INDEX offers_by_intent ON offers (sender, intent_id);
                        CREATE TABLE deals (
                            sender BLOB NOT NULL, accept_id TEXT NOT NULL, offer_id TEXT NOT NULL, sku TEXT NOT NULL,
                            qty INTEGER NOT NULL, state TEXT NOT NULL, accept_envelope TEXT NOT NULL,
                            confirm_envelope TEXT NOT NULL, disclosed TEXT, disclosed_digest TEXT,
                            PRIMARY KEY (sender, accept_id));
                        """)
            }
        ),
        (
            "v2-seen",
            { db in
                // Keyed by expiry first (an envelope's own `ts` fixes it, so a copy has the same key): new rows append at
                // the end of one B-tree and pruning cuts its start, with no second index to keep (schema/envelope.md).
                try db.execute(
                    sql: """
                        CREATE TABLE seen (
                            expires_at INTEGER NOT NULL, sender BLOB NOT NULL, nonce BLOB NOT NULL,
                            PRIMARY KEY (expires_at, sender, nonce)) WITHOUT ROWID;
                        """)
            }
        ),
        (
            "v3-seen-by-pair",
            { db in
                // Keyed by the pair alone, kept 600 s from receipt: an envelope reusing a pair with another `ts` is a
                // replay too, after a restart as before it. Pairs already seen move over, kept as long as before at least.
                try db.execute(
                    sql: """
                        CREATE TABLE seen_by_pair (
                            sender BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL,
                            PRIMARY KEY (sender, nonce)) WITHOUT ROWID;
                        INSERT OR IGNORE INTO seen_by_pair (sender, nonce, expires_at)
                            SELECT sender, nonce, expires_at + 300 FROM seen;
                        DROP TABLE seen;
                        ALTER TABLE seen_by_pair RENAME TO seen;
                        CREATE INDEX seen_by_expiry ON seen (expires_at);
                        """)
            }
        ),
        (
            "v4-by-sender",
            { db in
                // Intents and offers keyed by sender first, without rowid: an intent's offers share an id prefix, so
                // storing an intent dirties about one page of each table instead of one per index (rowid, id, by
                // intent). An intent lists its offers' ids in the order made,
                // in place of the by-intent index. Offers keep their message, not the signed envelope: an offer sent
                // again is signed afresh. A new intent keeps its envelope's nonce in its row instead of a row in `seen`.
                // Measured on this schema, in groups of seven: 4.6 WAL pages per intent, against 8.2 before.
                try db.execute(
                    sql: """
                        CREATE TABLE intents_by_sender (
                            sender BLOB NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, canonical TEXT NOT NULL,
                            received_at INTEGER NOT NULL, offer_ids TEXT NOT NULL, nonce BLOB, PRIMARY KEY (sender, id))
                            WITHOUT ROWID;
                        INSERT INTO intents_by_sender (sender, id, state, canonical, received_at, offer_ids)
                            SELECT sender, id, state, canonical, received_at, '' FROM intents;
                        CREATE TABLE offers_by_sender (
                            sender BLOB NOT NULL, id TEXT NOT NULL, intent_id TEXT NOT NULL, sku TEXT NOT NULL,
                            price INTEGER NOT NULL, currency TEXT NOT NULL, qty INTEGER NOT NULL, needs TEXT NOT NULL,
                            terms TEXT NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,
                            PRIMARY KEY (sender, id)) WITHOUT ROWID;
                        INSERT INTO offers_by_sender
                            SELECT sender, id, intent_id, sku, price, currency, qty, needs, terms, expires_at, state,
                                json_extract(envelope, '$.msg')
                            FROM offers;
                        """)
                let made = try Row.fetchCursor(db, sql: "SELECT sender, intent_id, id FROM offers ORDER BY rowid")
                while let offer = try made.next() {
                    try db.cachedStatement(
                        sql: """
                            UPDATE intents_by_sender SET offer_ids = CASE offer_ids WHEN '' THEN ?1 ELSE offer_ids || ',' || ?1 END
                            WHERE sender = ?2 AND id = ?3
                            """
                    ).execute(arguments: [offer["id"] as String, offer["sender"] as Data, offer["intent_id"] as String])
                }
                try db.execute(
                    sql: """
                        DROP TABLE offers;
                        DROP TABLE intents;
                        ALTER TABLE intents_by_sender RENAME TO intents;
                        ALTER TABLE offers_by_sender RENAME TO offers;
                        """)
            }
        ),
        (
            "v5-offers-by-number",
            { db in
                // Offers numbered in the order made, new ones appending to one B-tree; an offer's id is its number through
                // the key in `offer_numbering` of the run that gave the number out. Offers made before are numbered first
                // (in no particular order), keep their ids, and are found through `offers_made_before_v5`, which nothing
                // adds to after this.
                try db.execute(
                    sql: """
                        CREATE TABLE offer_numbering (first_number INTEGER PRIMARY KEY, key BLOB NOT NULL);
                        CREATE TABLE offers_by_number (
                            number INTEGER PRIMARY KEY, sender BLOB NOT NULL, id TEXT NOT NULL, intent_id TEXT NOT NULL,
                            sku TEXT NOT NULL, price INTEGER NOT NULL, currency TEXT NOT NULL, qty INTEGER NOT NULL,
                            needs TEXT NOT NULL, terms TEXT NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL,
                            message TEXT NOT NULL);
                        INSERT INTO offers_by_number
                            (sender, id, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message)
                            SELECT sender, id, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message
                            FROM offers;
                        CREATE TABLE offers_made_before_v5 (
                            sender BLOB NOT NULL, id TEXT NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (sender, id))
                            WITHOUT ROWID;
                        INSERT INTO offers_made_before_v5 SELECT sender, id, number FROM offers_by_number;
                        DROP TABLE offers;
                        ALTER TABLE offers_by_number RENAME TO offers;
                        """)
            }
        ),
        (
            "v6-forgotten-accepts",
            { db in
                // Accepts a person asked to forget before they made a deal (PROTOCOL.md §4.1): such an accept arriving
                // late is declined, and nothing of it stored.
                try db.execute(
                    sql: """
                        CREATE TABLE forgotten_accepts (
                            sender BLOB NOT NULL, accept_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
                            PRIMARY KEY (sender, accept_id)) WITHOUT ROWID;
                        CREATE INDEX forgotten_accepts_by_expiry ON forgotten_accepts (expires_at);
                        """)
            }
        ),
        (
            "v7-desk",
            { db in
                // What the vendor's desk shows of each intent: how it came, and what the vendor did with it (empty for
                // intents stored before).
                try db.execute(
                    sql: """
                        ALTER TABLE intents ADD COLUMN transport TEXT NOT NULL DEFAULT 'http';
                        ALTER TABLE intents ADD COLUMN handling TEXT NOT NULL DEFAULT '';
                        CREATE INDEX intents_by_time ON intents (received_at);
                        """)
            }
        ),
    ]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations { migrator.registerMigration(migration.name, migrate: migration.apply) }
        return migrator
    }

    // MARK: - The replay window

    public func admit(sender: Data, nonce: Data, until: Int64, now: Int64) async throws -> Bool {
        try await database.write { db in
            try SQLiteRecords.pruneSeen(db, now: now)
            return try SQLiteRecords.recordSeen(db, sender: sender, nonce: nonce, expiresAt: until)
        }
    }

    static func pruneSeen(_ db: Database, now: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM seen WHERE expires_at < ?").execute(arguments: [now])
    }

    /// Records a pair; `false` when it was there already (a replay).
    static func recordSeen(_ db: Database, sender: Data, nonce: Data, expiresAt: Int64) throws -> Bool {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO seen (sender, nonce, expires_at) VALUES (?, ?, ?)")
            .execute(arguments: [sender, nonce, expiresAt])
        return db.changesCount == 1
    }

    /// Copies the WAL into the database file when it has grown past ``checkpointPages``. Run after a group commit's
    /// senders are answered rather than inside its commit (SQLite's autocheckpoint): the checkpoint's writes and
    /// fsyncs no longer hold up the answers, and the next requests are verified and signed meanwhile (on GRDB's
    /// thread, not the pool's). A passive checkpoint: it waits for no reader (a backup), and copies what it can.
    public func finishGroupCommit() async throws {
        guard walLength.pages >= checkpointPages else { return }
        try await database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        // The next commit reports the length anew; a group that writes nothing then checkpoints nothing again.
        walLength.checkpointed()
    }

    // MARK: - Intents and offers

    /// The ids of the next `count` offer numbers, under this run's key. Numbers go up from the highest kept; one given
    /// out again after a restart (its offer was lost, or never stored) gets a new id from the new key. An id that is
    /// an offer its sender got before offers were numbered is caught when the offer is stored
    /// (``IntentStorage/offerIDTaken``).
    public func newOfferIDs(count: Int) throws -> [MessageID] {
        let first = nextOfferNumber.withLock { next in
            defer { next += UInt64(count) }
            return next
        }
        guard first + UInt64(count) <= FortyBitCipher.limit else {
            throw VendorStoreError(
                .exhausted, "vendor.db has given out all 2^40 offer numbers; start a new data folder for new offers")
        }
        let cipher = offerIDKeys[0].cipher
        return (first..<first + UInt64(count)).map { MessageID(bits: cipher.encrypt($0)) }
    }

    /// The number `sender`'s offer `id` is stored under, or `nil` when no offer `id` was made to `sender`: the id is
    /// read with each run's key, newest first, and a number outside that run's range is no offer of it.
    func offerNumber(_ db: Database, sender: Data, id: MessageID) throws -> UInt64? {
        try storedNumber(db, sender: sender, id: id, keys: offerIDKeys[...])
    }

    /// ``offerNumber(_:sender:id:)`` looking through the runs of `keys` only (a suffix of `offerIDKeys`): each key
    /// costs eight SipHash rounds, and a probe of the offers only when the number falls in its run's range.
    private func storedNumber(
        _ db: Database, sender: Data, id: MessageID, keys: ArraySlice<(firstNumber: UInt64, cipher: FortyBitCipher)>
    ) throws -> UInt64? {
        do {
            let parsed = id
            var end =
                keys.startIndex == 0
                ? nextOfferNumber.withLock { $0 } : offerIDKeys[keys.startIndex - 1].firstNumber
            for key in keys {
                let number = key.cipher.decrypt(parsed.bits)
                if number >= key.firstNumber, number < end,
                    try Bool.fetchOne(
                        db.cachedStatement(sql: "SELECT 1 FROM offers WHERE number = ? AND sender = ? AND id = ?"),
                        arguments: [number, sender, id]) != nil
                {
                    return number
                }
                end = key.firstNumber
            }
        }
        guard keepsOffersMadeBeforeNumbering else { return nil }
        return try UInt64.fetchOne(
            db.cachedStatement(sql: "SELECT number FROM offers_made_before_v5 WHERE sender = ? AND id = ?"),
            arguments: [sender, id])
    }

    public func storeIntents(_ batch: [IntentToStore]) async throws -> [IntentStorage] {
        guard let first = batch.first else { return [] }
        return try writeBlockingCaller { db in
            try SQLiteRecords.pruneSeen(db, now: first.receivedAt)
            return try batch.map { intent -> IntentStorage in
                // Cached statements, values bound directly: the hot path compiles no SQL and boxes no value. What the
                // records know of this envelope and intent comes in one statement: whether its pair was seen, the
                // intent with the pair that brought it (a new intent's pair is kept in its row, not in `seen`: one
                // B-tree insert fewer per intent, schema/envelope.md), and the sender's open intents, for the quota.
                let known = try db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM seen WHERE sender = ?1 AND nonce = ?2),
                            (SELECT state FROM intents WHERE sender = ?1 AND id = ?3),
                            (SELECT nonce FROM intents WHERE sender = ?1 AND id = ?3),
                            (SELECT COUNT(*) FROM intents WHERE sender = ?1 AND state = ?5 AND received_at >= ?4)
                        """)
                try known.bindDirectly([
                    intent.sender, intent.nonce, intent.id, intent.quotaSince, IntentState.open.rawValue,
                ])
                guard let row = try Row.fetchOne(known) else { return .replay }
                let existing = (row[1] as String?).map { (IntentState(rawValue: $0) ?? .open, row[2] as Data?) }
                switch VendorLedger.admit(
                    intent, known: .init(pairSeen: row[0], existing: existing, openIntents: row[3]))
                {
                case .refuse(.alreadyReceived(let state)):
                    // Another envelope for an intent received before: its own pair is kept in `seen`.
                    guard
                        try SQLiteRecords.recordSeen(
                            db, sender: intent.sender, nonce: intent.nonce, expiresAt: intent.seenUntil)
                    else { return .replay }
                    return .alreadyReceived(state)
                case .refuse(let outcome): return outcome
                case .store: break
                }
                guard try insert(intent.offers, in: db) else { return .offerIDTaken }
                let store = try db.cachedStatement(
                    sql: """
                        INSERT INTO intents (sender, id, state, canonical, received_at, offer_ids, nonce, transport, handling)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                try store.bindDirectly([
                    intent.sender, intent.id.description, IntentState.open.rawValue, intent.canonical,
                    intent.receivedAt, VendorLedger.offerList(intent.offers.map(\.id)), intent.nonce,
                    intent.transport.rawValue, intent.handling.description,
                ])
                try store.execute()
                return .stored
            }
        }
    }

    /// Runs `change` in a transaction on the calling thread, blocking it until the commit (GRDB's synchronous write
    /// runs its block on the caller's thread once the database's queue is free), instead of on the queue's own
    /// thread: the group commit then costs no thread hand-off each way, worth a tenth of the inbox's throughput. The
    /// price is a pool thread held for the commit (checkpoints wait for ``finishGroupCommit()``, on GRDB's thread,
    /// except the WAL hook's own past four times their length). It cannot deadlock: GRDB's asynchronous reads and
    /// writes run on the queue's thread, not on the pool.
    private func writeBlockingCaller<T>(_ change: (Database) throws -> T) throws -> T {
        try database.write(change)
    }

    public func openOffers(sender: Data, intentID: MessageID, now: Int64) async throws -> [(
        message: String, expiresAt: Int64
    )] {
        try await database.read { db in
            try (SQLiteRecords.offerIDs(db, sender: sender, intentID: intentID) ?? []).compactMap { id in
                guard let number = try offerNumber(db, sender: sender, id: id) else { return nil }
                return try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT message, expires_at FROM offers WHERE number = ? AND state = ? AND expires_at >= ?"
                    ),
                    arguments: [number, OfferState.open.rawValue, now]
                ).map { ($0["message"], $0["expires_at"]) }
            }
        }
    }

    /// The ids of the offers made for an intent, in the order made; `nil` when `sender` sent no such intent.
    static func offerIDs(_ db: Database, sender: Data, intentID: MessageID) throws -> [MessageID]? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT offer_ids FROM intents WHERE sender = ? AND id = ?"),
            arguments: [sender, intentID]
        ).map(VendorLedger.offerList(from:))
    }

    /// Inserts offers all or none, each under its number: `false`, with nothing inserted, when one's number is taken
    /// or its id is an offer its sender got in an earlier run or before offers were numbered.
    ///
    /// - Throws: When an offer's id was not made by ``newOfferIDs(count:)``.
    func insert(_ offers: [StoredOffer], in db: Database) throws -> Bool {
        let given = nextOfferNumber.withLock { $0 }
        let thisRun = offerIDKeys[0]
        for (index, offer) in offers.enumerated() {
            guard case let number = thisRun.cipher.decrypt(offer.id.bits),
                number >= thisRun.firstNumber, number < given
            else {
                throw VendorStoreError(.misuse, "offer id \(offer.id) was not made by newOfferIDs(count:)")
            }
            // The same id from an earlier run, or from before offers were numbered, for the same sender.
            if try storedNumber(db, sender: offer.sender, id: offer.id, keys: offerIDKeys.dropFirst()) != nil {
                try deleteOffers(offers[..<index], in: db)
                return false
            }
            let store = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO offers
                        (number, sender, id, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            try store.bindDirectly([
                Int64(number), offer.sender, offer.id, offer.intentID, offer.sku, offer.price.thousandths,
                offer.price.currency.description, offer.qty, offer.needsColumn, offer.termsColumn, offer.expiresAt,
                offer.state.rawValue, offer.message,
            ])
            try store.execute()
            if db.changesCount == 0 {
                try deleteOffers(offers[..<index], in: db)
                return false
            }
        }
        return true
    }

    private func deleteOffers(_ offers: ArraySlice<StoredOffer>, in db: Database) throws {
        for offer in offers {
            try db.cachedStatement(sql: "DELETE FROM offers WHERE number = ?")
                .execute(arguments: [offerIDKeys[0].cipher.decrypt(offer.id.bits)])
        }
    }

    public func offer(id: MessageID, sender: Data) async throws -> StoredOffer? {
        try await database.read { db in
            guard let number = try self.offerNumber(db, sender: sender, id: id),
                let row = try Row.fetchOne(db, sql: "SELECT * FROM offers WHERE number = ?", arguments: [number])
            else { return nil }
            return StoredOffer(
                id: id, sender: sender, intentID: row["intent_id"], sku: row["sku"], thousandths: row["price"],
                currency: row["currency"], qty: row["qty"], needs: row["needs"], terms: row["terms"],
                expiresAt: row["expires_at"], state: row["state"], message: row["message"])
        }
    }

    public func supersede(offerID: MessageID, with newOffer: StoredOffer) async throws -> Supersession {
        try await immediateTransaction { db in
            guard let number = try self.offerNumber(db, sender: newOffer.sender, id: offerID) else { return .notOpen }
            let wasOpen = try SQLiteRecords.changeOfferState(db, number: number, from: .open, to: .countered)
            let made = try SQLiteRecords.offerIDs(db, sender: newOffer.sender, intentID: newOffer.intentID) ?? []
            if let outcome = VendorLedger.counter(offerWasOpen: wasOpen, offersMade: made.count) { return outcome }
            guard try self.insert([newOffer], in: db) else { return .offerIDTaken }
            try db.execute(
                sql: "UPDATE intents SET offer_ids = ? WHERE sender = ? AND id = ?",
                arguments: [VendorLedger.offerList(made + [newOffer.id]), newOffer.sender, newOffer.intentID])
            return .replaced
        }
    }

    public func declineOffer(id: MessageID, sender: Data) async throws -> Bool {
        try await database.write { db in
            guard let number = try self.offerNumber(db, sender: sender, id: id) else { return false }
            return try SQLiteRecords.changeOfferState(db, number: number, from: .open, to: .declined)
        }
    }

    public func withdrawIntent(sender: Data, id: MessageID) async throws -> Bool {
        try await database.write { db in
            guard let offerIDs = try SQLiteRecords.offerIDs(db, sender: sender, intentID: id) else { return false }
            try db.execute(
                sql: "UPDATE intents SET state = ? WHERE sender = ? AND id = ?",
                arguments: [IntentState.withdrawn.rawValue, sender, id])
            for offerID in offerIDs {
                guard let number = try self.offerNumber(db, sender: sender, id: offerID) else { continue }
                _ = try SQLiteRecords.changeOfferState(db, number: number, from: .open, to: .withdrawn)
            }
            return true
        }
    }

    // MARK: - Deals

    public func soldCount(sku: String) async throws -> Int {
        try await database.read { db in try SQLiteRecords.soldCount(db, sku: sku) }
    }

    static func soldCount(_ db: Database, sku: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(qty), 0) FROM deals WHERE sku = ?", arguments: [sku]) ?? 0
    }

    public func makeDeal(_ deal: DealToMake) async throws -> DealOutcome {
        try await immediateTransaction { db in
            // The one writer holds the file from here: what is read is what the changes below change.
            let number = try self.offerNumber(db, sender: deal.sender, id: deal.offer.id)
            let offer = try number.flatMap { number in
                try Row.fetchOne(db, sql: "SELECT state, expires_at FROM offers WHERE number = ?", arguments: [number])
            }
            let facts = VendorLedger.DealFacts(
                acceptForgotten: try SQLiteRecords.isForgottenAccept(
                    db, sender: deal.sender, acceptID: deal.acceptID, now: deal.now),
                earlierDealOffer: try MessageID.fetchOne(
                    db, sql: "SELECT offer_id FROM deals WHERE sender = ? AND accept_id = ?",
                    arguments: [deal.sender, deal.acceptID]),
                offer: offer.map { (OfferState(rawValue: $0["state"]) ?? .withdrawn, $0["expires_at"]) })
            if let outcome = VendorLedger.deal(deal, facts: facts) { return outcome }
            _ = try SQLiteRecords.changeOfferState(db, number: number!, from: .open, to: .accepted)
            if let outcome = VendorLedger.stock(
                sold: try SQLiteRecords.soldCount(db, sku: deal.offer.sku), quantity: deal.offer.qty, stock: deal.stock)
            {
                return outcome
            }
            try db.execute(
                sql: """
                    INSERT INTO deals (sender, accept_id, offer_id, sku, qty, state, accept_envelope, confirm_envelope, disclosed)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    deal.sender, deal.acceptID, deal.offer.id, deal.offer.sku, deal.offer.qty,
                    DealState.confirmed.rawValue, deal.acceptEnvelope, deal.confirmEnvelope, deal.disclosed,
                ])
            return .made
        }
    }

    /// Moves an offer from one state to another: `false`, changing nothing, when it is not in `from`.
    static func changeOfferState(_ db: Database, number: UInt64, from: OfferState, to: OfferState) throws -> Bool {
        try db.execute(
            sql: "UPDATE offers SET state = ? WHERE number = ? AND state = ?",
            arguments: [to.rawValue, number, from.rawValue])
        return db.changesCount == 1
    }

    /// Runs `change` in one `BEGIN IMMEDIATE` transaction, committed only when it returns a made change (`true`,
    /// ``DealOutcome/made``); any other answer rolls back whatever it wrote.
    private func immediateTransaction<Outcome: Sendable & CommitDecision>(
        _ change: @escaping @Sendable (Database) throws -> Outcome
    ) async throws -> Outcome {
        try await database.writeWithoutTransaction { db in
            var outcome: Outcome?
            try db.inTransaction(.immediate) {
                let decided = try change(db)
                outcome = decided
                return decided.commits ? .commit : .rollback
            }
            return outcome!
        }
    }

    public func rememberForgottenAccept(sender: Data, acceptID: MessageID, until: Int64, now: Int64) async throws
        -> ForgottenAccept
    {
        try await immediateTransaction { db in
            try db.execute(sql: "DELETE FROM forgotten_accepts WHERE expires_at < ?", arguments: [now])
            // A key that was made an offer answered an intent: it has intents with offers.
            let decision = VendorLedger.forgetWithoutDeal(
                dealExists: try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
                    != nil,
                senderHoldsOffers: try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM intents WHERE sender = ? AND offer_ids <> '' LIMIT 1", arguments: [sender])
                    != nil,
                remembered: try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM forgotten_accepts WHERE sender = ? AND accept_id <> ?",
                    arguments: [sender, acceptID]) ?? 0)
            guard decision == .remembered else { return decision }
            try db.execute(
                sql: """
                    INSERT INTO forgotten_accepts (sender, accept_id, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT (sender, accept_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)
                    """, arguments: [sender, acceptID, until])
            return .remembered
        }
    }

    public func isForgottenAccept(sender: Data, acceptID: MessageID, now: Int64) async throws -> Bool {
        try await database.read { db in
            try SQLiteRecords.isForgottenAccept(db, sender: sender, acceptID: acceptID, now: now)
        }
    }

    static func isForgottenAccept(_ db: Database, sender: Data, acceptID: MessageID, now: Int64) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT 1 FROM forgotten_accepts WHERE sender = ? AND accept_id = ? AND expires_at >= ?",
            arguments: [sender, acceptID, now]) != nil
    }

    public func forget(sender: Data, acceptID: MessageID, strippedAccept: String, digest: String) async throws -> Bool {
        let found = try await database.write { db -> Bool in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
            else { return false }
            // Deleted and inserted again rather than updated, so secure_delete zeroes the whole old cell. A forget
            // asked again (perhaps after the checkpoint below was blocked) keeps the digest of what was disclosed,
            // and the checkpoint is redone.
            try db.execute(sql: "DELETE FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
            try db.execute(
                sql: """
                    INSERT INTO deals (sender, accept_id, offer_id, sku, qty, state, accept_envelope, confirm_envelope, disclosed, disclosed_digest)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                    """,
                arguments: [
                    sender, acceptID, row["offer_id"] as String, row["sku"] as String, row["qty"] as Int,
                    DealState.forgotten.rawValue,
                    strippedAccept, row["confirm_envelope"] as String,
                    VendorLedger.keptDigest(
                        state: DealState(rawValue: row["state"]) ?? .confirmed, stored: row["disclosed_digest"],
                        computed: digest),
                ])
            return true
        }
        if found {
            // Until the old pages leave the WAL and the file, nothing was forgotten: a reader holding an older
            // snapshot (a backup) past a short wait makes this throw (`SQLITE_BUSY`, answered 503), and the person's
            // retry checkpoints again. PRAGMA wal_checkpoint would report it only in a row nobody reads. The wait is
            // short because the checkpoint holds the one writer: every other sender waits with it.
            try await database.writeWithoutTransaction { db in
                sqlite3_busy_timeout(db.sqliteConnection, SQLiteRecords.forgetCheckpointWaitMilliseconds)
                defer { sqlite3_busy_timeout(db.sqliteConnection, SQLiteRecords.busyTimeoutMilliseconds) }
                try db.checkpoint(.truncate)
            }
        }
        return found
    }

    public func deskIntents(since: Int64) async throws -> [DeskIntent] {
        try await database.read { db in try SQLiteRecords.deskIntents(db, since: since) }
    }

    /// The desk's intents, from a connection to the records' file (the vendor's own, or a read-only one).
    static func deskIntents(_ db: Database, since: Int64) throws -> [DeskIntent] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT sender, id, state, canonical, received_at, offer_ids, transport, handling FROM intents
                WHERE received_at >= ? ORDER BY received_at DESC
                """, arguments: [since]
        ).map { row in
            DeskIntent(
                sender: row[0], id: row[1], canonical: row[3], state: IntentState(rawValue: row[2]) ?? .open,
                receivedAt: row[4], offerIDs: VendorLedger.offerList(from: row[5]).map(\.description),
                transport: IntentTransport(rawValue: row[6]) ?? .http, handling: IntentHandling(row[7]))
        }
    }

    /// The desk's intents read from the records in `folder` while the vendor may be running: a read-only connection,
    /// without the folder's lock.
    public static func deskIntents(folder: String, since: Int64) throws -> [DeskIntent] {
        let path = (folder as NSString).appendingPathComponent("vendor.db")
        guard FileManager.default.fileExists(atPath: path) else {
            throw VendorStoreError(
                .failed, "no records in \(folder): start the vendor there first (`proffer-vendor serve`)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(Double(SQLiteRecords.busyTimeoutMilliseconds) / 1000)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        return try database.read { db in
            guard try db.columns(in: "intents").contains(where: { $0.name == "handling" }) else {
                throw VendorStoreError(
                    .failed,
                    "the records in \(folder) are from an older version: start `proffer-vendor serve` once to "
                        + "upgrade them")
            }
            return try deskIntents(db, since: since)
        }
    }

    public func deal(sender: Data, acceptID: MessageID) async throws -> StoredDeal? {
        try await database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT offer_id, sku, accept_envelope, confirm_envelope FROM deals WHERE sender = ? AND accept_id = ?
                    """,
                arguments: [sender, acceptID]
            ).map {
                StoredDeal(
                    offerID: $0["offer_id"], sku: $0["sku"], acceptEnvelope: $0["accept_envelope"],
                    confirmEnvelope: $0["confirm_envelope"])
            }
        }
    }

    public func deals() async throws -> [DealRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT accept_id, state, sku, disclosed FROM deals ORDER BY rowid").map {
                DealRecord(
                    acceptID: $0["accept_id"], state: DealState(rawValue: $0["state"]) ?? .confirmed, sku: $0["sku"],
                    disclosed: $0["disclosed"])
            }
        }
    }

    public func storageError(_ error: any Error) -> VendorStoreError? {
        if let error = error as? VendorStoreError { return error }
        guard let error = error as? DatabaseError else { return nil }
        // Another process (a backup, an operator's sqlite3) held vendor.db's write lock past the busy timeout.
        if error.resultCode == .SQLITE_BUSY {
            return VendorStoreError(.busy, "vendor.db was locked by another process for over 5 s")
        }
        // GRDB's description names the statement, not its arguments.
        return VendorStoreError(.failed, "vendor.db: \(error)")
    }

    public func knownSenders() async throws -> Set<Data> {
        try await database.read { db in
            Set(try Data.fetchAll(db, sql: "SELECT sender FROM intents UNION SELECT sender FROM offers"))
        }
    }
}

/// The WAL's length in pages after the last commit, as SQLite's WAL hook reports it. Installing the hook replaces
/// SQLite's autocheckpoint, which the hook does itself at `checkpointAtTheLatest` pages.
final class WALLength: Sendable {
    private let lastReported = Atomic<Int32>(0)
    let checkpointAtTheLatest: Int32

    init(checkpointAtTheLatest: Int32) { self.checkpointAtTheLatest = checkpointAtTheLatest }

    var pages: Int32 { lastReported.load(ordering: .relaxed) }

    func checkpointed() { lastReported.store(0, ordering: .relaxed) }

    func watch(_ db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, pages in
                let length = Unmanaged<WALLength>.fromOpaque(context!).takeUnretainedValue()
                length.lastReported.store(pages, ordering: .relaxed)
                if pages >= length.checkpointAtTheLatest {
                    sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                }
                return SQLITE_OK
            },
            // Unretained: GRDB keeps the `prepareDatabase` closure, which holds this object, for as long as the
            // connection lives, and SQLite calls no hook once it is closed.
            Unmanaged.passUnretained(self).toOpaque())
    }
}

extension Statement {
    /// Binds `values` to the statement's parameters, in order, straight through SQLite's `bind` functions, for
    /// `execute()` or a fetch without arguments to use. GRDB's `StatementArguments` turn each value into a
    /// `DatabaseValue` first, which is most of what a statement on the intents' hot path costs outside SQLite.
    fileprivate func bindDirectly(_ values: [any StatementBinding]) throws {
        // Resets the statement and marks its (no) arguments as bound, so that what is bound here is kept.
        setUncheckedArguments(StatementArguments())
        for (index, value) in values.enumerated() {
            let code = value.bind(to: sqliteStatement, at: CInt(index + 1))
            guard code == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "could not bind a value", sql: sql)
            }
        }
    }
}

/// Message ids are stored as their canonical text: bound and read as such, so no call site converts them.
extension MessageID: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> MessageID? {
        String.fromDatabaseValue(dbValue).flatMap(MessageID.init)
    }
}
