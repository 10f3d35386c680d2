import Foundation
import ProfferCrypto
import ProfferVault
import ProfferWire

// A helper for the vault's robustness tests, not shipped: it writes in a loop, printing each committed write, or
// holds the vault's write lock.
// Usage: vault-test-writer VAULT PASSPHRASE-FILE write PREFIX
//        vault-test-writer VAULT PASSPHRASE-FILE hold SECONDS
//        vault-test-writer VAULT PASSPHRASE-FILE fill COUNT     (COUNT intents in one transaction, for benchmarks)
let arguments = CommandLine.arguments
guard arguments.count == 5, var passphrase = FileManager.default.contents(atPath: arguments[2]).map({ [UInt8]($0) })
else {
    FileHandle.standardError.write(
        Data("usage: vault-test-writer VAULT PASSPHRASE-FILE write PREFIX | hold SECONDS | fill COUNT\n".utf8))
    exit(64)
}
if passphrase.last == 0x0A { passphrase.removeLast() }
/// Unbuffered, so the test sees each line the moment the write it reports has committed.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

do {
    let vault = try Vault.open(at: arguments[1], passphrase: try SecretBytes(wiping: &passphrase))
    switch arguments[3] {
    case "write":
        var number = 0
        while true {
            number += 1
            let note = "\(arguments[4])-\(number)"
            let intent = try vault.addIntent(try Message.parse("#buy crash.test note:\(note)"), persona: "default")
            try vault.setPreference(
                key: "email", value: "\(note)@example.org", persona: "default", share: number % 2 == 0 ? .ask : .always)
            say("committed \(intent.id) \(note)")
        }
    case "fill":
        let messages = try (0..<(Int(arguments[4]) ?? 0)).map { number in
            try Message.parse(
                "#buy thing.number\(number % 50) max:\(10 + number % 900)EUR in:DE terms:sd-base note:item-\(number)")
        }
        let started = Date()
        let count = try vault.addIntents(messages, persona: "default").count
        say("stored \(count) intents in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    case "hold":
        try vault.holdWriteLock(seconds: Double(arguments[4]) ?? 5) { say("holding") }
    default:
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("vault-test-writer: \(error)\n".utf8))
    exit(1)
}
