import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

extension Vault {
    /// Stores an intent as a draft, giving it a fresh id when it has none.
    ///
    /// - Returns: The stored intent, whose `canonical` form is what gets published.
    /// - Throws: ``VaultError`` when the message is not an intent, its id is taken, or the persona is unknown.
    public func addIntent(_ message: Message, persona: String) throws -> StoredIntent {
        try addIntents([message], persona: persona)[0]
    }

    /// Stores several intents as drafts in one transaction: all of them, or none.
    public func addIntents(_ messages: [Message], persona: String) throws -> [StoredIntent] {
        let now = Date()
        let intents = try messages.map { message in
            guard message.kind.isIntent else {
                throw VaultError(
                    .invalidInput(
                        "#\(message.kind.rawValue) is not an intent: an intent starts with #buy, #rent, #hire or #fix"))
            }
            var intent = message
            if intent.id == nil { intent.id = MessageID.random() }
            let canonical = intent.canonicalForm
            guard (try? Message.parse(canonical)) != nil else {
                throw VaultError(.invalidInput("with its new id the intent is longer than 280 characters: shorten it"))
            }
            return StoredIntent(
                id: intent.id!.description, canonical: canonical, persona: persona, state: .draft, createdAt: now,
                updatedAt: now)
        }
        try write { db in
            _ = try personaID(named: persona, in: db)
            let insert = try db.makeStatement(sql: "INSERT INTO intents (id, message_index, sealed) VALUES (?, ?, ?)")
            for stored in intents {
                let index = keys.blindIndex(stored.id, in: "intent")
                let id = SecureRandom.bytes(16)
                do {
                    try insert.execute(arguments: [Data(id), Data(index), try seal(stored, table: "intents", id: id)])
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    // The UNIQUE index on message_index finds a taken id without a query per record.
                    throw VaultError(.duplicate(kind: "intent", name: stored.id))
                }
            }
        }
        return intents
    }

    /// Every intent, oldest first, or those in one state.
    public func intents(state: IntentState? = nil) throws -> [StoredIntent] {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed FROM intents ORDER BY seq")
            var intents: [StoredIntent] = []
            while let row = try rows.next() {
                let intent = try open(
                    StoredIntent.self, sealed: row["sealed"], table: "intents", id: [UInt8](row["id"] as Data))
                if state == nil || intent.state == state { intents.append(intent) }
            }
            return intents
        }
    }

    /// The intent whose message id is `id`.
    public func intent(id: String) throws -> StoredIntent {
        try read { db in try fetchIntent(id: id, in: db).intent }
    }

    /// Moves an intent to `state`.
    @discardableResult
    public func setIntentState(id: String, to state: IntentState) throws -> StoredIntent {
        try updateIntent(id: id) { $0.state = state }
    }

    /// Changes a stored intent in one transaction.
    @discardableResult
    public func updateIntent(id: String, _ change: (inout StoredIntent) -> Void) throws -> StoredIntent {
        try write { db in
            var (recordID, intent) = try fetchIntent(id: id, in: db)
            change(&intent)
            intent.updatedAt = Date()
            try db.execute(
                sql: "UPDATE intents SET sealed = ? WHERE id = ?",
                arguments: [try seal(intent, table: "intents", id: recordID), Data(recordID)])
            return intent
        }
    }

    private func fetchIntent(id: String, in db: Database) throws -> (recordID: [UInt8], intent: StoredIntent) {
        let index = keys.blindIndex(id.lowercased(), in: "intent")
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, sealed FROM intents WHERE message_index = ?", arguments: [Data(index)])
        else { throw VaultError(.noSuchRecord(kind: "intent", name: "\(id) (see `proffer intent list`)")) }
        let recordID = [UInt8](row["id"] as Data)
        return (recordID, try open(StoredIntent.self, sealed: row["sealed"], table: "intents", id: recordID))
    }
}
