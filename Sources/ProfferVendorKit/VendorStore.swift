import Foundation
import GRDB
import ProfferEnvelope
import ProfferWire
import Synchronization

/// The vendor's own records (`vendor.db` in its data folder): intents received, offers made, and deals with both
/// signed envelopes, as IEEE 7012 asks each party to keep.
///
/// Disclosed data is deleted for real on `forget`: `secure_delete` zeroes the freed bytes and a WAL checkpoint
/// removes the old page images, so the values are gone from every file in the folder.
public final class VendorStore: Sendable {
    let database: DatabaseQueue
    private let pendingIntents = Mutex(PendingIntents())
    /// The folder lock, released when the store goes away.
    private let lockDescriptor: Int32

    deinit { close(lockDescriptor) }

    struct StoredOffer: Sendable {
        var id: String
        var sender: Data
        var intentID: String
        var sku: String
        var price: Money
        var qty: Int
        var needs: [DataCategory]
        var terms: [String]
        var expiresAt: Int64
        var state: String
        var envelope: String
    }

    public init(folder: String) throws {
        try VendorStore.preparePrivateFolder(folder)
        lockDescriptor = try VendorStore.lockFolder(folder)
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON")
        }
        let path = (folder as NSString).appendingPathComponent("vendor.db")
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        database = try DatabaseQueue(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
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
        migrator.registerMigration("v2-seen") { db in
            // The replay window, durable: an envelope accepted before a restart is refused after it. Keyed by expiry
            // first (an envelope's own `ts` fixes it, so a copy has the same key): new rows append at the end of one
            // B-tree and pruning cuts its start, with no second index to keep (schema/envelope.md).
            try db.execute(
                sql: """
                    CREATE TABLE seen (
                        expires_at INTEGER NOT NULL, sender BLOB NOT NULL, nonce BLOB NOT NULL,
                        PRIMARY KEY (expires_at, sender, nonce)) WITHOUT ROWID;
                    """)
        }
        try migrator.migrate(database)
    }

    /// Records `(sender, nonce)` as seen until `expiresAt`, and forgets pairs whose envelopes would be `stale` by now.
    ///
    /// - Returns: Whether the pair is new; `false` means the envelope was received before (a replay), perhaps before
    ///   a restart.
    func admit(sender: Data, nonce: Data, expiresAt: Int64, now: Int64) async throws -> Bool {
        try await database.write { db in
            try VendorStore.pruneSeen(db, now: now)
            return try VendorStore.recordSeen(db, sender: sender, nonce: nonce, expiresAt: expiresAt)
        }
    }

    /// Forgets pairs whose envelopes would be refused as `stale` by now.
    static func pruneSeen(_ db: Database, now: Int64) throws {
        try db.execute(sql: "DELETE FROM seen WHERE expires_at < ?", arguments: [now])
    }

