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
            for (field, when) in [("by", message.by), ("exp", message.exp)] {
                if let when, when.end(countingFrom: now) <= now {
                    throw VaultError(
                        .invalidInput("\(field):\(when) has passed: give a date from today on, or a duration"))
                }
            }
            var intent = message
            if intent.id == nil { intent.id = MessageID.random() }
            let canonical = intent.canonicalForm
            guard (try? Message.parse(canonical)) != nil else {
                throw VaultError(
                    .invalidInput(
                        "with its id (and your defaults) filled in, the intent is longer than 280 characters: shorten it"
                    ))
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

    /// Every intent that opens, oldest first, or those in one state. Intents past their `by`/`exp` are `expired`.
    public func intents(state: IntentState? = nil) throws -> [StoredIntent] {
        let now = Date()
        let intents = try listAll(StoredIntent.self).map { intent in
            var current = intent
            current.state = intent.state(at: now)
            return current
        }
        guard let state else { return intents }
        return intents.filter { $0.state == state }
    }

    /// The intent whose message id is `id`, or whose id starts with `id` when no id is exactly that.
    public func intent(id: String) throws -> StoredIntent {
        var intent: StoredIntent
        do {
            intent = try read { reader in try fetchIntent(id: id, in: reader).record }
        } catch let error as VaultError where error.code == .noSuchRecord {
            intent = try Vault.onlyMatch(id, in: try listAll(StoredIntent.self), kind: "intent", list: "intent list") {
                [$0.id.description]
            }
        }
        intent.state = intent.state(at: Date())
        return intent
    }

    /// Removes a draft: an intent no vendor was sent.
    ///
    /// - Throws: ``VaultError`` (`refused`) when the intent was published: vendors have it, and only a withdrawal tells
    ///   them.
    public func removeDraft(id: String) throws {
        let exactID = try intent(id: id).id
        try write { transaction in
            let stored = try transaction.reader.require(StoredIntent.withID(exactID), listedBy: "intent list")
            guard stored.record.state == .draft, (stored.record.sentTo ?? []).isEmpty else {
                throw VaultError(
                    .refused(
                        "intent \(exactID) is \(stored.record.state(at: Date()).rawValue) and vendors have it: it stays as "
                            + "the record of what you sent; to tell them you no longer want it, "
                            + "`proffer intent withdraw \(exactID)`"))
            }
            try transaction.delete(stored)
        }
    }

    /// Moves an intent to `state`.
    @discardableResult
    public func setIntentState(id: String, to state: IntentState) throws -> StoredIntent {
        try updateIntent(id: id) { $0.state = state }
    }

    /// Changes a stored intent in one transaction.
    @discardableResult
    public func updateIntent(id: String, _ change: (inout StoredIntent) -> Void) throws -> StoredIntent {
        let exactID = try intent(id: id).id.description
        return try write { transaction in
            var stored = try fetchIntent(id: exactID, in: transaction.reader)
            stored.record.state = stored.record.state(at: Date())
            change(&stored.record)
            stored.record.updatedAt = Date()
            return try transaction.update(stored).record
        }
    }

    private func fetchIntent(id: String, in reader: RecordReader) throws -> Stored<StoredIntent> {
        guard let messageID = MessageID(id) else {
            throw VaultError.noSuch(StoredIntent.table.recordName, id, listedBy: "intent list")
        }
        return try reader.require(StoredIntent.withID(messageID), listedBy: "intent list")
    }

    /// The one item whose name is `wanted` or starts with it (ignoring case).
    ///
    /// - Throws: ``VaultError`` naming the command that lists them when none matches, or the candidates when several do.
    static func onlyMatch<Item>(
        _ wanted: String, in items: [Item], kind: String, list: String, names: (Item) -> [String]
    ) throws -> Item {
        let key = wanted.lowercased()
        let exact = items.filter { names($0).contains { $0.lowercased() == key } }
        if exact.count == 1 { return exact[0] }
        if exact.count > 1 {
            // Two things under one name (two vendors' offers with the same id, say): never pick one silently.
            let shown = exact.prefix(5).compactMap { names($0).first }.joined(separator: ", ")
            throw VaultError(
                .invalidInput("\"\(wanted)\" names \(exact.count) \(kind)s (\(shown)): give the full name of one"))
        }
        let candidates = key.isEmpty ? [] : items.filter { names($0).contains { $0.lowercased().hasPrefix(key) } }
        guard candidates.count == 1 else {
            if candidates.isEmpty {
                throw VaultError.noSuch(kind, "\"\(wanted)\"", listedBy: list)
            }
            let shown = candidates.prefix(5).compactMap { names($0).first }.joined(separator: ", ")
            throw VaultError(
                .invalidInput("\"\(wanted)\" matches \(candidates.count) \(kind)s (\(shown)): write more of it"))
        }
        return candidates[0]
    }
}
