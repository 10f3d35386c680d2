import Foundation
import GRDB
import ProfferCrypto

/// One entry of the tamper-evident audit log: a change of a sharing rule, or a disclosure of personal data.
public struct AuditEntry: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case sharingRule = "sharing-rule"
        case disclosure
        case forgetRequest = "forget-request"
    }

    public var kind: Kind
    public var at: Date
    public var persona: String
    /// The data categories concerned.
    public var categories: [String]
    public var previousRule: SharingRule?
    public var rule: SharingRule?
    /// For disclosures: who received the data, under which terms, in which deal.
    public var vendor: String?
    public var terms: [String]?
    public var deal: String?

    public init(
        kind: Kind, at: Date, persona: String, categories: [String], previousRule: SharingRule? = nil,
        rule: SharingRule? = nil, vendor: String? = nil, terms: [String]? = nil, deal: String? = nil
    ) {
        (self.kind, self.at, self.persona, self.categories) = (kind, at, persona, categories)
        (self.previousRule, self.rule, self.vendor, self.terms, self.deal) = (previousRule, rule, vendor, terms, deal)
    }
}

/// An audit entry with its position in the chain.
public struct NumberedAuditEntry: Hashable, Sendable {
    public let number: Int
    public let entry: AuditEntry
}

/// The outcome of checking the chain.
public enum AuditVerification: Equatable, Sendable {
    /// Every entry matches, and none is missing.
    case intact(entries: Int)
    /// Entry `entry` (1-based) is altered, missing or out of place; entries before it are intact.
    case broken(entry: Int, reason: String)
}

/// The chain's head, kept sealed in the vault header so that deleting the newest entries is caught too.
struct AuditHead: Codable {
    var count: Int
    var lastMAC: [UInt8]
}

extension Vault {
    static let genesisMAC = [UInt8](repeating: 0, count: 32)

    /// Appends an entry within the caller's transaction: entry *n* carries MAC(audit key, MAC of *n−1* ‖ *n* ‖ sealed
    /// entry).
    func appendAudit(_ entry: AuditEntry, in db: Database) throws {
        let head = try auditHead(in: db) ?? AuditHead(count: 0, lastMAC: Vault.genesisMAC)
        let number = head.count + 1
        let sealed = try seal(entry, table: "audit", id: Vault.auditRecordID(number))
        let mac = auditMAC(previous: head.lastMAC, number: number, sealed: [UInt8](sealed))
        try db.execute(
            sql: "INSERT INTO audit (seq, sealed, mac) VALUES (?, ?, ?)", arguments: [number, sealed, Data(mac)])
        try storeAuditHead(AuditHead(count: number, lastMAC: mac), in: db)
    }

    /// Records that personal data left the vault. Called the moment data is sent, whatever the vendor answers.
    public func recordDisclosure(
        persona: String, vendor: String, categories: [String], terms: [String], deal: String
    ) throws {
        try write { db in
            try appendAudit(
                AuditEntry(
                    kind: .disclosure, at: Date(), persona: persona, categories: categories, vendor: vendor,
                    terms: terms, deal: deal),
                in: db)
        }
    }

    /// Every audit entry, oldest first, or those concerning one vendor.
    public func auditEntries(vendor: String? = nil) throws -> [NumberedAuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT seq, sealed FROM audit ORDER BY seq").map { row in
                let number: Int = row["seq"]
                let entry = try open(
                    AuditEntry.self, sealed: row["sealed"], table: "audit", id: Vault.auditRecordID(number))
                return NumberedAuditEntry(number: number, entry: entry)
            }
        }.filter { vendor == nil || $0.entry.vendor?.lowercased() == vendor?.lowercased() }
    }

    /// Recomputes the chain and names the first entry that does not match.
    public func verifyAuditChain() throws -> AuditVerification {
        try read { db in
            var previous = Vault.genesisMAC
            var expected = 1
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, sealed, mac FROM audit ORDER BY seq")
            while let row = try rows.next() {
                let number: Int = row["seq"]
                guard number == expected else {
                    return .broken(entry: expected, reason: "entry \(expected) is missing")
                }
                let sealed = [UInt8](row["sealed"] as Data)
                let mac = auditMAC(previous: previous, number: number, sealed: sealed)
                guard constantTimeEquals(mac, [UInt8](row["mac"] as Data)) else {
                    return .broken(entry: number, reason: "entry \(number) was altered")
                }
                guard
                    (try? open(AuditEntry.self, sealed: row["sealed"], table: "audit", id: Vault.auditRecordID(number)))
                        != nil
                else { return .broken(entry: number, reason: "entry \(number) does not open") }
                previous = mac
                expected += 1
            }
            let count = expected - 1
            guard let head = try? auditHead(in: db) else {
                return count == 0
                    ? .intact(entries: 0) : .broken(entry: 1, reason: "the chain's head record is missing or altered")
            }
            guard head.count == count, constantTimeEquals(head.lastMAC, previous) else {
                return head.count > count
                    ? .broken(entry: count + 1, reason: "entries \(count + 1) to \(head.count) were deleted")
                    : .broken(entry: head.count + 1, reason: "entry \(head.count + 1) was not written by this vault")
            }
            return .intact(entries: count)
        }
    }

    private func auditMAC(previous: [UInt8], number: Int, sealed: [UInt8]) -> [UInt8] {
        KeyedHash.hash(previous + withUnsafeBytes(of: UInt64(number).bigEndian, Array.init) + sealed, key: keys.audit)
    }

    static func auditRecordID(_ number: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(number).bigEndian, Array.init) }

    func auditHead(in db: Database) throws -> AuditHead? {
        guard let sealed = try Data.fetchOne(db, sql: "SELECT audit_head FROM vault WHERE id = 1") else { return nil }
        return try open(AuditHead.self, sealed: sealed, table: "vault.audit_head", id: vaultID)
    }

    private func storeAuditHead(_ head: AuditHead, in db: Database) throws {
        try db.execute(
            sql: "UPDATE vault SET audit_head = ? WHERE id = 1",
            arguments: [try seal(head, table: "vault.audit_head", id: vaultID)])
    }
}
