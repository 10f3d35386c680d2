// Writes COUNT signed intent envelopes addressed to a vendor, one JSON per line, for inbox load tests.
// They come from many fresh person keys, at most 100 intents each, as intents from many people would (a vendor keeps at
// most 200 open intents per key).
//
// usage: signed-intents PROFILE_URL_OR_FILE COUNT
import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferWire

let arguments = CommandLine.arguments
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
