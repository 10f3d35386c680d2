import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire

// A helper for the vault's robustness tests, not shipped: it writes in a loop, printing each committed write, or
// holds the vault's write lock.
// Usage: vault-test-writer VAULT PASSPHRASE-FILE write PREFIX
//        vault-test-writer VAULT PASSPHRASE-FILE hold SECONDS
//        vault-test-writer VAULT PASSPHRASE-FILE fill COUNT     (COUNT intents in one transaction, for benchmarks)
//        vault-test-writer VAULT PASSPHRASE-FILE deals COUNT    (COUNT signed deals over 10 vendors, a third
//                                                                forgotten and some forget-pending, for benchmarks)
let arguments = CommandLine.arguments
guard arguments.count == 5, var passphrase = FileManager.default.contents(atPath: arguments[2]).map({ [UInt8]($0) })
else {
    FileHandle.standardError.write(
        Data(
            "usage: vault-test-writer VAULT PASSPHRASE-FILE write PREFIX | hold SECONDS | fill COUNT | deals COUNT\n"
                .utf8))
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
    case "deals":
        let started = Date()
        let person = try SigningKeyPair.generate()
        let vendors = try (0..<10).map { number in
            let keys = try SigningKeyPair.generate()
            let vendor = Vendor(
                name: "vendor-\(number)", baseURL: "https://vendor-\(number).example/proffer",
                signingKey: keys.publicKey,
                terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!], profileName: "Vendor \(number)")
            try vault.addVendor(vendor)
            return (vendor, keys)
        }
        for number in 0..<(Int(arguments[4]) ?? 0) {
            let (vendor, keys) = vendors[number % vendors.count]
            let intent = try vault.addIntent(
                try Message.parse("#buy camera.mirrorless max:1300EUR terms:sd-base"), persona: "default")
            let offerID = MessageID.random()
            let offerText =
                "#offer id:\(offerID) re:\(intent.id) price:1149EUR item:\"Camera \(number)\" eta:3d "
                + "terms:sd-base needs:name,postal"
            let offerEnvelope = Envelope.signed(message: offerText, by: keys, to: person.publicKey)
            try vault.addOffers([
                StoredOffer(
                    vendor: vendor.name, intentID: intent.id, envelope: offerEnvelope.json,
                    message: try Message.parse(offerText), receivedAt: Date(), expiresAt: nil)
            ])
            let dealID = MessageID.random()
            let accept = Envelope.signed(
                message: "#accept id:\(dealID) re:\(offerID) give:name,postal terms:sd-base", by: person,
                to: keys.publicKey, sealedData: SecureRandom.bytes(96))
            var deal = StoredDeal(
                id: dealID, vendor: vendor.name, persona: "default", offerID: offerID, intentID: intent.id,
                acceptEnvelope: accept.json, replyEnvelope: nil, disclosed: [.name, .postal],
                terms: [TermsID("sd-base")!], createdAt: Date(), state: .sending)
            deal.item = "Camera \(number)"
            try vault.beginDeal(deal, allowAnother: true)
            let confirm = Envelope.signed(
                message: "#confirm id:\(MessageID.random()) re:\(dealID) eta:3d", by: keys, to: person.publicKey)
            try vault.updateDeal(id: dealID) { stored in
                stored.replyEnvelope = confirm.json
                stored.state = .confirmed
                if number % 3 != 0 {
                    let forgetID = MessageID.random()
                    stored.forgetEnvelope =
                        Envelope.signed(
                            message: "#forget id:\(forgetID) re:\(dealID)", by: person, to: keys.publicKey
                        ).json
                    stored.forgetDelivered = number % 6 != 1
                    stored.state = .forgetPending
                }
                if number % 3 == 2 {
                    stored.forgetReplyEnvelope =
                        Envelope.signed(
                            message: "#confirm id:\(MessageID.random()) re:\(dealID)", by: keys, to: person.publicKey
                        ).json
                    stored.state = .forgotten
                }
                return []
            }
        }
        say("stored \(arguments[4]) deals in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    case "hold":
        try vault.holdWriteLock(seconds: Double(arguments[4]) ?? 5) { say("holding") }
    default:
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("vault-test-writer: \(error)\n".utf8))
    exit(1)
}
