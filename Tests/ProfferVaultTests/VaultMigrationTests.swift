import Foundation
import GRDB
import ProfferCrypto
import ProfferEnvelope
import ProfferWire
import Testing

@testable import ProfferVault

@Suite("Vaults of earlier versions open, migrate once, and check intact")
struct VaultMigrationTests {
    /// A copy of a fixture vault in a temporary folder, with its own anchor folder.
    struct Copy {
        let folder: URL
        var path: String { folder.appendingPathComponent("vault.db").path }
        var anchors: String { folder.appendingPathComponent("state").path }

        init(_ fixture: String) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "proffer-fixture-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Copy.fixture(fixture), toPath: path)
        }

        static func fixture(_ name: String) -> String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    /// The write counter and revision in the vault's sealed state, read as the file holds it.
    func counters(_ vault: Vault) throws -> (writes: UInt64, revision: UInt64) {
        let state = try #require(try vault.currentState())
        return (state.writeCounter, state.revision)
    }

    @Test(
        "a vault written by the version before the migrations (offers kept by id alone) opens, migrates in one write, passes vault check and lists the same deals"
    )
    func previousVersion() throws {
        let copy = try Copy("previous-vault.db")
        defer { copy.remove() }
        let before = try DatabaseQueue(path: copy.path).read { db in
            try Data.fetchOne(db, sql: "SELECT sealed_state FROM vault")
        }
        let passphrase = try secret("correct horse battery staple")
        let vault = try Vault.open(at: copy.path, passphrase: passphrase, anchorFolder: copy.anchors)
        #expect(vault.integrityProblems.isEmpty)
        #expect(try vault.check().isIntact)
        let (writes, revision) = try counters(vault)
        #expect(revision == UInt64(VaultMigration.all.count))
        // The deals `proffer deal list --json` showed with the earlier version, in order, with their states.
        let listed =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Copy.fixture("previous-vault.deals.json"))))
            as? [[String: Any]]
        let expected = (listed ?? []).map { "\($0["id"] ?? "")/\($0["vendor"] ?? "")/\($0["state"] ?? "")" }
        #expect(expected.count == 5)
        #expect(try vault.deals().map { "\($0.id)/\($0.vendor)/\($0.state.rawValue)" } == expected)
        // Every offer is kept under its vendor now, and every deal finds the offer it accepted.
        #expect(try vault.offers().allSatisfy { $0.vendorLabel != nil })
        for deal in try vault.deals() {
            #expect(try vault.offer(deal.offerKey).id == deal.offerID, "deal \(deal.id)")
        }
        #expect(try vault.verifyAuditChain() == .intact(entries: 11))
        // Opened again, nothing is due: the vault is not written.
        let again = try Vault.open(at: copy.path, passphrase: passphrase, anchorFolder: copy.anchors)
        #expect(try counters(again).writes == writes)
        #expect(try again.check().isIntact)
        let after = try DatabaseQueue(path: copy.path).read { db in
            try Data.fetchOne(db, sql: "SELECT sealed_state FROM vault")
        }
        #expect(after != before, "the migration was written")
    }

    @Test("opened read-only, a vault of the previous version is read as it is and not written")
    func previousVersionReadOnly() throws {
        let copy = try Copy("previous-vault.db")
        defer { copy.remove() }
        let passphrase = try secret("correct horse battery staple")
        let vault = try Vault.open(
            at: copy.path, passphrase: passphrase, access: .readOnly, anchorFolder: copy.anchors)
        #expect(try counters(vault).revision == 0)
        #expect(try vault.deals().count == 5)
        #expect(try vault.offers().count == 6)
        #expect(try vault.check().isIntact)
    }

    @Test(
        "a state of the earlier layout (no revision) reads as revision 0; one naming more tables than the code knows does not read"
    )
    func stateLayouts() throws {
        var state = VaultState()
        state.writeCounter = 42
        let current = state.encoded
        #expect(VaultState(encoded: current)?.revision == UInt64(VaultMigration.all.count))
        // Layout 1: the same without the revision.
        var earlier = current
        earlier[0] = 1
        earlier.removeSubrange((1 + 8 + 8 + 32)..<(1 + 8 + 8 + 32 + 8))
        let read = try #require(VaultState(encoded: earlier))
        #expect(read.revision == 0 && read.writeCounter == 42 && read.tables.count == RecordTable.all.count)
        // A state with one table fewer (a vault made before the newest type) reads, the missing table empty.
        var fewer = current
        let tableBytes = 8 + 8 + 32
        fewer.removeLast(tableBytes)
        let countOffset = 1 + 8 + 8 + 32 + 8
        fewer[countOffset + 7] -= 1
        let padded = try #require(VaultState(encoded: fewer))
        #expect(padded.tables.count == RecordTable.all.count && padded.tables.last == VaultState.Table())
        var more = current
        more[countOffset + 7] += 1
        more += Array(repeating: 0, count: tableBytes)
        #expect(VaultState(encoded: more) == nil)
    }
}
