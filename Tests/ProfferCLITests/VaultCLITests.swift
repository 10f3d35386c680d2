import Foundation
import GRDB
import ProfferCrypto
import ProfferVault
import Testing

@testable import ProfferTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Vault through the CLI", .serialized)
struct VaultCLITests {
    @Test("init makes the folder 0700 and the file 0600, and warns about weak-for-tests")
    func permissionsAfterInit() throws {
        let vault = try CLIPerson(bare: ())
        let folderMode =
            try FileManager.default.attributesOfItem(atPath: (vault.path as NSString).deletingLastPathComponent)[
                .posixPermissions] as! Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: vault.path)[.posixPermissions] as! Int
        #expect(folderMode == 0o700)
        #expect(fileMode == 0o600)
        let unacknowledged = try vault.proffer(
            ["persona", "list"], environment: ["PROFFER_WEAK_KDF_ACKNOWLEDGED": "0"])
        #expect(unacknowledged.stderr.contains("weak-for-tests"))
    }

    @Test("a vault others can write to is refused")
    func refusesWorldWritable() throws {
        let vault = try CLIPerson(bare: ())
        chmod(vault.path, 0o666)
        let outcome = try vault.proffer(["persona", "list"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("chmod go-w"))
    }

    @Test("a wrong passphrase exits 77 and leaves the vault file's bytes unchanged")
    func wrongPassphrase() throws {
        let vault = try CLIPerson(bare: ())
        try vault.proffer(["pref", "set", "email", "ada@example.org"])
        let before = FileManager.default.contents(atPath: vault.path)
        let wrongFile = vault.folder.appendingPathComponent("wrong").path
        try Data("wrong horse battery".utf8).write(to: URL(fileURLWithPath: wrongFile))
        let outcome = try vault.proffer(["pref", "set", "email", "eve@example.org", "--passphrase-file", wrongFile])
        #expect(outcome.status == 77)
        #expect(outcome.stderr.contains("wrong passphrase"))
        #expect(!outcome.stderr.contains("wrong horse"), "the passphrase itself is never echoed")
        #expect(FileManager.default.contents(atPath: vault.path) == before)
    }

    @Test("listings speak JSON, and pref get prints only the value asked for")
    func listingsAndJSON() throws {
        let vault = try CLIPerson(bare: ())
        try vault.proffer(["pref", "set", "name", "Ada Lovelace", "--share", "always"])
        try vault.proffer(["vendor", "add", "cameras", "--url", "http://127.0.0.1:8081"])
        let intent = try vault.proffer(["intent", "new", "#buy camera.mirrorless max:1200eur in:de"])
        #expect(intent.status == 0)
        #expect(intent.stdout.hasPrefix("#buy camera.mirrorless id:"))
        #expect(try vault.proffer(["pref", "get", "name"]).stdout == "Ada Lovelace\n")
        for listing in [
            ["persona", "list"], ["pref", "list"], ["vendor", "list"], ["intent", "list"], ["audit", "list"],
        ] {
            let outcome = try vault.proffer(listing + ["--json"])
            #expect(outcome.status == 0, "\(listing)")
            #expect((try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) is [Any], "\(listing) --json")
        }
        let human = try vault.proffer(["pref", "list"]).stdoutLines
        #expect(human.first?.hasPrefix("PERSONA  KEY   SHARE   VALUE") == true)
        #expect(try vault.proffer(["intent", "new", "#buy x max:1,2EUR"]).status == 65)
        #expect(try vault.proffer(["pref", "set", "shoe", "42"]).status == 65)
    }

    @Test("audit verify exits non-zero and names the first altered entry")
    func auditVerify() throws {
        let vault = try CLIPerson(bare: ())
        for rule in ["ask", "always", "never"] {
            try vault.proffer(["pref", "set", "email", "a@b.c", "--share", rule])
        }
        #expect(try vault.proffer(["audit", "verify"]).stdout.contains("intact: 3 entries"))
        try DatabaseQueue(path: vault.path).write { db in
            try db.execute(sql: "UPDATE audit SET mac = zeroblob(32) WHERE seq = 2")
        }
        let outcome = try vault.proffer(["audit", "verify"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("entry 2"))
    }

    @Test("export and import through the CLI; a damaged export writes nothing")
    func exportImport() throws {
        let vault = try CLIPerson(bare: ())
        try vault.proffer(["pref", "set", "postal", "1 Main St", "--share", "ask"])
        let exportFile = vault.folder.appendingPathComponent("backup.export").path
        #expect(try vault.proffer(["export", exportFile]).status == 0)
        let target = vault.folder.appendingPathComponent("elsewhere/vault.db").path
        let imported = try vault.proffer(["import", exportFile, "--vault", target])
        #expect(imported.status == 0)
        #expect(try vault.proffer(["pref", "get", "postal", "--vault", target]).stdout == "1 Main St\n")
        var bytes = [UInt8](FileManager.default.contents(atPath: exportFile)!)
        bytes.removeLast(5)
        _ = FileManager.default.createFile(atPath: exportFile, contents: Data(bytes))
        let other = vault.folder.appendingPathComponent("other/vault.db").path
        let refused = try vault.proffer(["import", exportFile, "--vault", other])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("nothing was written"))
        #expect(!FileManager.default.fileExists(atPath: other))
    }

    @Test("a second process waits, then exits 75 with a clear message, while another holds the vault")
    func busyVault() throws {
        let vault = try CLIPerson(bare: ())
        let holder = Process()
        holder.executableURL = ProfferProcess.builtProduct("vault-test-writer")
        holder.arguments = [vault.path, vault.passphraseFile, "hold", "4"]
        holder.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer { holder.waitUntilExit() }
        _ = output.fileHandleForReading.availableData  // "holding": the lock is taken
        let started = Date()
        let outcome = try vault.proffer(["pref", "set", "email", "a@b.c"], environment: ["PROFFER_BUSY_TIMEOUT": "1"])
        #expect(outcome.status == 75)
        #expect(outcome.stderr.contains("in use by another proffer process"))
        #expect(Date().timeIntervalSince(started) >= 0.9, "it waited before giving up")
    }

    @Test("two writers at once never corrupt the vault, and every acknowledged write is kept")
    func concurrentWriters() throws {
        let vault = try CLIPerson(bare: ())
        let writers = (0..<2).map { number in
            let process = Process()
            process.executableURL = ProfferProcess.builtProduct("vault-test-writer")
            process.arguments = [vault.path, vault.passphraseFile, "write", "writer\(number)"]
            process.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
            process.standardOutput = Pipe()
            process.standardError = Pipe()
            return process
        }
        for writer in writers { try writer.run() }
        Thread.sleep(forTimeInterval: 1.5)
        for writer in writers { kill(writer.processIdentifier, SIGKILL) }
        var acknowledged: [String] = []
        for writer in writers {
            writer.waitUntilExit()
            let text = String(
                decoding: (writer.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            acknowledged += text.split(separator: "\n").filter { $0.hasPrefix("committed ") }.map {
                String($0.split(separator: " ")[1])
            }
        }
        #expect(acknowledged.count > 2, "both writers made progress")
        let opened = try vault.open()
        #expect(try opened.integrityCheck() == ["ok"])
        let stored = Set(try opened.intents().map(\.id.description))
        #expect(Set(acknowledged).isSubset(of: stored))
        if case .broken(let entry, let reason) = try opened.verifyAuditChain() {
            Issue.record("entry \(entry): \(reason)")
        }
    }

    @Test("50 kills at random moments: the vault always opens, passes integrity_check, keeps every acknowledged write")
    func crashSafety() throws {
        let vault = try CLIPerson(bare: ())
        var generator = SystemRandomNumberGenerator()
        var acknowledged: Set<String> = []
        for round in 0..<50 {
            let writer = Process()
            writer.executableURL = ProfferProcess.builtProduct("vault-test-writer")
            writer.arguments = [vault.path, vault.passphraseFile, "write", "round\(round)"]
            writer.environment = ProcessInfo.processInfo.environment.merging(vault.environment) { $1 }
            let output = Pipe()
            writer.standardOutput = output
            writer.standardError = Pipe()
            try writer.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.25, using: &generator))
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("committed ") {
                acknowledged.insert(String(line.split(separator: " ")[1]))
            }
            let opened = try vault.open()
            #expect(try opened.integrityCheck() == ["ok"], "round \(round)")
            let stored = Set(try opened.intents().map(\.id.description))
            #expect(acknowledged.isSubset(of: stored), "round \(round): acknowledged writes lost")
            if case .broken(let entry, let reason) = try opened.verifyAuditChain() {
                Issue.record("round \(round): audit entry \(entry): \(reason)")
            }
        }
        #expect(acknowledged.count >= 20, "the writer committed work between kills")
    }

    @Test("a write that hits a file-size limit fails clearly and leaves the vault as it was")
    func fullDisk() throws {
        let vault = try CLIPerson(bare: ())
        for number in 0..<5 { try vault.proffer(["intent", "new", "#buy thing\(number)"]) }
        let proffer = ProfferProcess.executable.path
        // Limit files to a little more than the vault has now, then keep writing until a write fails.
        let blocks = ((try FileManager.default.attributesOfItem(atPath: vault.path)[.size] as! Int) + 8192) / 512
        let script = """
            ulimit -f \(blocks)
            for n in $(seq 1 400); do
              "\(proffer)" intent new "#buy filler$n note:\\"$(head -c 100 /dev/zero | tr '\\0' x)\\"" >/dev/null || exit $?
            done
            """
        let outcome = try ProfferProcess.run(
            ["-c", script], environment: vault.environment, executable: URL(fileURLWithPath: "/bin/bash"))
        #expect(outcome.status == 1, "a write failed: \(outcome.stderr)")
        #expect(outcome.stderr.contains("the last change was not saved"))
        let opened = try vault.open()
        #expect(try opened.integrityCheck() == ["ok"])
        #expect(try opened.intents().count >= 5)
        #expect(try vault.proffer(["intent", "new", "#buy after.the.limit"]).status == 0, "the vault works again")
    }
}
