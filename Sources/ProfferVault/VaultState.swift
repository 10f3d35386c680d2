import ProfferCrypto

/// A keyed multiset hash (MSet-Add-Hash): the sum, modulo 2²⁵⁶, of one keyed BLAKE2b value per record.
///
/// Adding or removing one record changes it in O(1), so every write keeps the commitment current without reading
/// the other records; recomputing it from the table on open shows whether any row was deleted, added, swapped or
/// replaced by an older copy. Without the key nobody can craft a row whose value cancels another's.
struct Commitment: Equatable, Sendable {
    /// Little-endian 64-bit limbs.
    private(set) var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static func == (lhs: Commitment, rhs: Commitment) -> Bool {
        lhs.limbs.0 == rhs.limbs.0 && lhs.limbs.1 == rhs.limbs.1 && lhs.limbs.2 == rhs.limbs.2
            && lhs.limbs.3 == rhs.limbs.3
    }

    mutating func add(_ element: [UInt8]) {
        let other = Commitment.limbs(of: element)
        var carry = false
        limbs.0 = Commitment.add(limbs.0, other.0, &carry)
        limbs.1 = Commitment.add(limbs.1, other.1, &carry)
        limbs.2 = Commitment.add(limbs.2, other.2, &carry)
        limbs.3 = Commitment.add(limbs.3, other.3, &carry)
    }

    mutating func subtract(_ element: [UInt8]) {
        let other = Commitment.limbs(of: element)
        var borrow = false
        limbs.0 = Commitment.subtract(limbs.0, other.0, &borrow)
        limbs.1 = Commitment.subtract(limbs.1, other.1, &borrow)
        limbs.2 = Commitment.subtract(limbs.2, other.2, &borrow)
        limbs.3 = Commitment.subtract(limbs.3, other.3, &borrow)
    }

    private static func add(_ a: UInt64, _ b: UInt64, _ carry: inout Bool) -> UInt64 {
        let (sum, overflow1) = a.addingReportingOverflow(b)
        let (result, overflow2) = sum.addingReportingOverflow(carry ? 1 : 0)
        carry = overflow1 || overflow2
        return result
    }

    private static func subtract(_ a: UInt64, _ b: UInt64, _ borrow: inout Bool) -> UInt64 {
        let (difference, overflow1) = a.subtractingReportingOverflow(b)
        let (result, overflow2) = difference.subtractingReportingOverflow(borrow ? 1 : 0)
        borrow = overflow1 || overflow2
        return result
    }

    private static func limbs(of element: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        precondition(element.count == 32)
        return element.withUnsafeBytes { bytes in
            func limb(_ index: Int) -> UInt64 {
                UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
            }
            return (limb(0), limb(1), limb(2), limb(3))
        }
    }

    var bytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(32)
        for limb in [limbs.0, limbs.1, limbs.2, limbs.3] {
            for shift in stride(from: 0, to: 64, by: 8) { output.append(UInt8(truncatingIfNeeded: limb >> shift)) }
        }
        return output
    }

    init() {}

    init(bytes: ArraySlice<UInt8>) {
        self.init()
        limbs = Commitment.limbs(of: Array(bytes))
    }
}

/// What the vault commits to, sealed in its header and rewritten by every write in the same transaction: per table
/// the next record id, the number of records and their commitment; the audit chain's length and last MAC; a write
/// counter, which the rollback anchor outside the vault's folder remembers too; and how many of the vault's
/// migration steps (``VaultMigration/all``) were applied.
struct VaultState: Equatable, Sendable {
    struct Table: Equatable, Sendable {
        /// Ids are never reused, so a deleted record's old row can never pass for a later record.
        var nextID: Int64 = 1
        var count: Int64 = 0
        var commitment = Commitment()
    }

    /// Layout 2 adds the revision after the audit MAC; layout 1 (no revision) reads as revision 0.
    static let layoutVersion: UInt8 = 2

    var writeCounter: UInt64 = 0
    /// How many steps of ``VaultMigration/all`` this vault has had: a new vault has all of them.
    var revision = UInt64(VaultMigration.all.count)
    var auditCount: Int64 = 0
    var auditLastMAC: [UInt8] = Vault.genesisMAC
    var tables: [Table] = Array(repeating: Table(), count: RecordTable.all.count)

    /// A fixed layout: version, counter, audit count and MAC, revision, then each table's id, count and commitment.
    var encoded: [UInt8] {
        var output: [UInt8] = [VaultState.layoutVersion]
        func append(_ number: UInt64) { output += withUnsafeBytes(of: number.bigEndian, Array.init) }
        append(writeCounter)
        append(UInt64(auditCount))
        output += auditLastMAC
        append(revision)
        append(UInt64(tables.count))
        for table in tables {
            append(UInt64(table.nextID))
            append(UInt64(table.count))
            output += table.commitment.bytes
        }
        return output
    }

    init() {}

    /// Reads ``encoded``, or the layout before it; `nil` for anything else. A vault made before a record type was
    /// added has fewer tables: the missing ones are read as empty, and a migration step makes them.
    init?(encoded bytes: [UInt8]) {
        var offset = 1
        func number() -> UInt64? {
            guard offset + 8 <= bytes.count else { return nil }
            defer { offset += 8 }
            return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        guard let layout = bytes.first, layout == 1 || layout == VaultState.layoutVersion, let counter = number(),
            let auditCount = number(), offset + 32 <= bytes.count
        else { return nil }
        writeCounter = counter
        self.auditCount = Int64(auditCount)
        auditLastMAC = Array(bytes[offset..<offset + 32])
        offset += 32
        if layout == 1 {
            revision = 0
        } else {
            guard let revision = number(), revision <= UInt64(VaultMigration.all.count) else { return nil }
            self.revision = revision
        }
        guard let tableCount = number(), tableCount <= UInt64(RecordTable.all.count) else { return nil }
        tables = []
        for _ in 0..<tableCount {
            guard let nextID = number(), let count = number(), offset + 32 <= bytes.count else { return nil }
            tables.append(
                Table(
                    nextID: Int64(bitPattern: nextID), count: Int64(bitPattern: count),
                    commitment: Commitment(bytes: bytes[offset..<offset + 32])))
            offset += 32
        }
        guard offset == bytes.count else { return nil }
        tablesInFile = tables.count
        tables += Array(repeating: Table(), count: RecordTable.all.count - tables.count)
    }

    /// How many tables the state named when it was read: the others were added to the code since.
    private(set) var tablesInFile = RecordTable.all.count
}
