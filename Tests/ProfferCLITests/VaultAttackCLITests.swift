import Foundation
import GRDB
import ProfferCrypto
import ProfferVault
import Testing

@testable import ProfferTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What an attacker who can write the vault file, but lacks the passphrase, does with `sqlite3`; and what a person
/// then sees through the CLI. Every attack must end in a clear message and a non-zero exit status.
@Suite("Vault attacks through the CLI", .serialized)
struct VaultAttackCLITests {
    /// A vault with three sharing-rule changes in its audit log and two preferences.
    func preparedVault() throws -> CLIPerson {
        let vault = try CLIPerson(bare: ())
        try vault.proffer(["pref", "set", "email", "ada@example.org", "--share", "never"])
        try vault.proffer(["pref", "set", "postal", "1 Main Street", "--share", "always"])
        try vault.proffer(["pref", "set", "name", "Ada", "--share", "ask"])
        return vault
    }

    func sql(_ vault: CLIPerson, _ statements: String, arguments: StatementArguments = []) throws {
        try DatabaseQueue(path: vault.path).write { db in try db.execute(sql: statements, arguments: arguments) }
    }

    /// A whole copy of the vault file as it is now (after a checkpoint, so the copy is complete).
    func copy(_ vault: CLIPerson, to name: String) throws -> String {
        try DatabaseQueue(path: vault.path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let copy = vault.folder.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: vault.path, toPath: copy)
        return copy
    }

