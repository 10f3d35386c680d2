import Benchmark
import Foundation
import GRDB
import ProfferCrypto
import ProfferVault
import ProfferWire

/// A seeded generator, so every run stores the same records.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// 100,000 intents whose stored records are about 500 bytes each (the canonical message plus its metadata), with
/// random message ids as real intents have.
let recordCount = 100_000
nonisolated(unsafe) var idGenerator = SplitMix64(state: 7012)
let messages: [Message] = (0..<recordCount).map { number in
    let note = String(repeating: "quiet, energy-efficient, fits a 60cm gap ", count: 3).prefix(100)
    return try! Message.parse(
        "#buy appliance.dishwasher id:\(MessageID.random(using: &idGenerator).description) max:\(400 + number % 300)EUR in:DE "
            + "by:2027-01-15 terms:sd-base,pdc-intent note:\"\(note) #\(number)\" brand:any color:white energy:A+++ "
            + "noise:42dB")
}

func temporaryFolder() -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proffer-bench-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

func passphrase() -> SecretBytes {
    var bytes = Array("benchmark passphrase".utf8)
    return try! SecretBytes(wiping: &bytes)
}

/// The same records, unencrypted, through GRDB: the baseline the sealed vault is compared with.
func plainDatabase(at folder: URL) -> DatabaseQueue {
    var configuration = Configuration()
    configuration.journalMode = .wal
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let database = try! DatabaseQueue(
        path: folder.appendingPathComponent("plain.db").path, configuration: configuration)
    try! database.write { db in
        try db.execute(
            sql: "CREATE TABLE intents (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, record BLOB NOT NULL)")
    }
    return database
}

struct PlainIntent: Codable {
    let id, canonical, persona, state: String
    let createdAt, updatedAt: Date
}

let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .iso8601
    return encoder
}()

let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
}()

func writePlain(_ database: DatabaseQueue) {
    let now = Date()
    try! database.write { db in
        let insert = try db.makeStatement(sql: "INSERT INTO intents (id, record) VALUES (?, ?)")
        for message in messages {
            let record = PlainIntent(
                id: message.id!.description, canonical: message.canonicalForm, persona: "default", state: "draft",
                createdAt: now, updatedAt: now)
            try insert.execute(arguments: [record.id, try encoder.encode(record)])
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .milliseconds, maxDuration: .seconds(30), maxIterations: 5)

    Benchmark("Sealed: write 100,000 intents in one transaction") { benchmark in
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let vault = try! Vault.create(
            at: folder.appendingPathComponent("vault.db").path, passphrase: passphrase(), kdf: .weakForTests,
            anchorFolder: folder.appendingPathComponent("state").path)
        benchmark.startMeasurement()
        blackHole(try! vault.addIntents(messages, persona: "default").count)
        benchmark.stopMeasurement()
    }

    Benchmark("Plain GRDB: write the same 100,000 records in one transaction") { benchmark in
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = plainDatabase(at: folder)
        benchmark.startMeasurement()
        writePlain(database)
        benchmark.stopMeasurement()
    }

    let readFolder = temporaryFolder()
    let readVault = try! Vault.create(
        at: readFolder.appendingPathComponent("vault.db").path, passphrase: passphrase(), kdf: .weakForTests,
        anchorFolder: readFolder.appendingPathComponent("state").path)
    _ = try! readVault.addIntents(messages, persona: "default")
    let readPlain = plainDatabase(at: readFolder)
    writePlain(readPlain)

    Benchmark("Sealed: read and open 100,000 intents") { benchmark in
        blackHole(try! readVault.intents().count)
    }

    Benchmark("Plain GRDB: read and decode the same 100,000 records") { benchmark in
        let records = try! readPlain.read { db in
            try Data.fetchAll(db, sql: "SELECT record FROM intents ORDER BY seq").map {
                try decoder.decode(PlainIntent.self, from: $0)
            }
        }
        blackHole(records.count)
    }

    // A vault of 10,000 intents: opening it checks every row against the sealed commitment; `vault check` also
    // opens every record and recomputes the audit chain.
    let tenThousandFolder = temporaryFolder()
    let tenThousandPath = tenThousandFolder.appendingPathComponent("vault.db").path
    let anchors = tenThousandFolder.appendingPathComponent("state").path
    let tenThousand = try! Vault.create(
        at: tenThousandPath, passphrase: passphrase(), kdf: .weakForTests, anchorFolder: anchors)
    _ = try! tenThousand.addIntents(Array(messages.prefix(10_000)), persona: "default")

    Benchmark("Open a vault of 10,000 intents (weak-for-tests KDF; commitment checked)") { _ in
        blackHole(try! Vault.open(at: tenThousandPath, passphrase: passphrase(), anchorFolder: anchors))
    }

    Benchmark("Argon2id alone at weak-for-tests costs (to subtract from the open)") { _ in
        blackHole(
            try! PasswordHashing.deriveKey(
                passphrase: passphrase(), salt: Array(repeating: 1, count: PasswordHashing.saltByteCount),
                parameters: .weakForTests))
    }

    Benchmark("vault check over 10,000 intents") { _ in
        blackHole(try! tenThousand.check().isIntact)
    }

    for (name, parameters) in [
        ("weak-for-tests", Argon2Parameters.weakForTests), ("interactive", .interactive), ("moderate", .moderate),
        ("sensitive", .sensitive),
    ] {
        let folder = temporaryFolder()
        let path = folder.appendingPathComponent("vault.db").path
        _ = try! Vault.create(
            at: path, passphrase: passphrase(), kdf: parameters,
            anchorFolder: folder.appendingPathComponent("state").path)
        Benchmark(
            "Unlock a vault (\(name) key derivation)",
            configuration: .init(
                metrics: [.wallClock], timeUnits: .milliseconds, maxDuration: .seconds(20), maxIterations: 5)
        ) { _ in
            blackHole(
                try! Vault.open(
                    at: path, passphrase: passphrase(), anchorFolder: folder.appendingPathComponent("state").path))
        }
    }
}
