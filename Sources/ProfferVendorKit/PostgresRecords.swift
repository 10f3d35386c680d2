import Foundation
import Logging
import PostgresNIO
import ProfferWire
import ServiceLifecycle
import Synchronization

/// The vendor's records in PostgreSQL: any number of `proffer-vendor serve` instances over one database act as one
/// vendor (an intent sent to one can be accepted through another, and a replay at any of them is refused).
///
/// Each change that must happen at most once is one transaction with a conditional `UPDATE … WHERE state = 'open'`
/// that must change exactly one row; the stock check holds a transaction-scoped advisory lock on the item, so two
/// deals for its last unit, at two instances, cannot both pass it.
public final class PostgresRecords: VendorRecords {
    let client: PostgresClient
    let location: PostgresLocation
    private let logger: Logger
    /// When this instance last pruned the replay window: once a second is enough, and spares the instances from
    /// contending for the same old rows on every request.
    private let lastPrune = Mutex<Int64>(0)

    /// - Parameter startupDeadline: How long ``migrate()`` waits for the database to answer at all (tests on a loaded
    ///   machine give it longer).
    public init(
        location: PostgresLocation, logger: Logger = Logger(label: "proffer-vendor.postgres"),
        startupDeadline: Duration = PostgresRecords.defaultStartupDeadline
    ) {
        self.startupDeadline = startupDeadline
        var configuration: PostgresClient.Configuration
        switch location.endpoint {
        case .socket(let path):
            configuration = .init(
                unixSocketPath: path, username: location.user, password: location.password,
                database: location.database)
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: location.user, password: location.password,
                database: location.database,
                tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.location = location
        self.logger = logger
    }

    /// Runs the connection pool until the service group stops.
    public func run() async throws {
        running.withLock { $0 = true }
        await client.run()
    }

    /// Each statement waits on the network, and PostgreSQL commits concurrent transactions together: several groups
    /// of intents are written at once, leaving connections in the pool for the other requests.
    public var concurrentWrites: Int { 8 }

    /// Ids for the offers answering one intent: 25 random bits shared by all, then 15 random bits each, all
    /// different. Offers are keyed by sender and id, so the offers of one intent sit side by side and storing them
    /// dirties one page, not one each. Ids are drawn at random because instances share the database: a clash with an
    /// offer already made to the sender is caught when it is stored (``IntentStorage/offerIDTaken``). An offer id is
    /// no secret: it is found only together with the key of the sender it was made to, and says nothing `re:` does
    /// not (that these offers answer one intent).
    public func newOfferIDs(count: Int) -> [MessageID] { PostgresRecords.offerIDs(count: count) }

    /// PostgreSQL checkpoints on its own.
    public func finishGroupCommit() async {}

    static func offerIDs(count: Int) -> [MessageID] {
        var generator = SystemRandomNumberGenerator()
        let shared = generator.next() & 0xFF_FFFF_8000
        var ids: [MessageID] = []
        ids.reserveCapacity(count)
        while ids.count < count {
            let id = MessageID(bits: shared | (generator.next() & 0x7FFF))
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Whether ``run()`` was called: queries made before it would wait for the pool (and PostgresNIO warns).
    private let running = Mutex(false)

    // MARK: - Migrations

    /// Each migration runs once, in order, in one transaction; an advisory lock makes instances that start together
    /// take turns.
    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE intents (
                    sender BYTEA NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, canonical TEXT NOT NULL,
                    received_at BIGINT NOT NULL, PRIMARY KEY (sender, id))
                """,
                """
                CREATE TABLE offers (
                    seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, sender BYTEA NOT NULL, intent_id TEXT NOT NULL,
                    sku TEXT NOT NULL, price BIGINT NOT NULL, currency TEXT NOT NULL, qty BIGINT NOT NULL,
                    needs TEXT NOT NULL, terms TEXT NOT NULL, expires_at BIGINT NOT NULL, state TEXT NOT NULL,
                    envelope TEXT NOT NULL)
                """,
                "CREATE INDEX offers_by_intent ON offers (sender, intent_id)",
                """
                CREATE TABLE deals (
                    seq BIGSERIAL NOT NULL, sender BYTEA NOT NULL, accept_id TEXT NOT NULL, offer_id TEXT NOT NULL,
                    sku TEXT NOT NULL, qty BIGINT NOT NULL, state TEXT NOT NULL, accept_envelope TEXT NOT NULL,
                    confirm_envelope TEXT NOT NULL, disclosed TEXT, disclosed_digest TEXT,
                    PRIMARY KEY (sender, accept_id))
                """,
                "CREATE INDEX deals_by_sku ON deals (sku)",
                // Unique by (sender, nonce) whatever the envelope's `ts`: instances share no memory, so the table
                // alone must catch every reuse of a pair while it may still be fresh.
                """
                CREATE TABLE seen (
                    sender BYTEA NOT NULL, nonce BYTEA NOT NULL, expires_at BIGINT NOT NULL,
                    PRIMARY KEY (sender, nonce))
                """,
                "CREATE INDEX seen_by_expiry ON seen (expires_at)",
            ]
        ),
        (
            // Offer ids are unique per sender, as they are looked up: 40 random bits are not unique among millions of
            // offers to everyone. Offers keep their message, not the signed envelope (an offer sent again is signed
            // afresh), as on SQLite: the column is rewritten in place, one pass over the table that frees the
            // envelopes' space.
            "v2-offers-by-sender",
            [
                "ALTER TABLE offers ALTER COLUMN envelope TYPE TEXT USING (envelope::json ->> 'msg')",
                "ALTER TABLE offers RENAME COLUMN envelope TO message",
                "ALTER TABLE offers DROP CONSTRAINT offers_pkey",
                "ALTER TABLE offers ADD PRIMARY KEY (sender, id)",
            ]
        ),
        (
            // Accepts a person asked to forget before they made a deal (PROTOCOL.md §4.1), shared by every instance.
            "v3-forgotten-accepts",
            [
                """
                CREATE TABLE forgotten_accepts (
                    sender BYTEA NOT NULL, accept_id TEXT NOT NULL, expires_at BIGINT NOT NULL,
                    PRIMARY KEY (sender, accept_id))
                """,
                "CREATE INDEX forgotten_accepts_by_expiry ON forgotten_accepts (expires_at)",
            ]
        ),
        (
            // What the vendor's desk shows of each intent: how it came, and what the vendor did with it.
            "v4-desk",
            [
                "ALTER TABLE intents ADD COLUMN transport TEXT NOT NULL DEFAULT 'http'",
                "ALTER TABLE intents ADD COLUMN handling TEXT NOT NULL DEFAULT ''",
                "CREATE INDEX intents_by_time ON intents (received_at)",
            ]
        ),
    ]

    /// How long startup waits for the database to answer before giving up with a clear line. Migrations are not
    /// timed: rewriting a large table may take minutes, and must not be cut off by a deadline meant for a database
    /// that never answers.
    public static let defaultStartupDeadline: Duration = .seconds(15)
    let startupDeadline: Duration

    public func migrate() async throws {
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await self.probe()
                    while !self.running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                    _ = try await self.onConnection { connection in
                        try await connection.query("SELECT 1", logger: self.logger)
                    }
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: self.startupDeadline)
                    return false
                }
                let migrated = try await group.next()!
                group.cancelAll()
                guard migrated else {
                    throw VendorStoreError(
                        .unavailable,
                        "cannot use the database at \(location): no answer within \(startupDeadline.components.seconds) s. Is PostgreSQL running "
                            + "there, "
                            + "and is the address right?")
                }
            }
            try await applyMigrations()
        } catch let error as PSQLError {
            throw VendorStoreError(
                .unavailable, "cannot use the database at \(location): \(PostgresRecords.explain(error))")
        }
    }

    /// What went wrong, in words that name the cause but no secret (PostgresNIO's own description hides everything).
    static func explain(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        switch error.code {
        case .connectionError: return "cannot connect: is PostgreSQL running there, and is the address right?"
        case .serverClosedConnection: return "the server closed the connection"
        default: return "the connection failed (\(error.code))"
        }
    }

    /// One connection made directly, before the pool is used: the pool retries a failing connection until the
    /// deadline, so its error would only ever be "no answer", while a person needs "password authentication failed"
    /// or "database … does not exist" at once. (With TLS required, the pool's own attempt tells.)
    private func probe() async throws {
        guard !location.requireTLS else { return }
        let configuration: PostgresConnection.Configuration
        switch location.endpoint {
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: location.user, password: location.password,
                database: location.database, tls: .disable)
        case .socket(let path):
            configuration = .init(
                unixSocketPath: path, username: location.user, password: location.password,
                database: location.database)
        }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }

    private func applyMigrations() async throws {
        _ = try await transaction { connection -> Bool in
            try await connection.query("SELECT pg_advisory_xact_lock(7012)", logger: self.logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS proffer_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                logger: self.logger)
            var applied = Set<String>()
            for try await name in try await connection.query(
                "SELECT name FROM proffer_migrations", logger: self.logger
            ).decode(String.self) {
                applied.insert(name)
            }
            for migration in PostgresRecords.migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                let now = Int64(Date().timeIntervalSince1970)
                try await connection.query(
                    "INSERT INTO proffer_migrations (name, applied_at) VALUES (\(migration.name), \(now))",
                    logger: self.logger)
            }
            return true
        }
    }

    // MARK: - Transactions

    /// Runs `change` in one transaction, committed only when its outcome is a made change; any other outcome rolls
    /// back whatever it wrote. A deadlock or serialization failure (two instances crossing) is retried.
    private func transaction<Outcome: CommitDecision>(
        _ change: (PostgresConnection) async throws -> Outcome
    ) async throws -> Outcome {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let outcome = try await change(connection)
                        try await connection.query(outcome.commits ? "COMMIT" : "ROLLBACK", logger: logger)
                        return outcome
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 4 && PostgresRecords.isRetryable(error) {
                continue
            }
        }
    }

    static func isRetryable(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == "40P01" || state == "40001"
    }

    private func exists(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Bool {
        for try await _ in try await connection.query(query, logger: logger) { return true }
        return false
    }

    private func firstValue<Value: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as type: Value.Type, on connection: PostgresConnection
    ) async throws -> Value? {
        for try await value in try await connection.query(query, logger: logger).decode(Value.self) { return value }
        return nil
    }

    /// Runs `body` on a pooled connection, outside any transaction: for one statement, which PostgreSQL makes atomic.
    private func onConnection<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws
        -> Value
    {
        try await client.withConnection { try await body($0) }
    }

    // MARK: - The replay window

    public func admit(sender: Data, nonce: Data, until: Int64, now: Int64) async throws -> Bool {
        try await onConnection { connection in
            try await pruneSeen(on: connection, now: now)
            return try await recordSeen(on: connection, sender: sender, nonce: nonce, expiresAt: until)
        }
    }

    private func pruneSeen(on connection: PostgresConnection, now: Int64) async throws {
        let due = lastPrune.withLock { last in
            guard now > last else { return false }
            last = now
            return true
        }
        if due { try await connection.query("DELETE FROM seen WHERE expires_at < \(now)", logger: logger) }
    }

    private func recordSeen(on connection: PostgresConnection, sender: Data, nonce: Data, expiresAt: Int64)
        async throws -> Bool
    {
        try await exists(
            """
            INSERT INTO seen (sender, nonce, expires_at) VALUES (\(sender), \(nonce), \(expiresAt))
            ON CONFLICT DO NOTHING RETURNING 1
            """, on: connection)
    }

    // MARK: - Intents and offers

    public func storeIntents(_ batch: [IntentToStore]) async throws -> [IntentStorage] {
        guard let first = batch.first else { return [] }
        let outcomes = try await transaction { connection -> StoredBatch in
            try await pruneSeen(on: connection, now: first.receivedAt)
            var outcomes: [IntentStorage] = []
            for intent in batch {
                outcomes.append(try await store(intent, on: connection))
            }
            return StoredBatch(outcomes: outcomes)
        }
        return outcomes.outcomes
    }

    private struct StoredBatch: CommitDecision {
        var outcomes: [IntentStorage]
        var commits: Bool { true }
    }

    private func store(_ intent: IntentToStore, on connection: PostgresConnection) async throws -> IntentStorage {
        // Every envelope's pair is kept in `seen` here (instances share no memory): its insert tells a replay.
        let pairSeen = try await !recordSeen(
            on: connection, sender: intent.sender, nonce: intent.nonce, expiresAt: intent.seenUntil)
        let existing = try await firstValue(
            "SELECT state FROM intents WHERE sender = \(intent.sender) AND id = \(intent.id)", as: String.self,
            on: connection
        ).map { (state: IntentState(rawValue: $0) ?? .open, nonce: Data?.none) }
        let open =
            try await firstValue(
                """
                SELECT COUNT(*) FROM intents
                WHERE sender = \(intent.sender) AND state = \(IntentState.open.rawValue)
                  AND received_at >= \(intent.quotaSince)
                """, as: Int.self, on: connection) ?? 0
        switch VendorLedger.admit(intent, known: .init(pairSeen: pairSeen, existing: existing, openIntents: open)) {
        case .refuse(.tooMany):
            try await forgetPair(of: intent, on: connection)
            return .tooMany
        case .refuse(let outcome): return outcome
        case .store: break
        }
        // Another instance may store the same intent at this moment: the key decides, and the loser sees it as
        // received before.
        guard
            try await exists(
                """
                INSERT INTO intents (sender, id, state, canonical, received_at, transport, handling)
                VALUES (\(intent.sender), \(intent.id), \(IntentState.open.rawValue), \(intent.canonical),
                        \(intent.receivedAt), \(intent.transport.rawValue), \(intent.handling.description))
                ON CONFLICT DO NOTHING RETURNING 1
                """, on: connection)
        else { return .alreadyReceived(.open) }
        for (index, offer) in intent.offers.enumerated() where try await !insert(offer, on: connection) {
            // Undone within the batch's transaction, which the other intents in it still commit.
            for inserted in intent.offers[..<index] {
                try await connection.query(
                    "DELETE FROM offers WHERE sender = \(inserted.sender) AND id = \(inserted.id)", logger: logger)
            }
            try await connection.query(
                "DELETE FROM intents WHERE sender = \(intent.sender) AND id = \(intent.id)", logger: logger)
            try await forgetPair(of: intent, on: connection)
            return .offerIDTaken
        }
        return .stored
    }

    /// Removes the pair of an intent that was not stored: its envelope may come again once the cause is gone.
    private func forgetPair(of intent: IntentToStore, on connection: PostgresConnection) async throws {
        try await connection.query(
            "DELETE FROM seen WHERE sender = \(intent.sender) AND nonce = \(intent.nonce)", logger: logger)
    }

    /// Inserts an offer; `false`, with nothing inserted, when its id is already an offer to its sender.
    private func insert(_ offer: StoredOffer, on connection: PostgresConnection) async throws -> Bool {
        try await exists(
            """
            INSERT INTO offers (id, sender, intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message)
            VALUES (\(offer.id), \(offer.sender), \(offer.intentID), \(offer.sku), \(offer.price.thousandths),
                    \(offer.price.currency.description), \(offer.qty), \(offer.needsColumn), \(offer.termsColumn),
                    \(offer.expiresAt), \(offer.state.rawValue), \(offer.message))
            ON CONFLICT DO NOTHING RETURNING 1
            """, on: connection)
    }

    public func openOffers(sender: Data, intentID: MessageID, now: Int64) async throws -> [(
        message: String, expiresAt: Int64
    )] {
        try await onConnection { connection in
            var offers: [(message: String, expiresAt: Int64)] = []
            for try await (message, expiresAt) in try await connection.query(
                """
                SELECT message, expires_at FROM offers
                WHERE sender = \(sender) AND intent_id = \(intentID) AND state = \(OfferState.open.rawValue)
                  AND expires_at >= \(now)
                ORDER BY seq
                """, logger: logger
            ).decode((String, Int64).self) {
                offers.append((message, expiresAt))
            }
            return offers
        }
    }

    public func offer(id: MessageID, sender: Data) async throws -> StoredOffer? {
        try await onConnection { connection in
            let rows = try await connection.query(
                """
                SELECT intent_id, sku, price, currency, qty, needs, terms, expires_at, state, message
                FROM offers WHERE id = \(id) AND sender = \(sender)
                """, logger: logger)
            for try await (intentID, sku, price, currency, qty, needs, terms, expiresAt, state, message)
                in rows.decode(
                    (MessageID, String, Int64, String, Int, String, String, Int64, String, String).self)
            {
                return StoredOffer(
                    id: id, sender: sender, intentID: intentID, sku: sku, thousandths: price, currency: currency,
                    qty: qty, needs: needs, terms: terms, expiresAt: expiresAt, state: state, message: message)
            }
            return nil
        }
    }

    public func supersede(offerID: MessageID, with newOffer: StoredOffer) async throws -> Supersession {
        try await transaction { connection -> Supersession in
            let wasOpen = try await changeOfferState(
                sender: newOffer.sender, id: offerID, from: .open, to: .countered, on: connection)
            let made =
                try await firstValue(
                    "SELECT COUNT(*) FROM offers WHERE sender = \(newOffer.sender) AND intent_id = \(newOffer.intentID)",
                    as: Int.self, on: connection) ?? 0
            if let outcome = VendorLedger.counter(offerWasOpen: wasOpen, offersMade: made) { return outcome }
            return try await insert(newOffer, on: connection) ? .replaced : .offerIDTaken
        }
    }

    public func declineOffer(id: MessageID, sender: Data) async throws -> Bool {
        try await onConnection { connection in
            try await changeOfferState(sender: sender, id: id, from: .open, to: .declined, on: connection)
        }
    }

    public func withdrawIntent(sender: Data, id: MessageID) async throws -> Bool {
        try await transaction { connection in
            guard
                try await exists(
                    """
                    UPDATE intents SET state = \(IntentState.withdrawn.rawValue) WHERE sender = \(sender) AND id = \(id)
                    RETURNING 1
                    """, on: connection)
            else { return false }
            try await connection.query(
                """
                UPDATE offers SET state = \(OfferState.withdrawn.rawValue)
                WHERE sender = \(sender) AND intent_id = \(id) AND state = \(OfferState.open.rawValue)
                """, logger: logger)
            return true
        }
    }

    /// Moves an offer from one state to another: `false`, changing nothing, when it is not in `from`. The update
    /// waits for any transaction holding the row, and then sees its outcome.
    private func changeOfferState(
        sender: Data, id: MessageID, from: OfferState, to: OfferState, on connection: PostgresConnection
    ) async throws -> Bool {
        try await exists(
            """
            UPDATE offers SET state = \(to.rawValue) WHERE id = \(id) AND sender = \(sender) AND state = \(from.rawValue)
            RETURNING 1
            """, on: connection)
    }

    // MARK: - Deals

    public func soldCount(sku: String) async throws -> Int {
        try await onConnection { connection in try await soldCount(sku: sku, on: connection) }
    }

    private func soldCount(sku: String, on connection: PostgresConnection) async throws -> Int {
        try await firstValue(
            "SELECT COALESCE(SUM(qty), 0)::BIGINT FROM deals WHERE sku = \(sku)", as: Int.self, on: connection) ?? 0
    }

    public func makeDeal(_ deal: DealToMake) async throws -> DealOutcome {
        try await transaction { connection -> DealOutcome in
            // A forget of this accept, or the same accept id, at another instance waits for this deal, or this deal
            // for it; the offer's row is held until the deal commits, so another accept of it waits and then reads
            // what this one wrote.
            try await lockAccept(sender: deal.sender, acceptID: deal.acceptID, on: connection)
            var offer: (state: OfferState, expiresAt: Int64)?
            for try await (state, expiresAt) in try await connection.query(
                """
                SELECT state, expires_at FROM offers WHERE id = \(deal.offer.id) AND sender = \(deal.sender) FOR UPDATE
                """, logger: logger
            ).decode((String, Int64).self) {
                offer = (OfferState(rawValue: state) ?? .withdrawn, expiresAt)
            }
            let earlierDealOffer = try await firstValue(
                "SELECT offer_id FROM deals WHERE sender = \(deal.sender) AND accept_id = \(deal.acceptID)",
                as: MessageID.self, on: connection)
            let facts = VendorLedger.DealFacts(
                acceptForgotten: try await isForgottenAccept(
                    sender: deal.sender, acceptID: deal.acceptID, now: deal.now, on: connection),
                earlierDealOffer: earlierDealOffer, offer: offer)
            if let outcome = VendorLedger.deal(deal, facts: facts) { return outcome }
            _ = try await changeOfferState(
                sender: deal.sender, id: deal.offer.id, from: .open, to: .accepted, on: connection)
            var sold = 0
            if deal.stock != nil {
                // Deals for other offers of this item, at any instance, wait here until this one commits.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext(\("sku:" + deal.offer.sku)))", logger: logger)
                sold = try await soldCount(sku: deal.offer.sku, on: connection)
            }
            if let outcome = VendorLedger.stock(sold: sold, quantity: deal.offer.qty, stock: deal.stock) {
                return outcome
            }
            guard
                try await exists(
                    """
                    INSERT INTO deals (sender, accept_id, offer_id, sku, qty, state, accept_envelope, confirm_envelope, disclosed)
                    VALUES (\(deal.sender), \(deal.acceptID), \(deal.offer.id), \(deal.offer.sku), \(deal.offer.qty),
                            \(DealState.confirmed.rawValue), \(deal.acceptEnvelope), \(deal.confirmEnvelope),
                            \(deal.disclosed))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """, on: connection)
            else { return .acceptIDTaken }
            return .made
        }
    }

    /// Holds, until the transaction ends, the lock that a deal and a forget of the same accept both take: under
    /// READ COMMITTED neither would otherwise see the other's uncommitted row, and both could commit.
    private func lockAccept(sender: Data, acceptID: MessageID, on connection: PostgresConnection) async throws {
        let key = "accept:" + sender.base64EncodedString() + ":" + acceptID.description
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(key)))", logger: logger)
    }

    public func rememberForgottenAccept(sender: Data, acceptID: MessageID, until: Int64, now: Int64) async throws
        -> ForgottenAccept
    {
        try await transaction { connection -> ForgottenAccept in
            try await lockAccept(sender: sender, acceptID: acceptID, on: connection)
            try await connection.query("DELETE FROM forgotten_accepts WHERE expires_at < \(now)", logger: logger)
            let decision = VendorLedger.forgetWithoutDeal(
                dealExists: try await exists(
                    "SELECT 1 FROM deals WHERE sender = \(sender) AND accept_id = \(acceptID)", on: connection),
                senderHoldsOffers: try await exists(
                    "SELECT 1 FROM offers WHERE sender = \(sender) LIMIT 1", on: connection),
                remembered: try await firstValue(
                    """
                    SELECT COUNT(*) FROM forgotten_accepts WHERE sender = \(sender) AND accept_id <> \(acceptID)
                    """, as: Int.self, on: connection) ?? 0)
            guard decision == .remembered else { return decision }
            try await connection.query(
                """
                INSERT INTO forgotten_accepts (sender, accept_id, expires_at) VALUES (\(sender), \(acceptID), \(until))
                ON CONFLICT (sender, accept_id) DO UPDATE
                    SET expires_at = GREATEST(forgotten_accepts.expires_at, excluded.expires_at)
                """, logger: logger)
            return .remembered
        }
    }

    public func isForgottenAccept(sender: Data, acceptID: MessageID, now: Int64) async throws -> Bool {
        try await onConnection { connection in
            try await isForgottenAccept(sender: sender, acceptID: acceptID, now: now, on: connection)
        }
    }

    private func isForgottenAccept(sender: Data, acceptID: MessageID, now: Int64, on connection: PostgresConnection)
        async throws -> Bool
    {
        try await exists(
            """
            SELECT 1 FROM forgotten_accepts WHERE sender = \(sender) AND accept_id = \(acceptID) AND expires_at >= \(now)
            """, on: connection)
    }

    public func forget(sender: Data, acceptID: MessageID, strippedAccept: String, digest: String) async throws -> Bool {
        // PostgreSQL keeps the old row version until VACUUM reuses its space, and its bytes in the WAL until
        // recycled: the README asks vendors to run it on an encrypted disk. A retried forget keeps the digest of what
        // was disclosed, which it can no longer compute.
        try await transaction { connection -> Bool in
            var found: (state: DealState, digest: String?)?
            for try await (state, digest) in try await connection.query(
                """
                SELECT state, disclosed_digest FROM deals WHERE sender = \(sender) AND accept_id = \(acceptID) FOR UPDATE
                """, logger: logger
            ).decode((String, String?).self) {
                found = (DealState(rawValue: state) ?? .confirmed, digest)
            }
            guard let found else { return false }
            let kept = VendorLedger.keptDigest(state: found.state, stored: found.digest, computed: digest)
            try await connection.query(
                """
                UPDATE deals SET state = \(DealState.forgotten.rawValue), disclosed = NULL,
                    accept_envelope = \(strippedAccept), disclosed_digest = \(kept)
                WHERE sender = \(sender) AND accept_id = \(acceptID)
                """, logger: logger)
            return true
        }
    }

    public func deal(sender: Data, acceptID: MessageID) async throws -> StoredDeal? {
        try await onConnection { connection in
            for try await (offerID, sku, acceptEnvelope, confirmEnvelope) in try await connection.query(
                """
                SELECT offer_id, sku, accept_envelope, confirm_envelope FROM deals
                WHERE sender = \(sender) AND accept_id = \(acceptID)
                """,
                logger: logger
            ).decode((MessageID, String, String, String).self) {
                return StoredDeal(
                    offerID: offerID, sku: sku, acceptEnvelope: acceptEnvelope, confirmEnvelope: confirmEnvelope)
            }
            return nil
        }
    }

    public func deals() async throws -> [DealRecord] {
        try await onConnection { connection in
            var deals: [DealRecord] = []
            for try await (acceptID, state, sku, disclosed) in try await connection.query(
                "SELECT accept_id, state, sku, disclosed FROM deals ORDER BY seq", logger: logger
            ).decode((String, String, String, String?).self) {
                deals.append(
                    DealRecord(
                        acceptID: acceptID, state: DealState(rawValue: state) ?? .confirmed, sku: sku,
                        disclosed: disclosed))
            }
            return deals
        }
    }

    public func deskIntents(since: Int64) async throws -> [DeskIntent] {
        try await onConnection { connection in
            var intents: [DeskIntent] = []
            let rows = try await connection.query(
                """
                SELECT i.sender, i.id, i.state, i.canonical, i.received_at, i.transport, i.handling,
                    COALESCE((SELECT string_agg(o.id, ',' ORDER BY o.seq) FROM offers o
                              WHERE o.sender = i.sender AND o.intent_id = i.id), '')
                FROM intents i WHERE i.received_at >= \(since) ORDER BY i.received_at DESC
                """, logger: logger)
            for try await (sender, id, state, canonical, receivedAt, transport, handling, offers) in rows.decode(
                (Data, String, String, String, Int64, String, String, String).self)
            {
                intents.append(
                    DeskIntent(
                        sender: sender, id: id, canonical: canonical, state: IntentState(rawValue: state) ?? .open,
                        receivedAt: receivedAt,
                        offerIDs: offers.isEmpty ? [] : offers.split(separator: ",").map(String.init),
                        transport: IntentTransport(rawValue: transport) ?? .http, handling: IntentHandling(handling)))
            }
            return intents
        }
    }

    public func storageError(_ error: any Error) -> VendorStoreError? {
        if let error = error as? VendorStoreError { return error }
        guard let error = error as? PSQLError else { return nil }
        return VendorStoreError(.failed, "PostgreSQL: " + PostgresRecords.explain(error))
    }

    public func knownSenders() async throws -> Set<Data> {
        try await onConnection { connection in
            var senders = Set<Data>()
            for try await sender in try await connection.query(
                "SELECT sender FROM intents UNION SELECT sender FROM offers", logger: logger
            ).decode(Data.self) {
                senders.insert(sender)
            }
            return senders
        }
    }
}

/// Message ids are stored as their canonical text: bound and read as such, so no call site converts them.
extension MessageID: PostgresNonThrowingEncodable, PostgresDecodable {
    public static var psqlType: PostgresDataType { .text }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeString(description)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard let text = buffer.readString(length: buffer.readableBytes), let id = MessageID(text) else {
            throw PostgresDecodingError.Code.failure
        }
        self = id
    }
}
