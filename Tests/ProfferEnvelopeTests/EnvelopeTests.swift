import Foundation
import ProfferCrypto
import ProfferWire
import Testing

@testable import ProfferEnvelope

/// A signed envelope as JSON members, so each test can break exactly one thing.
struct EnvelopeDraft {
    var members: [(String, String)]

    init(
        msg: String = "#buy camera.mirrorless id:k7f3q2ab max:1200EUR", signer: SigningKeyPair,
        to recipient: SigningPublicKey,
        ts: Timestamp = .now, data: [UInt8]? = nil
    ) {
        let envelope = Envelope.signed(message: msg, by: signer, to: recipient, sealedData: data, at: ts)
        members = [
            ("proffer", "1"), ("msg", Self.quote(envelope.msg)), ("from", Self.quote(envelope.from)),
            ("to", Self.quote(envelope.to)), ("ts", Self.quote(envelope.ts)), ("nonce", Self.quote(envelope.nonce)),
        ]
        if let data = envelope.data { members.append(("data", Self.quote(data))) }
        members.append(("sig", Self.quote(envelope.sig)))
    }

    static func quote(_ text: String) -> String {
        var writer = ByteWriter()
        writer.appendJSONString(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    mutating func set(_ name: String, raw: String) {
        if let index = members.firstIndex(where: { $0.0 == name }) {
            members[index].1 = raw
        } else {
            members.append((name, raw))
        }
    }

    mutating func remove(_ name: String) { members.removeAll { $0.0 == name } }

    var json: [UInt8] { Array(("{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8) }
}

@Suite("Envelopes")
struct EnvelopeTests {
    let sender = try! SigningKeyPair.generate()
    let recipient = try! SigningKeyPair.generate()

    func verifier(capacity: Int = 1000) -> EnvelopeVerifier {
        EnvelopeVerifier(recipient: recipient.publicKey, replayWindow: ReplayWindow(capacity: capacity))
    }

    func code(of json: [UInt8], verifier: EnvelopeVerifier? = nil) -> String? {
        do {
            _ = try (verifier ?? self.verifier()).verify(json: json)
            return nil
        } catch {
            return error.code.description
        }
    }

    @Test("a signed envelope verifies, round-trips through JSON and yields its message")
    func roundTrip() throws {
        let envelope = Envelope.signed(
            message: "#buy camera.mirrorless id:k7f3q2ab max:1200EUR", by: sender, to: recipient.publicKey)
        let verified = try verifier().verify(json: envelope.jsonBytes)
        #expect(verified.envelope == envelope)
        #expect(verified.message.kind == .buy)
        #expect(verified.sender == sender.publicKey)
    }

    @Test(
        "each fault gets the spec's code",
        arguments: [
            ("not JSON", "bad-envelope"), ("array", "bad-envelope"), ("missing msg", "bad-envelope"),
            ("extra member", "bad-envelope"), ("proffer as string", "bad-envelope"), ("msg as number", "bad-envelope"),
            ("short nonce", "bad-envelope"), ("padded from", "bad-envelope"), ("ts with offset", "bad-envelope"),
            ("ts without seconds", "bad-envelope"), ("duplicate member", "bad-envelope"), ("version 2", "bad-version"),
            ("msg does not parse", "bad-message"), ("msg not canonical", "bad-message"),
            ("data on an intent", "bad-message"), ("to another key", "not-for-me"), ("altered msg", "bad-signature"),
            ("ts 301 s ahead", "stale"), ("ts 301 s behind", "stale"),
        ])
    func faults(fault: String, expected: String) throws {
        var draft = EnvelopeDraft(signer: sender, to: recipient.publicKey)
        var body: [UInt8]?
        switch fault {
        case "not JSON": body = Array("{\"proffer\":1,".utf8)
        case "array": body = Array("[1]".utf8)
        case "missing msg": draft.remove("msg")
        case "extra member": draft.set("note", raw: "\"hi\"")
        case "proffer as string": draft.set("proffer", raw: "\"1\"")
        case "msg as number": draft.set("msg", raw: "5")
        case "short nonce": draft.set("nonce", raw: "\"AAAA\"")
        case "padded from": draft.set("from", raw: "\"" + Base64URL.encode(sender.publicKey.bytes) + "=\"")
        case "ts with offset": draft.set("ts", raw: "\"2026-11-23T10:00:00+00:00\"")
        case "ts without seconds": draft.set("ts", raw: "\"2026-11-23T10:00Z\"")
        case "duplicate member":
            body = Array((String(decoding: draft.json, as: UTF8.self).dropLast() + ",\"proffer\":1}").utf8)
        case "version 2": draft.set("proffer", raw: "2")
        case "msg does not parse": draft = EnvelopeDraft(msg: "#buy", signer: sender, to: recipient.publicKey)
        case "msg not canonical":
            draft = EnvelopeDraft(msg: "#BUY camera max:1200eur id:k7f3q2ab", signer: sender, to: recipient.publicKey)
        case "data on an intent":
            draft = EnvelopeDraft(signer: sender, to: recipient.publicKey, data: [UInt8](repeating: 7, count: 64))
        case "to another key": draft = EnvelopeDraft(signer: sender, to: try SigningKeyPair.generate().publicKey)
        case "altered msg": draft.set("msg", raw: "\"#buy camera.mirrorless id:k7f3q2ab max:1300EUR\"")
        case "ts 301 s ahead":
            draft = EnvelopeDraft(signer: sender, to: recipient.publicKey, ts: .now.adding(seconds: 301))
        case "ts 301 s behind":
            draft = EnvelopeDraft(signer: sender, to: recipient.publicKey, ts: .now.adding(seconds: -301))
        default: Issue.record("unknown fault \(fault)")
        }
        #expect(code(of: body ?? draft.json) == expected)
    }

    @Test("a body over 64 KiB is too-large before anything else is looked at")
    func tooLarge() {
        #expect(code(of: [UInt8](repeating: 0x20, count: 64 * 1024 + 1)) == "too-large")
        #expect(code(of: [UInt8](repeating: 0x20, count: 64 * 1024)) == "bad-envelope")
    }

    @Test("checks run in the spec's order: an envelope with several faults gets the earliest code")
    func precedence() throws {
        // Wrong version and unparsable message: bad-version first.
        var draft = EnvelopeDraft(msg: "#buy", signer: sender, to: recipient.publicKey)
        draft.set("proffer", raw: "2")
        #expect(code(of: draft.json) == "bad-version")
        // Not for me, badly signed and stale: not-for-me first.
        var other = EnvelopeDraft(
            signer: sender, to: try SigningKeyPair.generate().publicKey, ts: .now.adding(seconds: -1000))
        other.set("sig", raw: "\"" + Base64URL.encode([UInt8](repeating: 1, count: 64)) + "\"")
        #expect(code(of: other.json) == "not-for-me")
        // Badly signed and stale: bad-signature first, and a forged copy never enters the replay window.
        let verifier = verifier()
        var forged = EnvelopeDraft(signer: sender, to: recipient.publicKey, ts: .now.adding(seconds: -1000))
        forged.set("sig", raw: "\"" + Base64URL.encode([UInt8](repeating: 1, count: 64)) + "\"")
        #expect(code(of: forged.json, verifier: verifier) == "bad-signature")
        #expect(verifier.replayWindow.count == 0)
    }

    @Test("the same envelope twice is a replay; a fresh nonce is not")
    func replay() throws {
        let verifier = verifier()
        let envelope = Envelope.signed(message: "#withdraw re:k7f3q2ab", by: sender, to: recipient.publicKey)
        #expect(code(of: envelope.jsonBytes, verifier: verifier) == nil)
        #expect(code(of: envelope.jsonBytes, verifier: verifier) == "replay")
        let again = Envelope.signed(message: "#withdraw re:k7f3q2ab", by: sender, to: recipient.publicKey)
        #expect(code(of: again.jsonBytes, verifier: verifier) == nil)
    }

    @Test("the replay window stays within its capacity, refuses with busy when full, and frees stale entries")
    func boundedReplayWindow() throws {
        let window = ReplayWindow(capacity: 100)
        let now = Timestamp.now
        for index in 0..<100 {
            try window.admit(
                sender: sender.publicKey.bytes, nonce: SecureRandom.bytes(16), freshUntil: now.adding(seconds: 300),
                now: now.adding(seconds: Int64(index % 3)))
        }
        #expect(window.count == 100)
        #expect(throws: ProtocolError.self) {
            try window.admit(
                sender: sender.publicKey.bytes, nonce: SecureRandom.bytes(16), freshUntil: now.adding(seconds: 300),
                now: now)
        }
        // Once those entries could only arrive stale, they are forgotten and room is made.
        try window.admit(
            sender: sender.publicKey.bytes, nonce: SecureRandom.bytes(16), freshUntil: now.adding(seconds: 700),
            now: now.adding(seconds: 301))
        #expect(window.count == 1)
    }

    @Test("an accept's sealed data opens only with the vendor's box key")
    func sealedData() throws {
        let box = try BoxKeyPair.generate()
        let plain = Array("{\"name\":\"Ada\"}".utf8)
        let envelope = Envelope.signed(
            message: "#accept id:a1b2c3d4 re:v9a1b2c3 give:name", by: sender, to: recipient.publicKey,
            sealedData: try box.publicKey.seal(plain))
        let verified = try verifier().verify(json: envelope.jsonBytes)
        #expect(try box.open(verified.sealedData!) == plain)
        #expect(throws: CryptoError.self) { try BoxKeyPair.generate().open(verified.sealedData!) }
    }
}

@Suite("Envelope building blocks")
struct BuildingBlockTests {
    @Test("base64url is unpadded and strict")
    func base64url() {
        for length in 0..<40 {
            let bytes = SecureRandom.bytes(length)
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode(Array("hi?".utf8)) == "aGk_")
        #expect(Base64URL.decode("aGk=") == nil)
        #expect(Base64URL.decode("aGk/") == nil)
        #expect(Base64URL.decode("aGl") == nil)  // non-zero unused bits: "aGk" is the one spelling
        #expect(Base64URL.decode("a") == nil)
    }

    @Test("timestamps have one form, and round-trip")
    func timestamps() {
        #expect(Timestamp("2026-11-23T10:00:00Z")?.secondsSince1970 == 1_795_428_000)
        #expect(Timestamp(secondsSince1970: 1_795_428_000).description == "2026-11-23T10:00:00Z")
        #expect(Timestamp("2024-02-29T23:59:59Z") != nil)
        for bad in [
            "2025-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:00:60Z", "2026-11-23t10:00:00Z",
            "2026-11-23T10:00:00.5Z", "2026-11-23T10:00:00+01:00", "2026-13-01T00:00:00Z",
        ] {
            #expect(Timestamp(bad) == nil, "\(bad)")
        }
        for seconds: Int64 in [0, 951_782_400, 4_102_444_799, 1_795_428_000] {
            #expect(Timestamp(Timestamp(secondsSince1970: seconds).description)?.secondsSince1970 == seconds)
        }
    }

    @Test("strict JSON refuses what two readers could read differently")
    func strictJSON() throws {
        for bad in [
            "{\"a\":1,\"a\":2}", "{\"a\":\"\\ud800\"}", "{} x", "\u{FEFF}{}", "{\"a\":01}", "{\"a\":1.}",
            String(repeating: "[", count: 20) + String(repeating: "]", count: 20), "{\"a\":\"\u{01}\"}",
        ] {
            #expect(throws: StrictJSON.SyntaxError.self, "\(bad)") { try StrictJSON.parse(Array(bad.utf8)) }
        }
        #expect(
            try StrictJSON.parse(Array(#"{"a":"\u00e9\ud83d\ude00\n","b":[1,-2.5e3,true,null]}"#.utf8))
                == .object([
                    ("a", .string("é😀\n")), ("b", .array([.number("1"), .number("-2.5e3"), .bool(true), .null])),
                ]))
        #expect(throws: StrictJSON.SyntaxError.self) { try StrictJSON.parse([0x22, 0xFF, 0x22]) }
    }

    @Test("a profile verifies; any change to it does not")
    func profiles() throws {
        let signer = try SigningKeyPair.generate()
        let profile = VendorProfile.signed(
            name: "Lumen Cameras", signer: signer, boxKey: try BoxKeyPair.generate().publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!])
        let json = String(decoding: profile.jsonBytes, as: UTF8.self)
        #expect(try VendorProfile.verified(json: Array(json.utf8)) == profile)
        for (from, to) in [("Lumen", "Lumin"), ("sd-base", "sd-base-a"), ("\"camera\"", "\"lens\"")] {
            #expect(throws: ProtocolError.self) {
                try VendorProfile.verified(json: Array(json.replacingOccurrences(of: from, with: to).utf8))
            }
        }
    }

    @Test("a profile naming a Nostr key and relays (spec 6.1) signs them too; they come together, well formed")
    func nostrProfiles() throws {
        let signer = try SigningKeyPair.generate()
        let nostr = try SchnorrKeyPair.generate().publicKey
        let profile = VendorProfile.signed(
            name: "Lumen Cameras", signer: signer, boxKey: try BoxKeyPair.generate().publicKey,
            terms: [TermsID("sd-base")!], categories: [IntentCategory("camera")!],
            nostr: (nostr, ["wss://relay.example", "ws://127.0.0.1:7447"]))
        let json = String(decoding: profile.jsonBytes, as: UTF8.self)
        let read = try VendorProfile.verified(json: Array(json.utf8))
        #expect(read == profile && read.nostrKey == nostr && read.relays?.count == 2)
        // The signing input continues with the key and the relays: changing either breaks the signature.
        #expect(
            String(decoding: profile.signingInput, as: UTF8.self).hasSuffix(
                "\n\(nostr.hex)\nwss://relay.example,ws://127.0.0.1:7447"))
        let other = try SchnorrKeyPair.generate().publicKey.hex
        for (from, to) in [(nostr.hex, other), ("wss://relay.example", "wss://relay.exampla")] {
            #expect(throws: ProtocolError.self) {
                try VendorProfile.verified(json: Array(json.replacingOccurrences(of: from, with: to).utf8))
            }
        }
        func refused(_ relays: [String]) -> Bool {
            let signed = VendorProfile.signed(
                name: "x", signer: signer, boxKey: profile.boxKey, terms: [], categories: [], nostr: (nostr, relays))
            return (try? VendorProfile.verified(json: signed.jsonBytes)) == nil
        }
        #expect(refused([]))
        #expect(refused(["wss://a.example", "wss://b.example", "wss://c.example", "wss://d.example"]))
        #expect(refused(["ws://relay.example"]), "plain ws:// off loopback")
        #expect(refused(["wss://a.example,wss://b.example"]), "a comma would confuse the signing input")
        #expect(refused(["wss://a.example", "wss://a.example"]))
        #expect(!refused(["wss://a.example"]))
        // One without the other is refused.
        let lone = json.replacingOccurrences(of: #","relays":["wss://relay.example","ws://127.0.0.1:7447"]"#, with: "")
        #expect(lone != json)
        #expect(throws: ProtocolError.self) { try VendorProfile.verified(json: Array(lone.utf8)) }
    }

    @Test("pairwise identities differ per vendor and per persona, and are stable")
    func pairwise() throws {
        let seed = try SymmetricKey.random()
        let a = PairwiseIdentity.keyPair(identitySeed: seed, persona: "default", vendorLabel: "label-a")
        let b = PairwiseIdentity.keyPair(identitySeed: seed, persona: "default", vendorLabel: "label-b")
        let work = PairwiseIdentity.keyPair(identitySeed: seed, persona: "work", vendorLabel: "label-a")
        let again = PairwiseIdentity.keyPair(identitySeed: seed, persona: "default", vendorLabel: "label-a")
        #expect(a.publicKey != b.publicKey)
        #expect(a.publicKey != work.publicKey)
        #expect(a.publicKey == again.publicKey)
        let otherVault = PairwiseIdentity.keyPair(
            identitySeed: try SymmetricKey.random(), persona: "default", vendorLabel: "label-a")
        #expect(a.publicKey != otherVault.publicKey)
    }

    @Test("cast keys: one per public intent, the same from the same seed, and no vault's pairwise key")
    func castKeys() throws {
        let seed = try SymmetricKey.random()
        let first = CastKey.keyPair(identitySeed: seed, publicID: MessageID("k7f3q2ab")!)
        let again = CastKey.keyPair(identitySeed: seed, publicID: MessageID("k7f3q2ab")!)
        let second = CastKey.keyPair(identitySeed: seed, publicID: MessageID("k7f3q2ac")!)
        let elsewhere = CastKey.keyPair(identitySeed: try SymmetricKey.random(), publicID: MessageID("k7f3q2ab")!)
        #expect(first.publicKey == again.publicKey)
        #expect(first.publicKey != second.publicKey && first.publicKey != elsewhere.publicKey)
        let message = Array("id".utf8)
        #expect(again.publicKey.isValidSignature(first.signature(for: message), for: message))
    }
}
