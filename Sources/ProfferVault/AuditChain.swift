import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

/// One entry of the tamper-evident audit log: a change of a sharing rule, a disclosure of personal data, a request
/// to forget it, or a note that a vault was rebuilt from a salvaged export.
public struct AuditEntry: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case sharingRule = "sharing-rule"
        case disclosure
        /// A forget reached the vendor (it answered); written only once it did.
        case forgetRequest = "forget-request"
        /// The vendor confirmed it deleted what was disclosed under the deal.
        case forgetConfirmed = "forget-confirmed"
        /// A piece of personal data was removed from the vault.
        case preferenceRemoved = "preference-removed"
        /// The vault was rebuilt from an export that left damaged records out; `note` says which.
        case salvage
    }

    public var kind: Kind
    public var at: Date
    public var persona: String
    /// The data categories concerned.
    public var categories: [DataCategory]
    public var previousRule: SharingRule?
    public var rule: SharingRule?
    /// For disclosures and forgets: who received the data, under which terms, in which deal.
    public var vendor: String?
    public var terms: [TermsID]?
    public var deal: MessageID?
    /// For salvage entries: what was left out.
    public var note: String?
    /// For disclosures: the identity labels of the vendor and persona (``Vendor/keyLabel``, ``Persona/keyLabel``), so
    /// a deal whose record is lost can be tied to the very parties it was made with, whatever they are called now.
    /// Absent in entries written before they were kept.
    public var vendorLabel: String?
    public var personaLabel: String?

    public init(
        kind: Kind, at: Date, persona: String, categories: [DataCategory], previousRule: SharingRule? = nil,
        rule: SharingRule? = nil, vendor: String? = nil, terms: [TermsID]? = nil, deal: MessageID? = nil,
        note: String? = nil, vendorLabel: String? = nil, personaLabel: String? = nil
    ) {
        (self.kind, self.at, self.persona, self.categories) = (kind, at, persona, categories)
        (self.previousRule, self.rule, self.vendor, self.terms, self.deal) = (previousRule, rule, vendor, terms, deal)
        (self.note, self.vendorLabel, self.personaLabel) = (note, vendorLabel, personaLabel)
    }

    /// The disclosure entry of `deal`'s sealed data, as sent now (`note` says when it is sent again).
    public static func disclosure(of deal: StoredDeal, at time: Date, note: String? = nil) -> AuditEntry {
        AuditEntry(
            kind: .disclosure, at: time, persona: deal.persona, categories: deal.disclosed, vendor: deal.vendor,
            terms: deal.terms, deal: deal.id, note: note, vendorLabel: deal.vendorLabel, personaLabel: deal.personaLabel
        )
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

extension RecordTable {
    /// Audit entries are sealed like records (no lookup columns, version 1) but chained by MACs instead of being
    /// summed into a commitment: the state holds the chain's length and last MAC.
    static let audit = RecordTable(name: "audit", lookupColumns: [], recordName: "audit entry")
}

/// The chain's arithmetic: entry *n* carries MAC(audit key, MAC of *n−1* ‖ *n* ‖ sealed entry), the first chained to
/// 32 zero bytes.
enum AuditChain {
    static func mac(previous: [UInt8], number: Int, sealed: [UInt8], key: SymmetricKey) -> [UInt8] {
        var hasher = KeyedHasher(key: key)
        hasher.update(previous)
        hasher.update(bigEndian: UInt64(number))
        hasher.update(sealed)
        return hasher.finalize()
    }

    /// Recomputes the chain against the state's head; `nil` when intact, else the first bad entry and why.
    ///
    /// - Parameter openingEntries: Also decrypt each entry; the check on open skips this, since an entry whose MAC
    ///   matches was written with the audit key.
    static func verify(_ db: Database, sealer: RecordSealer, state: VaultState?, openingEntries: Bool = true) throws
        -> (entries: Int, broken: (Int, String)?)
    {
        var previous = Vault.genesisMAC
        var expected = 1
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, sealed, mac FROM audit ORDER BY seq")
        while let row = try rows.next() {
            let number = row[0] as Int? ?? 0
            guard number == expected else { return (expected - 1, (expected, "entry \(expected) is missing")) }
            let sealed = (row[1] as Data?).map { [UInt8]($0) } ?? []
            let mac = AuditChain.mac(previous: previous, number: number, sealed: sealed, key: sealer.keys.audit)
            guard constantTimeEquals(mac, (row[2] as Data?).map { [UInt8]($0) } ?? []) else {
                return (expected - 1, (number, "entry \(number) was altered"))
            }
            let opens =
                !openingEntries
                || sealed.withUnsafeBytes { bytes in
                    (try? sealer.openPlain(bytes, table: .audit, id: Int64(number), version: 1, lookups: []) { plain in
                        try Vault.decoder.decode(AuditEntry.self, from: plain)
                    }) != nil
                }
            guard opens else { return (expected - 1, (number, "entry \(number) does not open")) }
            previous = mac
            expected += 1
        }
        let count = expected - 1
        guard let state else {
            return (count, (1, "the chain's head (in the vault's sealed state) is missing or altered"))
        }
        if state.auditCount > count {
            return (count, (count + 1, "entries \(count + 1) to \(state.auditCount) were deleted"))
        }
        if state.auditCount < count {
            return (count, (Int(state.auditCount) + 1, "entry \(state.auditCount + 1) was not written by this vault"))
        }
        guard constantTimeEquals(state.auditLastMAC, previous) else {
            return (count, (count, "the chain does not end where the vault's state says: entries were replaced"))
        }
        return (count, nil)
    }

    /// Every entry's plaintext, in order, after checking the chain: for re-keying, which must not launder a broken
    /// chain into a valid one.
    static func entries(_ db: Database, sealer: RecordSealer, verifyingAgainst state: VaultState) throws
        -> [(Int, [UInt8])]
    {
        if let (entry, reason) = try verify(db, sealer: sealer, state: state).broken {
            throw VaultError(.damaged(["the audit chain is broken at entry \(entry): \(reason)"]))
        }
        return try Row.fetchAll(db, sql: "SELECT seq, sealed FROM audit ORDER BY seq").map { row in
            let number = row[0] as Int? ?? 0
            let sealed = (row[1] as Data?).map { [UInt8]($0) } ?? []
            let plain = try sealed.withUnsafeBytes { bytes in
                try sealer.openPlain(bytes, table: .audit, id: Int64(number), version: 1, lookups: []) { [UInt8]($0) }
            }
            return (number, plain)
        }
    }
}

extension VaultTransaction {
    /// Appends an entry within this transaction and moves the state's audit head.
    func appendAudit(_ entry: AuditEntry) throws {
        let number = Int(state.auditCount) + 1
        var plain = try RecordSealer.encode(entry)
        defer { wipe(&plain) }
        let sealed = reader.sealer.seal(plain: plain, table: .audit, id: Int64(number), version: 1, lookups: [])
        let mac = AuditChain.mac(previous: state.auditLastMAC, number: number, sealed: sealed, key: keys.audit)
        try db.execute(
            sql: "INSERT INTO audit (seq, sealed, mac) VALUES (?, ?, ?)", arguments: [number, Data(sealed), Data(mac)])
        state.auditCount = Int64(number)
        state.auditLastMAC = mac
        markChanged()
    }
}

extension Vault {
    static let genesisMAC = [UInt8](repeating: 0, count: 32)

    /// Every audit entry that opens, oldest first, or those concerning one vendor. Entries that do not open are left
    /// out and named in ``damagedRecords``.
    public func auditEntries(vendor: String? = nil) throws -> [NumberedAuditEntry] {
        let (entries, damaged) = try read { reader in try Vault.openAuditEntries(reader) }
        noteDamage(damaged)
        return entries.filter { vendor == nil || $0.entry.vendor?.lowercased() == vendor?.lowercased() }
    }

    /// Every entry that opens and the chain's verification, from one read, each entry decrypted once: for views that
    /// show both.
    public func verifiedAuditEntries() throws -> (entries: [NumberedAuditEntry], chain: AuditVerification) {
        let (entries, damaged, chain) = try read { reader in try verifiedAuditEntries(reader) }
        noteDamage(damaged)
        return (entries, chain)
    }

    /// The same, inside a read transaction: the chain's head is read with the entries, so a write by another process
    /// between the two cannot look like tampering.
    func verifiedAuditEntries(_ reader: RecordReader) throws -> (
        [NumberedAuditEntry], [DamagedRecord], AuditVerification
    ) {
        // The MACs prove each entry was written with the audit key; whether it opens is seen just below.
        let (count, broken) = try AuditChain.verify(
            reader.db, sealer: reader.sealer, state: try currentState(reader.db), openingEntries: false)
        let (entries, damaged) = try Vault.openAuditEntries(reader)
        let chain: AuditVerification =
            if let (entry, reason) = broken {
                .broken(entry: entry, reason: reason)
            } else if let first = damaged.first {
                .broken(entry: Int(first.id), reason: "entry \(first.id) does not open")
            } else {
                .intact(entries: count)
            }
        return (entries, damaged, chain)
    }

    static func openAuditEntries(_ reader: RecordReader) throws -> ([NumberedAuditEntry], [DamagedRecord]) {
        let sealer = reader.sealer
        var entries: [NumberedAuditEntry] = []
        var damaged: [DamagedRecord] = []
        for row in try Row.fetchAll(reader.db, sql: "SELECT seq, sealed FROM audit ORDER BY seq") {
            let number = row[0] as Int? ?? 0
            let sealed = (row[1] as Data?).map { [UInt8]($0) } ?? []
            let entry = sealed.withUnsafeBytes { bytes in
                try? sealer.openPlain(bytes, table: .audit, id: Int64(number), version: 1, lookups: []) { plain in
                    try Vault.decoder.decode(AuditEntry.self, from: plain)
                }
            }
            if let entry {
                entries.append(NumberedAuditEntry(number: number, entry: entry))
            } else {
                damaged.append(DamagedRecord(kind: RecordTable.audit.recordName, id: Int64(number)))
            }
        }
        return (entries, damaged)
    }

    /// Recomputes the chain and names the first entry that does not match; a missing or unreadable head is a broken
    /// chain, never an empty one.
    public func verifyAuditChain() throws -> AuditVerification {
        let (count, broken) = try read { reader in
            try AuditChain.verify(reader.db, sealer: reader.sealer, state: try currentState(reader.db))
        }
        if let (entry, reason) = broken { return .broken(entry: entry, reason: reason) }
        return .intact(entries: count)
    }

    /// The vault's sealed state as it is on disk now, or `nil` when it does not open.
    func currentState() throws -> VaultState? {
        try read { reader in try currentState(reader.db) }
    }

    /// The sealed state as this read transaction sees it.
    func currentState(_ db: Database) throws -> VaultState? {
        guard let row = try Row.fetchOne(db, sql: "SELECT sealed_state FROM vault WHERE id = 1"),
            let sealed = row[0] as Data?
        else { return nil }
        return Vault.openState([UInt8](sealed), keys: keys, vaultID: vaultID)
    }

    /// The check on open: every entry's MAC and the chain's head, without decrypting the entries.
    func auditProblems(state: VaultState, reader: RecordReader) throws -> [String] {
        if let (entry, reason) = try AuditChain.verify(
            reader.db, sealer: reader.sealer, state: state, openingEntries: false
        ).broken {
            return ["the audit chain is broken at entry \(entry): \(reason)"]
        }
        return []
    }

    /// The number of entries and the newest MAC match the state's head.
    func auditHeadProblems(state: VaultState, db: Database) throws -> [String] {
        let count = try Int64.fetchOne(db, sql: "SELECT count(*) FROM audit") ?? 0
        let last = try Data.fetchOne(db, sql: "SELECT mac FROM audit ORDER BY seq DESC LIMIT 1").map { [UInt8]($0) }
        if count < state.auditCount {
            return [
                "\(state.auditCount - count) audit entr\(state.auditCount - count == 1 ? "y is" : "ies are") missing"
            ]
        }
        if count > state.auditCount {
            return [
                "\(count - state.auditCount) audit entr\(count - state.auditCount == 1 ? "y was" : "ies were") added"
            ]
        }
        guard constantTimeEquals(last ?? Vault.genesisMAC, state.auditLastMAC) else {
            return ["the newest audit entry was altered or replaced"]
        }
        return []
    }
}