    func expectDamageReported(
        _ outcome: ProfferProcess.Outcome, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(outcome.status != 0, "\(what): exit status", sourceLocation: sourceLocation)
        #expect(
            outcome.stderr.contains("damaged") || outcome.stderr.contains("integrity")
                || outcome.stderr.contains("broken")
                || outcome.stderr.contains("older"),
            "\(what): \(outcome.stderr)", sourceLocation: sourceLocation)
    }

    @Test("every audit row deleted and the audit head cleared: a broken chain, never \"0 entries\"")
    func auditWiped() throws {
        let vault = try preparedVault()
        try sql(vault, "DELETE FROM audit; UPDATE vault SET sealed_state = x''")
        let verify = try vault.proffer(["audit", "verify"])
        expectDamageReported(verify, "audit verify")
        #expect(!verify.stdout.contains("intact"))
        #expect(verify.stderr.contains("the audit chain is broken"))
        expectDamageReported(try vault.proffer(["vault", "check"]), "vault check")
    }

    @Test("the newest audit rows deleted and an older header put back: refused as a rollback, or named as damage")
    func auditCutWithOldHeader() throws {
        let vault = try preparedVault()
        let oldState = try DatabaseQueue(path: vault.path).read { db in
            try Data.fetchOne(db, sql: "SELECT sealed_state FROM vault")!
        }
        try vault.proffer(["pref", "set", "email", "ada@example.org", "--share", "ask"])
        try sql(vault, "DELETE FROM audit WHERE seq = 4; UPDATE vault SET sealed_state = ?", arguments: [oldState])
        let verify = try vault.proffer(["audit", "verify"])
        expectDamageReported(verify, "audit verify with the anchor")
        #expect(verify.stderr.contains("proffer vault accept-rollback"))
        try FileManager.default.removeItem(atPath: vault.stateFolder)
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list on a machine without the anchor")
        #expect(list.stderr.contains("a preference record was replaced"))
    }

    @Test("the key_index of two preferences swapped: pref get refuses, and never prints the other value")
    func swappedLookups() throws {
        let vault = try preparedVault()
        try sql(
            vault,
            """
            CREATE TEMP TABLE saved AS SELECT id, key_index FROM preferences;
            UPDATE preferences SET key_index = x'00' WHERE id = 1;
            UPDATE preferences SET key_index = (SELECT key_index FROM saved WHERE id = 1) WHERE id = 2;
            UPDATE preferences SET key_index = (SELECT key_index FROM saved WHERE id = 2) WHERE id = 1;
            """)
        let get = try vault.proffer(["pref", "get", "email"])
        expectDamageReported(get, "pref get email")
        #expect(!get.stdout.contains("Main Street"), "the postal address is not printed as the e-mail")
        #expect(get.stderr.contains("integrity check"))
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list")
        #expect(list.stdout.contains("name"), "what opens is still listed")
    }

    @Test("an older sealed row of a preference put back (always instead of never): named, and nothing can be written")
    func rolledBackRow() throws {
        let vault = try preparedVault()
        let old = try DatabaseQueue(path: vault.path).read { db in
            try Row.fetchOne(db, sql: "SELECT version, sealed FROM preferences WHERE id = 2")!
        }
        try vault.proffer(["pref", "set", "postal", "1 Main Street", "--share", "never"])
        try sql(
            vault, "UPDATE preferences SET version = ?, sealed = ? WHERE id = 2",
            arguments: [old["version"] as Int64, old["sealed"] as Data])
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list")
        #expect(list.stderr.contains("a preference record was replaced by an older"))
        let write = try vault.proffer(["persona", "add", "work"])
        #expect(write.status != 0)
        #expect(write.stderr.contains("Nothing was changed"))
    }

    @Test("one preference row deleted: named as missing")
    func deletedRow() throws {
        let vault = try preparedVault()
        try sql(vault, "DELETE FROM preferences WHERE id = 3")
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list")
        #expect(list.stderr.contains("1 preference record is missing"))
    }

    @Test("an older vault.db copied over the current one: refused, until the person accepts it on purpose")
    func wholeFileRollback() throws {
        let vault = try preparedVault()
        let old = try copy(vault, to: "old-vault.db")
        try vault.proffer(["pref", "set", "postal", "1 Main Street", "--share", "never"])
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: vault.path + suffix) }
        try FileManager.default.removeItem(atPath: vault.path)
        try FileManager.default.copyItem(atPath: old, toPath: vault.path)
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list")
        #expect(list.stderr.contains("older than the last state this machine saw"))
        #expect(list.stdout.isEmpty, "nothing from the old copy is shown as current")
        let accepted = try vault.proffer(["vault", "accept-rollback"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let after = try vault.proffer(["pref", "list"])
        #expect(after.status == 0)
        #expect(after.stdout.contains("always"), "the older state, accepted")
    }

    @Test("after a passphrase change, the old header put back: the old passphrase opens nothing written since")
    func oldHeaderAfterPassphraseChange() throws {
        let vault = try preparedVault()
        let header = try DatabaseQueue(path: vault.path).read { db in try Row.fetchOne(db, sql: "SELECT * FROM vault")!
        }
        let newFile = vault.folder.appendingPathComponent("new-passphrase").path
        try Data("a new passphrase, longer\n".utf8).write(to: URL(fileURLWithPath: newFile))
        let changed = try vault.proffer(["passphrase", "change", "--new-passphrase-file", newFile])
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(try vault.proffer(["pref", "set", "phone", "+44 1234 5678", "--passphrase-file", newFile]).status == 0)
        try sql(
            vault,
            """
            UPDATE vault SET kdf_salt = ?, kdf_operations = ?, kdf_memory = ?, wrapped_master_key = ?,
            sealed_identity_seed = ?, sealed_state = ?
            """,
            arguments: [
                header["kdf_salt"] as Data, header["kdf_operations"] as Int64, header["kdf_memory"] as Int64,
                header["wrapped_master_key"] as Data, header["sealed_identity_seed"] as Data,
                header["sealed_state"] as Data,
            ])
        expectDamageReported(try vault.proffer(["pref", "list"]), "old passphrase with the anchor")
        try FileManager.default.removeItem(atPath: vault.stateFolder)
        let old = try vault.proffer(["pref", "list"])
        expectDamageReported(old, "old passphrase without the anchor")
        #expect(!old.stdout.contains("+44 1234 5678"), "written after the change, under the new key")
        #expect(!old.stdout.contains("ada@example.org"))
        #expect(try vault.proffer(["pref", "list", "--passphrase-file", newFile]).status == 77)
    }

    @Test("vault check names every problem, in text and JSON, and is quiet about an intact vault")
    func vaultCheck() throws {
        let vault = try preparedVault()
        let intact = try vault.proffer(["vault", "check"])
        #expect(intact.status == 0)
        #expect(intact.stdout.contains("vault intact: 4 records"))
        #expect(intact.stdout.contains("3 audit entries"))
        try sql(
            vault, "UPDATE preferences SET sealed = substr(sealed, 1, 40) || x'00' || substr(sealed, 42) WHERE id = 1")
        let damaged = try vault.proffer(["vault", "check", "--json"])
        #expect(damaged.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(damaged.stdout.utf8)) as? [String: Any]
        #expect((report?["damagedRecords"] as? [String])?.first?.contains("preference record #1") == true)
        #expect((report?["problems"] as? [String])?.isEmpty == false)
    }

    @Test("export refuses the vault itself and an existing file; --force replaces a file; the export imports")
    func exportTargets() throws {
        let vault = try preparedVault()
        let onto = try vault.proffer(["export", vault.path, "--force"])
        #expect(onto.status != 0)
        #expect(onto.stderr.contains("onto the vault itself"))
        #expect(try vault.proffer(["vault", "check"]).status == 0, "the vault is untouched")
        let file = vault.folder.appendingPathComponent("backup.export").path
        try Data("older backup".utf8).write(to: URL(fileURLWithPath: file))
        let existing = try vault.proffer(["export", file])
        #expect(existing.status != 0)
        #expect(existing.stderr.contains("--force"))
        #expect(try vault.proffer(["export", file, "--force"]).status == 0)
        let target = vault.folder.appendingPathComponent("restored/vault.db").path
        #expect(try vault.proffer(["import", file, "--vault", target]).status == 0)
        #expect(try vault.proffer(["pref", "get", "postal", "--vault", target]).stdout == "1 Main Street\n")
        let wrong = vault.folder.appendingPathComponent("wrong").path
        try Data("not the passphrase\n".utf8).write(to: URL(fileURLWithPath: wrong))
        let other = vault.folder.appendingPathComponent("other/vault.db").path
        #expect(try vault.proffer(["import", file, "--vault", other, "--passphrase-file", wrong]).status == 77)
    }

    @Test("a damaged vault: export refuses, export --salvage writes what authenticates and says what it left out")
    func salvage() throws {
        let vault = try preparedVault()
        try sql(vault, "UPDATE preferences SET sealed = (SELECT sealed FROM personas) WHERE id = 2")
        let file = vault.folder.appendingPathComponent("salvage.export").path
        let refused = try vault.proffer(["export", file])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--salvage"))
        let salvaged = try vault.proffer(["export", file, "--salvage"])
        #expect(salvaged.status == 0, "\(salvaged.stderr)")
        #expect(salvaged.stderr.contains("left out: preference record #2"))
        let target = vault.folder.appendingPathComponent("restored/vault.db").path
        #expect(try vault.proffer(["import", file, "--vault", target]).status == 0)
        let list = try vault.proffer(["pref", "list", "--vault", target])
        #expect(list.status == 0)
        #expect(!list.stdout.contains("postal") && list.stdout.contains("email"))
        #expect(try vault.proffer(["audit", "list", "--vault", target]).stdout.contains("salvage"))
    }

    @Test("commands that only read work on a vault whose file and folder are read-only, export included")
    func readOnlyVault() throws {
        let vault = try preparedVault()
        // Root ignores file permissions, so the commands run as nobody, who owns the vault but may not write it.
        let folder = (vault.path as NSString).deletingLastPathComponent
        let state = vault.folder.appendingPathComponent("nobody-state").path
        let exports = vault.folder.appendingPathComponent("exports").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: exports, withIntermediateDirectories: true)
        // A cleanly closed vault has no WAL index, which SQLite cannot create in a read-only folder.
        try DatabaseQueue(path: vault.path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: vault.path + suffix) }
        for path in [folder, vault.path, vault.passphraseFile, state, exports, vault.folder.path] {
            chown(path, 65534, 65534)
        }
        chmod(vault.folder.path, 0o755)
        chmod(vault.path, 0o400)
        chmod(folder, 0o500)
        func asNobody(_ arguments: [String]) throws -> ProfferProcess.Outcome {
            try ProfferProcess.run(
                ["--reuid=65534", "--regid=65534", "--clear-groups", ProfferProcess.executable.path] + arguments,
                environment: vault.environment.merging(["XDG_STATE_HOME": state, "HOME": state]) { $1 },
                executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        }
        let list = try asNobody(["pref", "list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("1 Main Street"))
        #expect(try asNobody(["vault", "check"]).status == 0)
        #expect(try asNobody(["audit", "verify"]).status == 0)
        let exported = try asNobody(["export", exports + "/backup.export"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let write = try asNobody(["pref", "set", "phone", "+49 30 1234567"])
        #expect(write.status != 0)
        #expect(write.stderr.contains("read-only") || write.stderr.contains("cannot be written"), "\(write.stderr)")
        chmod(folder, 0o700)
        chmod(vault.path, 0o600)
    }

    @Test("50 kills at random moments during a passphrase change: exactly one passphrase opens, vault check passes")
    func killedPassphraseChange() throws {
        let vault = try CLIPerson(bare: ())
        try vault.fill(400)
        try vault.proffer(["pref", "set", "email", "ada@example.org", "--share", "always"])
        let files = [vault.passphraseFile, vault.folder.appendingPathComponent("second-passphrase").path]
        try Data("second horse battery\n".utf8).write(to: URL(fileURLWithPath: files[1]))
        var current = 0
        var generator = SystemRandomNumberGenerator()
        var changes = 0
        for trial in 0..<50 {
            let change = Process()
            change.executableURL = ProfferProcess.executable
            change.arguments = ["passphrase", "change", "--new-passphrase-file", files[1 - current]]
            change.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
                .merging(["PROFFER_PASSPHRASE_FILE": files[current], "PROFFER_WEAK_KDF_ACKNOWLEDGED": "1"]) { $1 }
            change.standardOutput = FileHandle.nullDevice
            change.standardError = FileHandle.nullDevice
            try change.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.3, using: &generator))
            kill(change.processIdentifier, SIGKILL)
            change.waitUntilExit()
            let opens = try files.map { file in
                try vault.proffer(["vault", "check"], environment: ["PROFFER_PASSPHRASE_FILE": file])
            }
            let working = opens.indices.filter { opens[$0].status == 0 }
            #expect(working.count == 1, "trial \(trial): \(opens.map(\.status)) \(opens.map(\.stderr))")
            #expect(opens.allSatisfy { $0.status == 0 || $0.status == 77 }, "trial \(trial): \(opens.map(\.stderr))")
            if let now = working.first, now != current {
                changes += 1
                current = now
            }
        }
        #expect(changes > 0 && changes < 50, "some changes finished and some were cut short (\(changes))")
        let intents = try vault.proffer(
            ["intent", "list", "--json"], environment: ["PROFFER_PASSPHRASE_FILE": files[current]])
        #expect((try JSONSerialization.jsonObject(with: Data(intents.stdout.utf8)) as? [Any])?.count == 400)
    }

    @Test("a passphrase file over 4 KiB is refused, not cut short")
    func largePassphraseFile() throws {
        let vault = try CLIPerson(bare: ())
        let large = vault.folder.appendingPathComponent("large").path
        try Data(repeating: 0x61, count: 5000).write(to: URL(fileURLWithPath: large))
        let outcome = try vault.proffer(["persona", "list", "--passphrase-file", large])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("larger than 4 KiB"))
    }

    @Test("--vault naming a folder, an empty file or another kind of file: each its own clear message")
    func notAVault() throws {
        let vault = try CLIPerson(bare: ())
        let empty = vault.folder.appendingPathComponent("empty.db").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let text = vault.folder.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        for (path, expected) in [
            (vault.folder.path, "it is a folder"), (empty, "the file is empty"), (text, "not an SQLite file"),
        ] {
            let outcome = try vault.proffer(["persona", "list", "--vault", path])
            #expect(outcome.status != 0)
            #expect(outcome.stderr.contains(expected), "\(path): \(outcome.stderr)")
        }
    }

    @Test("export refuses a file that is not a plain file, proffer's state folder and the passphrase file")
    func exportRefusesSpecialTargets() throws {
        let vault = try preparedVault()
        let fifo = vault.folder.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let pipe = try vault.proffer(["export", fifo, "--force"])
        #expect(pipe.status != 0)
        #expect(pipe.stderr.contains("not a regular file"))
        var status = stat()
        #expect(stat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO, "the pipe is still a pipe")
        let anchor = try FileManager.default.contentsOfDirectory(atPath: vault.stateFolder + "/proffer")
            .first { $0.hasSuffix(".anchor") }!
        let intoState = try vault.proffer(["export", vault.stateFolder + "/proffer/" + anchor, "--force"])
        #expect(intoState.status != 0)
        #expect(intoState.stderr.contains("state folder"))
        let overPassphrase = try vault.proffer(["export", vault.passphraseFile, "--force"])
        #expect(overPassphrase.status != 0)
        #expect(overPassphrase.stderr.contains("passphrase file"))
        #expect(try vault.proffer(["vault", "check"]).status == 0, "the vault, its anchor and passphrase are intact")
    }

    @Test("a rollback journal planted beside the vault is named, not reported as a read-only folder")
    func plantedJournal() throws {
        let vault = try preparedVault()
        try Data("hello".utf8).write(to: URL(fileURLWithPath: vault.path + "-journal"))
        let outcome = try vault.proffer(["pref", "list"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("-journal lies next to the vault"))
        try FileManager.default.removeItem(atPath: vault.path + "-journal")
        #expect(try vault.proffer(["pref", "list"]).status == 0)
    }

    @Test("another vault with the same passphrase copied into the vault's place is refused")
    func otherVaultInPlace() throws {
        let vault = try preparedVault()
        let other = try CLIPerson(bare: ())
        try other.proffer(["pref", "set", "email", "eve@example.org"])
        let copy = try self.copy(other, to: "other.db")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: vault.path + suffix) }
        try FileManager.default.removeItem(atPath: vault.path)
        try FileManager.default.copyItem(atPath: copy, toPath: vault.path)
        let list = try vault.proffer(["pref", "list"])
        #expect(list.status != 0)
        #expect(list.stderr.contains("not the vault this machine last used there"))
        #expect(!list.stdout.contains("eve@example.org"))
        #expect(try vault.proffer(["vault", "accept-rollback"]).status == 0)
        #expect(try vault.proffer(["pref", "get", "email"]).stdout == "eve@example.org\n")
    }

    @Test("an anchor replaced by a link or a folder is refused like an altered one; a missing anchor is announced")
    func neutralisedAnchor() throws {
        let vault = try preparedVault()
        let folder = vault.stateFolder + "/proffer"
        let anchor =
            folder + "/"
            + (try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".anchor") }!)
        try FileManager.default.removeItem(atPath: anchor)
        try FileManager.default.createSymbolicLink(atPath: anchor, withDestinationPath: "/dev/null")
        let linked = try vault.proffer(["pref", "list"])
        #expect(linked.status != 0)
        #expect(linked.stderr.contains("rollback anchor"))
        try FileManager.default.removeItem(atPath: anchor)
        try FileManager.default.createDirectory(atPath: anchor, withIntermediateDirectories: false)
        #expect(try vault.proffer(["pref", "list"]).status != 0)
        try FileManager.default.removeItem(atPath: anchor)
        let missing = try vault.proffer(["pref", "list"])
        #expect(missing.status == 0)
        #expect(missing.stderr.contains("no rollback anchor for this vault"))
        #expect(try !vault.proffer(["pref", "list"]).stderr.contains("anchor"), "announced once, then anchored")
    }

    @Test("ten writers at once: never a false rollback alarm, every one succeeds or waits its turn")
    func concurrentWritersNoFalseAlarm() throws {
        let vault = try preparedVault()
        for round in 0..<3 {
            let processes = try (0..<10).map { number -> (Process, URL) in
                let process = Process()
                process.executableURL = ProfferProcess.executable
                process.arguments = ["pref", "set", "phone", "+49 30 \(round)00\(number)", "--share", "never"]
                process.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
                    .merging(["PROFFER_WEAK_KDF_ACKNOWLEDGED": "1"]) { $1 }
                let errors = vault.folder.appendingPathComponent("stderr-\(round)-\(number)")
                _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
                process.standardError = try FileHandle(forWritingTo: errors)
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                return (process, errors)
            }
            for (process, errors) in processes {
                process.waitUntilExit()
                let text = String(decoding: try Data(contentsOf: errors), as: UTF8.self)
                #expect(process.terminationStatus == 0 || process.terminationStatus == 75, "\(text)")
                #expect(!text.contains("older") && !text.contains("anchor"), "\(text)")
            }
        }
        #expect(try vault.proffer(["vault", "check"]).status == 0)
    }

    @Test("control characters in a value are shown as symbols in tables; a damaged vault's value is not printed")
    func terminalSafety() throws {
        let vault = try preparedVault()
        try vault.proffer([
            "pref", "set", "name", "A\u{1B}[2J\u{07}da\r\nFAKE  email never ok\u{202E}", "--share", "never",
        ])
        let list = try vault.proffer(["pref", "list"])
        #expect(list.status == 0)
        #expect(!list.stdout.contains("\u{1B}") && !list.stdout.contains("\u{202E}") && !list.stdout.contains("\r"))
        #expect(list.stdoutLines.count == 4, "one header and three rows: no forged row")
        try sql(vault, "DELETE FROM preferences WHERE id = 3")
        let get = try vault.proffer(["pref", "get", "email"])
        #expect(get.status != 0)
        #expect(get.stdout.isEmpty)
    }

    @Test("implausible key-derivation costs in the header are refused at once, not run for hours")
    func implausibleKDF() throws {
        let vault = try preparedVault()
        try sql(vault, "UPDATE vault SET kdf_operations = 4000000000")
        let started = Date()
        let outcome = try vault.proffer(["pref", "list"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("implausible"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a symbolic link to another vault swapped in at the vault's path is refused, and so is a linked folder")
    func linkedVaultInPlace() throws {
        let vault = try preparedVault()
        let other = try CLIPerson(bare: ())
        try other.proffer(["pref", "set", "email", "eve@example.org"])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: vault.path + suffix) }
        try FileManager.default.createSymbolicLink(atPath: vault.path, withDestinationPath: other.path)
        let list = try vault.proffer(["pref", "list"])
        #expect(list.status != 0)
        #expect(list.stderr.contains("not the vault this machine last used there"))
        #expect(!list.stdout.contains("eve@example.org"))
    }

    @Test("an audit entry altered in the middle of the chain is caught by every command, and writes are refused")
    func alteredMiddleAuditEntry() throws {
        let vault = try preparedVault()
        try sql(
            vault,
            "UPDATE audit SET sealed = (SELECT sealed FROM audit WHERE seq = 1), mac = (SELECT mac FROM audit WHERE seq = 1) WHERE seq = 2"
        )
        let list = try vault.proffer(["pref", "list"])
        expectDamageReported(list, "pref list")
        #expect(list.stderr.contains("the audit chain is broken at entry 2"))
        let write = try vault.proffer(["pref", "set", "size", "M"])
        #expect(write.status != 0)
        #expect(write.stderr.contains("Nothing was changed"))
    }

    @Test("export refuses the vault's journal name even when no journal exists")
    func exportOntoJournalName() throws {
        let vault = try preparedVault()
        let outcome = try vault.proffer(["export", vault.path + "-journal", "--force"])
        #expect(outcome.status != 0)
        #expect(!FileManager.default.fileExists(atPath: vault.path + "-journal"))
        #expect(try vault.proffer(["pref", "list"]).status == 0)
    }

    @Test("an import killed at random moments leaves no vault or a whole one, never an empty one that looks intact")
    func killedImport() throws {
        let vault = try CLIPerson(bare: ())
        try vault.fill(300)
        let exportFile = vault.folder.appendingPathComponent("backup.export").path
        #expect(try vault.proffer(["export", exportFile]).status == 0)
        var generator = SystemRandomNumberGenerator()
        var whole = 0
        for trial in 0..<20 {
            let target = vault.folder.appendingPathComponent("import-\(trial)/vault.db").path
            let importer = Process()
            importer.executableURL = ProfferProcess.executable
            importer.arguments = ["import", exportFile, "--vault", target]
            importer.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
                .merging(["PROFFER_WEAK_KDF_ACKNOWLEDGED": "1"]) { $1 }
            importer.standardOutput = FileHandle.nullDevice
            importer.standardError = FileHandle.nullDevice
            try importer.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.15, using: &generator))
            kill(importer.processIdentifier, SIGKILL)
            importer.waitUntilExit()
            guard FileManager.default.fileExists(atPath: target) else { continue }
            whole += 1
            let intents = try vault.proffer(["intent", "list", "--json", "--vault", target])
            #expect((try JSONSerialization.jsonObject(with: Data(intents.stdout.utf8)) as? [Any])?.count == 300)
            #expect(try vault.proffer(["vault", "check", "--vault", target]).status == 0, "trial \(trial)")
        }
        #expect(whole < 20, "some imports were cut short")
    }
}
