import Foundation
import GRDB
import ProfferCrypto

extension Vault {
    /// The seed from which the person's pairwise signing identities are derived (one per persona and vendor).
    package var identitySeed: SymmetricKey { keys.identity }

    // MARK: - Offers

    /// Stores offers received from vendors, in one transaction. An offer whose id is already stored is skipped.
    ///
    /// - Returns: How many were new.
    @discardableResult
    public func addOffers(_ offers: [StoredOffer]) throws -> Int {
        try write { db in
            let insert = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO offers (id, offer_index, intent_index, sealed) VALUES (?, ?, ?, ?)")
            var added = 0
            for offer in offers {
                let id = SecureRandom.bytes(16)
                try insert.execute(arguments: [
                    Data(id), Data(keys.blindIndex(offer.id, in: "offer")),
                    Data(keys.blindIndex(offer.intentID, in: "intent")), try seal(offer, table: "offers", id: id),
                ])
                added += db.changesCount
            }
            return added
        }
    }

    /// Every offer, oldest first, or those answering one intent.
    public func offers(intentID: String? = nil) throws -> [StoredOffer] {
        try read { db in
            var sql = "SELECT id, sealed FROM offers"
            var arguments: StatementArguments = []
            if let intentID {
                sql += " WHERE intent_index = ?"
                arguments = [Data(keys.blindIndex(intentID.lowercased(), in: "intent"))]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY seq", arguments: arguments).map { row in
                try open(StoredOffer.self, sealed: row["sealed"], table: "offers", id: [UInt8](row["id"] as Data))
            }
        }
    }

    /// The offer whose message id is `id`.
    public func offer(id: String) throws -> StoredOffer {
        try read { db in try fetchOffer(id: id, in: db).offer }
    }

    /// Moves an offer to `state`.
    public func setOfferState(id: String, to state: OfferState) throws {
        try write { db in
            var (recordID, offer) = try fetchOffer(id: id, in: db)
            offer.state = state
            try db.execute(
                sql: "UPDATE offers SET sealed = ? WHERE id = ?",
                arguments: [try seal(offer, table: "offers", id: recordID), Data(recordID)])
        }
    }

    private func fetchOffer(id: String, in db: Database) throws -> (recordID: [UInt8], offer: StoredOffer) {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, sealed FROM offers WHERE offer_index = ?",
                arguments: [Data(keys.blindIndex(id.lowercased(), in: "offer"))])
        else { throw VaultError(.noSuchRecord(kind: "offer", name: "\(id) (see `proffer offer list`)")) }
        let recordID = [UInt8](row["id"] as Data)
        return (recordID, try open(StoredOffer.self, sealed: row["sealed"], table: "offers", id: recordID))
    }

    // MARK: - Deals

    /// Stores a new deal, or replaces the deal with the same id.
    public func saveDeal(_ deal: StoredDeal) throws {
        try write { db in
            let index = Data(keys.blindIndex(deal.id, in: "deal"))
            let existing = try Data.fetchOne(db, sql: "SELECT id FROM deals WHERE deal_index = ?", arguments: [index])
            let id = existing.map { [UInt8]($0) } ?? SecureRandom.bytes(16)
            try db.execute(
                sql: """
                    INSERT INTO deals (id, deal_index, sealed) VALUES (?, ?, ?)
                    ON CONFLICT(deal_index) DO UPDATE SET sealed = excluded.sealed
                    """,
                arguments: [Data(id), index, try seal(deal, table: "deals", id: id)])
        }
    }

    /// Every deal, oldest first.
    public func deals() throws -> [StoredDeal] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, sealed FROM deals ORDER BY seq").map { row in
                try open(StoredDeal.self, sealed: row["sealed"], table: "deals", id: [UInt8](row["id"] as Data))
            }
        }
    }

    /// The deal whose accept id is `id`.
    public func deal(id: String) throws -> StoredDeal {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, sealed FROM deals WHERE deal_index = ?",
                    arguments: [Data(keys.blindIndex(id.lowercased(), in: "deal"))])
            else { throw VaultError(.noSuchRecord(kind: "deal", name: "\(id) (see `proffer deal list`)")) }
            return try open(StoredDeal.self, sealed: row["sealed"], table: "deals", id: [UInt8](row["id"] as Data))
        }
    }

    // MARK: - Replies already seen

    /// Records replies by (sender key, nonce) so the same reply is never accepted twice, even across runs.
    ///
    /// - Parameters:
    ///   - replies: Each reply's sender key, nonce, and the time after which a copy would be stale anyway.
    ///   - now: Entries older than this are dropped first.
    /// - Returns: For each reply, whether it is new.
    public func admitReplies(_ replies: [(sender: [UInt8], nonce: [UInt8], freshUntil: Int64)], now: Int64) throws
        -> [Bool]
    {
        try write { db in
            try db.execute(sql: "DELETE FROM seen_replies WHERE fresh_until < ?", arguments: [now])
            let insert = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO seen_replies (token, fresh_until) VALUES (?, ?)")
            return try replies.map { reply in
                let token = keys.blindIndex(
                    Hex.hex(reply.sender) + ":" + Hex.hex(reply.nonce), in: "reply")
                try insert.execute(arguments: [Data(token), reply.freshUntil])
                return db.changesCount == 1
            }
        }
    }

    /// Records that the person asked a vendor to forget a deal's data.
    public func recordForgetRequest(persona: String, vendor: String, categories: [String], deal: String) throws {
        try write { db in
            try appendAudit(
                AuditEntry(
                    kind: .forgetRequest, at: Date(), persona: persona, categories: categories, vendor: vendor,
                    deal: deal),
                in: db)
        }
    }
}

enum Hex {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
