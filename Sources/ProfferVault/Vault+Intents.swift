import Foundation
import GRDB
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
                message: intent, canonical: canonical, persona: persona, state: .draft, createdAt: now, updatedAt: now)
        }
        try write { transaction in
            try requirePersona(persona, in: transaction.reader)
            // The UNIQUE index on message_index finds a taken id without a query per record.
            for intent in intents { try transaction.insert(intent, duplicateName: intent.id.description) }
        }
        return intents
    }

    /// Every intent that opens, oldest first, or those in one state.
    public func intents(state: IntentState? = nil) throws -> [StoredIntent] {
        let intents = try listAll(StoredIntent.self)
        guard let state else { return intents }
        return intents.filter { $0.state == state }
    }

    /// The intent whose message id is `id`.
    public func intent(id: String) throws -> StoredIntent {
        try read { reader in try fetchIntent(id: id, in: reader).record }
    }

    /// Moves an intent to `state`.
    @discardableResult
    public func setIntentState(id: String, to state: IntentState) throws -> StoredIntent {
        try updateIntent(id: id) { $0.state = state }
    }

    /// Changes a stored intent in one transaction.
    @discardableResult
    public func updateIntent(id: String, _ change: (inout StoredIntent) -> Void) throws -> StoredIntent {
        try write { transaction in
            var stored = try fetchIntent(id: id, in: transaction.reader)
            change(&stored.record)
            stored.record.updatedAt = Date()
            return try transaction.update(stored).record
        }
    }

    private func fetchIntent(id: String, in reader: RecordReader) throws -> Stored<StoredIntent> {
        guard let messageID = MessageID(id),
            let stored = try reader.one(
                StoredIntent.self, where: "message_index",
                is: reader.keys.blindIndex(messageID.description, in: "intent"))
        else { throw VaultError(.noSuchRecord(kind: "intent", name: "\(id) (see `proffer intent list`)")) }
        return stored
    }
}
