// Writes COUNT signed intent envelopes addressed to a vendor, one JSON per line, for inbox load tests.
// They come from many fresh person keys, at most 100 intents each, as intents from many people would (a vendor keeps at
// most 200 open intents per key).
//
// usage: signed-intents PROFILE_URL_OR_FILE COUNT
//        signed-intents --ceiling SECONDS SIGNS    (the crypto ceiling: one verify plus SIGNS signs per intent, one core)
import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferWire

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "--ceiling", let seconds = Double(arguments[2]), let signs = Int(arguments[3])
{
    // What an intent costs in crypto alone: its envelope's signature verified, and one offer envelope signed per
    // match. Signing inputs of an envelope's size (about 300 bytes).
    let person = try SigningKeyPair.generate()
    let vendor = try SigningKeyPair.generate()
    let input = [UInt8](repeating: 0x61, count: 300)
    let signature = person.signature(for: input)
    let clock = ContinuousClock()
    let start = clock.now
    var intents = 0
    var valid = true
    while clock.now - start < .seconds(seconds) {
        for _ in 0..<100 {
            valid = valid && person.publicKey.isValidSignature(signature, for: input)
            for _ in 0..<signs { valid = valid && vendor.signature(for: input).count == 64 }
        }
        intents += 100
    }
    let elapsed = (clock.now - start) / .seconds(1)
    guard valid else { fatalError("a signature did not verify") }
    print(String(format: "%.0f", Double(intents) / elapsed))
    exit(0)
}
guard arguments.count == 3, let count = Int(arguments[2]),
    let profileData = FileManager.default.contents(atPath: arguments[1])
else {
    FileHandle.standardError.write(Data("usage: signed-intents PROFILE_JSON_FILE COUNT\n".utf8))
    exit(64)
}
let profile = try VendorProfile.verified(json: [UInt8](profileData))
let people = try (0..<max(64, count / 100 + 1)).map { _ in try SigningKeyPair.generate() }
var output: [UInt8] = []
for index in 0..<count {
    let message = "#buy camera.mirrorless id:\(MessageID.random()) max:1300EUR in:DE terms:sd-base"
    output += Envelope.signed(message: message, by: people[index % people.count], to: profile.signingKey).jsonBytes
    output.append(0x0A)
    if output.count > 1 << 19 {
        FileHandle.standardOutput.write(Data(output))
        output.removeAll(keepingCapacity: true)
    }
}
FileHandle.standardOutput.write(Data(output))