    /// Records a pair; `false` when it was there already (a replay).
    static func recordSeen(_ db: Database, sender: Data, nonce: Data, expiresAt: Int64) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO seen (expires_at, sender, nonce) VALUES (?, ?, ?)",
            arguments: [expiresAt, sender, nonce])
        return db.changesCount == 1
    }

    /// Creates the data folder (0700) when missing. An existing folder is checked, never changed: it must be a
    /// folder this user owns that no one else can read or write (a shared folder such as /tmp is refused, not
    /// turned private under everyone else's feet).
    static func preparePrivateFolder(_ folder: String) throws {
        try checkAncestors(of: folder)
        var status = stat()
        if lstat(folder, &status) != 0 {
            guard errno == ENOENT else {
                throw VendorStoreError("cannot use \(folder) as the data folder: \(String(cString: strerror(errno)))")
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VendorStoreError("cannot create the data folder \(folder): check the path and its permissions")
            }
            return
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw VendorStoreError("\(folder) is not a folder: give --data a folder for the vendor's keys and records")
        }
        guard status.st_uid == getuid() else {
            throw VendorStoreError(
                "\(folder) belongs to another user: give --data a folder of your own, e.g. a new one that "
                    + "proffer-vendor creates")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw VendorStoreError(
                "\(folder) can be read or written by other users (mode \(String(status.st_mode & 0o7777, radix: 8))): "
                    + "the vendor's keys and the data people disclose must not be. Run `chmod 700 \(folder)`, or give "
                    + "--data a new folder")
        }
    }

    /// Refuses a folder inside one that others may write without the sticky bit: they could rename the data folder
    /// away and put their own in its place (as ssh refuses for its own files).
    static func checkAncestors(of folder: String) throws {
        let absolute =
            folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
        var parent = (absolute as NSString).deletingLastPathComponent
        while true {
            var status = stat()
            if lstat(parent, &status) == 0, status.st_mode & 0o022 != 0, status.st_mode & S_ISVTX == 0 {
                throw VendorStoreError(
                    "\(parent), which holds the data folder \(folder), can be written by other users: they could put "
                        + "their own folder in its place. Give --data a folder under one only you can write, or run "
                        + "`chmod go-w \(parent)`")
            }
            guard parent != "/", !parent.isEmpty else { return }
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    /// Holds an exclusive lock on the folder's `lock` file for as long as the process runs, so a second process
    /// cannot serve from the same folder (two SQLite writers with separate replay windows would accept replays).
    static func lockFolder(_ folder: String) throws -> Int32 {
        let path = (folder as NSString).appendingPathComponent("lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw VendorStoreError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw VendorStoreError(
                "another proffer-vendor is already using \(folder): stop it first, or give this one its own --data")
        }
        return descriptor
    }

    // MARK: - Intents and offers

    /// Stores a new intent and the offers made for it.
    ///
    /// Intents arriving together are written in one transaction (group commit): under load, one commit serves many
    /// requests instead of one each. Each caller still waits until its intent is committed.
    ///
    /// The envelope's `(sender, nonce)` is recorded as seen in the same transaction, so the durable replay window
    /// costs intents no commit of its own.
    ///
    /// - Parameter seen: The envelope's nonce and the time after which a copy would be `stale` anyway.
    func storeIntent(
        sender: Data, message: Message, offers: [StoredOffer], at now: Int64, seen: (nonce: Data, until: Int64)
    ) async throws -> IntentStorage {
        try await withCheckedThrowingContinuation { continuation in
            let pending = PendingIntent(
                sender: sender, id: message.id!.description, canonical: message.canonicalForm, offers: offers, at: now,
                nonce: seen.nonce, seenUntil: seen.until, continuation: continuation)
            let startWriter = pendingIntents.withLock { queue in
                queue.intents.append(pending)
                defer { queue.writing = true }
                return !queue.writing
            }
            if startWriter { Task { await self.writePendingIntents() } }
        }
    }

    /// What became of an intent sent to the store.
    enum IntentStorage: Equatable, Sendable {
        /// New: stored with its offers.
        case stored
        /// The sender had sent this intent before (in another envelope); nothing is stored. Its state.
        case alreadyReceived(state: String)
        /// This very envelope was received before (perhaps before a restart): a replay.
        case replay
        /// The sender already has ``VendorStore/maximumOpenIntentsPerSender`` open intents: nothing is stored.
        case tooMany
    }

    /// How many open intents one key may have stored at once: a flood from one key fills its own quota, not the
    /// vendor's disk.
    static let maximumOpenIntentsPerSender = 200

    struct PendingIntent: Sendable {
        let sender: Data
        let id: String
        let canonical: String
        let offers: [StoredOffer]
        let at: Int64
        let nonce: Data
        let seenUntil: Int64
        let continuation: CheckedContinuation<IntentStorage, any Error>
    }

    struct PendingIntents: Sendable {
        var intents: [PendingIntent] = []
        var writing = false
    }

    private func writePendingIntents() async {
        while true {
            let batch = pendingIntents.withLock { queue in
                let batch = queue.intents
                queue.intents = []
                if batch.isEmpty { queue.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let states = try await database.write { db in
                    try VendorStore.pruneSeen(db, now: batch[0].at)
                    return try batch.map { intent -> IntentStorage in
                        guard
                            try VendorStore.recordSeen(
                                db, sender: intent.sender, nonce: intent.nonce, expiresAt: intent.seenUntil)
                        else { return .replay }
                        if let state = try String.fetchOne(
                            db, sql: "SELECT state FROM intents WHERE sender = ? AND id = ?",
                            arguments: [intent.sender, intent.id])
                        {
                            return .alreadyReceived(state: state)
                        }
                        let open =
                            try Int.fetchOne(
                                db, sql: "SELECT COUNT(*) FROM intents WHERE sender = ? AND state = 'open'",
                                arguments: [intent.sender]) ?? 0
                        guard open < VendorStore.maximumOpenIntentsPerSender else { return .tooMany }
                        try db.execute(
                            sql:
                                "INSERT INTO intents (sender, id, state, canonical, received_at) VALUES (?, ?, 'open', ?, ?)",
                            arguments: [intent.sender, intent.id, intent.canonical, intent.at])
                        try VendorStore.insert(intent.offers, in: db)
                        return .stored
                    }
                }
                for (intent, state) in zip(batch, states) { intent.continuation.resume(returning: state) }
            } catch {
                for intent in batch { intent.continuation.resume(throwing: error) }
            }
        }
    }

    /// The messages of the open offers already made for an intent, so a resent intent gets the same answer.
    func openOfferMessages(sender: Data, intentID: String) async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT envelope FROM offers WHERE sender = ? AND intent_id = ? AND state = 'open' ORDER BY rowid",
                arguments: [sender, intentID])
        }.compactMap { try? Envelope.decode(json: Array($0.utf8)).envelope.msg }
    }

    static func insert(_ offers: [StoredOffer], in db: Database) throws {
        for offer in offers {
            try db.execute(
                sql: """
                    INSERT INTO offers (id, sender, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, envelope)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    offer.id, offer.sender, offer.intentID, offer.sku, offer.price.thousandths,
                    offer.price.currency.description, offer.qty, offer.needs.map(\.rawValue).joined(separator: ","),
                    offer.terms.joined(separator: ","), offer.expiresAt, offer.state, offer.envelope,
                ])
        }
    }

    /// The offer `id` made to `sender`; another person's offer is not found.
    func offer(id: String, sender: Data) async throws -> StoredOffer? {
        try await database.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM offers WHERE id = ? AND sender = ?", arguments: [id, sender])
            else { return nil }
            return StoredOffer(
                id: row["id"], sender: row["sender"], intentID: row["intent_id"], sku: row["sku"],
                price: Money(thousandths: row["price"], currency: CurrencyCode(row["currency"] as String)!)!,
                qty: row["qty"],
                needs: (row["needs"] as String).split(separator: ",").compactMap { DataCategory(rawValue: String($0)) },
                terms: (row["terms"] as String).split(separator: ",").map(String.init), expiresAt: row["expires_at"],
                state: row["state"], envelope: row["envelope"])
        }
    }

    /// Replaces a countered offer by the new one, only while the countered offer is still open: of two counters (or
    /// a counter and an accept) arriving at once, one wins.
    ///
    /// - Returns: Whether the offer was still open and was replaced.
    func supersede(offerID: String, with newOffer: StoredOffer) async throws -> Bool {
        try await database.writeWithoutTransaction { db in
            var replaced = false
            try db.inTransaction(.immediate) {
                try db.execute(
                    sql: "UPDATE offers SET state = 'countered' WHERE id = ? AND state = 'open'", arguments: [offerID])
                guard db.changesCount == 1 else { return .rollback }
                try VendorStore.insert([newOffer], in: db)
                replaced = true
                return .commit
            }
            return replaced
        }
    }

    func setOfferState(id: String, sender: Data, to state: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE offers SET state = ? WHERE id = ? AND sender = ?", arguments: [state, id, sender])
        }
    }

    /// Marks an intent withdrawn and its open offers with it.
    func withdrawIntent(sender: Data, id: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE intents SET state = 'withdrawn' WHERE sender = ? AND id = ?", arguments: [sender, id])
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql: "UPDATE offers SET state = 'withdrawn' WHERE sender = ? AND intent_id = ? AND state = 'open'",
                arguments: [sender, id])
            return true
        }
    }

    // MARK: - Deals

    /// How many of `sku` are promised in deals.
    func soldCount(sku: String) async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(qty), 0) FROM deals WHERE sku = ?", arguments: [sku]) ?? 0
        }
    }

    /// What came of an attempt to make a deal.
    enum DealOutcome: Equatable, Sendable {
        /// The deal was written and the offer is `accepted`.
        case made
        /// This very accept made the deal before (a retry racing the first send).
        case alreadyMade
        /// The offer was no longer open (another accept won, or it was countered or withdrawn): its state now.
        case offerNotOpen(String)
        /// The offer has expired.
        case expired
        /// Fewer than the offer's quantity are left.
        case soldOut
    }

    /// Makes a deal exactly once: in one `BEGIN IMMEDIATE` transaction the offer must still be open and unexpired,
    /// the stock must cover it, and the offer moves to `accepted` as the deal is written. However many accepts of one
    /// offer arrive at once, in this process or another, one deal is made and stock never goes below zero.
    ///
    /// - Parameter stock: The item's stock, or `nil` when it is unlimited.
    func makeDeal(
        sender: Data, acceptID: String, offer: StoredOffer, stock: Int?, acceptEnvelope: String,
        confirmEnvelope: String, disclosed: String?, now: Int64
    ) async throws -> DealOutcome {
        try await database.writeWithoutTransaction { db in
            var outcome = DealOutcome.made
            try db.inTransaction(.immediate) {
                if try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
                    == true
                {
                    outcome = .alreadyMade
                    return .rollback
                }
                try db.execute(
                    sql:
                        "UPDATE offers SET state = 'accepted' WHERE id = ? AND sender = ? AND state = 'open' AND expires_at >= ?",
                    arguments: [offer.id, sender, now])
                guard db.changesCount == 1 else {
                    let state = try String.fetchOne(
                        db, sql: "SELECT state FROM offers WHERE id = ? AND sender = ?", arguments: [offer.id, sender])
                    outcome = state == "open" ? .expired : .offerNotOpen(state ?? "unknown")
                    return .rollback
                }
                if let stock {
                    let sold =
                        try Int.fetchOne(
                            db, sql: "SELECT COALESCE(SUM(qty), 0) FROM deals WHERE sku = ?", arguments: [offer.sku])
                        ?? 0
                    guard sold + offer.qty <= stock else {
                        outcome = .soldOut
                        return .rollback
                    }
                }
                try db.execute(
                    sql: """
                        INSERT INTO deals (sender, accept_id, offer_id, sku, qty, state, accept_envelope, confirm_envelope, disclosed)
                        VALUES (?, ?, ?, ?, ?, 'confirmed', ?, ?, ?)
                        """,
                    arguments: [
                        sender, acceptID, offer.id, offer.sku, offer.qty, acceptEnvelope, confirmEnvelope, disclosed,
                    ])
                return .commit
            }
            return outcome
        }
    }

    /// Deletes what was disclosed under a deal and keeps the rest of the record, with the sealed data replaced by
    /// its digest. Returns `false` when `sender` has no such deal.
    func forget(sender: Data, acceptID: String, strippedAccept: String, digest: String) async throws -> Bool {
        let found = try await database.write { db -> Bool in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
            else { return false }
            // Deleted and inserted again rather than updated, so secure_delete zeroes the whole old cell.
            try db.execute(
                sql: "DELETE FROM deals WHERE sender = ? AND accept_id = ?", arguments: [sender, acceptID])
            try db.execute(
                sql: """
                    INSERT INTO deals (sender, accept_id, offer_id, sku, qty, state, accept_envelope, confirm_envelope, disclosed, disclosed_digest)
                    VALUES (?, ?, ?, ?, ?, 'forgotten', ?, ?, NULL, ?)
                    """,
                arguments: [
                    sender, acceptID, row["offer_id"] as String, row["sku"] as String, row["qty"] as Int,
                    strippedAccept, row["confirm_envelope"] as String, digest,
                ])
            return true
        }
        if found {
            try await database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        return found
    }

    /// The deals made, for the vendor's own review: accept id, state and sku.
    public func deals() async throws -> [(acceptID: String, state: String, sku: String, disclosed: String?)] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT accept_id, state, sku, disclosed FROM deals ORDER BY rowid").map {
                ($0["accept_id"], $0["state"], $0["sku"], $0["disclosed"])
            }
        }
    }

    /// The senders' keys the vendor has on record, for checking that they are pairwise.
    public func knownSenders() async throws -> Set<Data> {
        try await database.read { db in
            Set(try Data.fetchAll(db, sql: "SELECT sender FROM intents UNION SELECT sender FROM offers"))
        }
    }
}

extension VendorStore {
    /// The accept envelope stored for a deal, or `nil` when `sender` has no such deal.
    func dealAcceptEnvelope(sender: Data, acceptID: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(
                db, sql: "SELECT accept_envelope FROM deals WHERE sender = ? AND accept_id = ?",
                arguments: [sender, acceptID])
        }
    }
}
