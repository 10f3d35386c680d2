import Foundation
import Testing

@testable import ProfferCrypto
@testable import ProfferNostr
@testable import ProfferTestSupport
@testable import ProfferWire

/// Unix seconds now.
var now: Int64 { Int64(Date().timeIntervalSince1970) }

@Suite("Nostr events and gift wraps, made here and checked by a relay nobody here wrote")
struct EventTests {
    static let awkwardContents = [
        "plain", "quote \" and backslash \\ and both \\\"", "lines\nand\rreturns\tand\u{8}backspace\u{C}feed",
        "delete \u{7F}", "non-ASCII: é ß 日本 🚲 \u{2028} \u{202E}", "", String(repeating: "x", count: 5000),
    ]
    // Control characters other than NIP-01's seven are left out: NIP-01 writes them as they are, JavaScript as
    // \u00xx, this relay (rapidjson) as \u00XX, so no id of such text is agreed on; Proffer never writes them, and
    // reads an id made either of NIP-01's or JavaScript's way (tamperedEvents).

    @Test("events made here are accepted by the relay and come back authentic, whatever their text holds")
    func relayAcceptsAwkwardText() async throws {
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let key = try SchnorrKeyPair.generate()
        var published: [NostrEvent] = []
        for content in Self.awkwardContents {
            let event = NostrEvent.signed(
                kind: 1, tags: [["t", "proffer"], ["x", content]], content: content, createdAt: now, by: key)
            let outcomes = await pool.publish(event, within: .seconds(60))
            #expect(outcomes.map(\.isAccepted) == [true], "\(outcomes) for \(content.debugDescription): \(relay.log)")
            published.append(event)
        }
        let fetched = await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(60))
        #expect(fetched.problems[relay.url] == .some(nil), "\(fetched.problems)")
        #expect(Set(fetched.events) == Set(published))
        #expect(fetched.events.allSatisfy { $0.isAuthentic })
    }

    @Test("the relay refuses a tampered event, and the reader here refuses it too")
    func tamperedEvents() async throws {
        let relay = try await NostrTestRelay.shared()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let key = try SchnorrKeyPair.generate()
        let event = NostrEvent.signed(kind: 1, content: "the real text", createdAt: now, by: key)
        let tampered = NostrEvent(
            id: event.id, author: event.author, createdAt: event.createdAt, kind: event.kind, tags: event.tags,
            content: "a forged text", signature: event.signature)
        #expect(!tampered.isAuthentic)
        let outcomes = await pool.publish(tampered, within: .seconds(60))
        guard case .refused(_, let reason)? = outcomes.first else {
            Issue.record("the relay took a forged event: \(outcomes)")
            return
        }
        #expect(reason.contains("invalid"), "\(reason)")
        #expect(throws: NostrError.self) { try NostrJSON.event(from: NostrJSON.object(tampered)) }
        // The id written as NIP-01's letter has it (control characters as they are) is read too.
        let literal = NostrEvent.rumor(kind: 14, content: "a\u{1}b", createdAt: 1, author: key.publicKey)
        let nip01ID = SHA256.hash(
            NostrJSON.idSerialization(
                author: key.publicKey, createdAt: 1, kind: 14, tags: [], content: "a\u{1}b", escaping: .nip01))
        let asWritten = NostrEvent(
            id: nip01ID, author: key.publicKey, createdAt: 1, kind: 14, tags: [], content: "a\u{1}b", signature: nil)
        #expect(literal.isAuthentic && asWritten.isAuthentic && literal.id != asWritten.id)
    }

    @Test("strict reading: size, tags, ids, signatures, numbers and rumors are checked before anything is used")
    func strictReading() throws {
        let key = try SchnorrKeyPair.generate()
        let event = NostrEvent.signed(kind: 1, tags: [["p", key.publicKey.hex]], content: "hi", createdAt: 5, by: key)
        let json = String(decoding: NostrJSON.object(event), as: UTF8.self)
        #expect(try NostrJSON.event(from: Array(json.utf8)) == event)
        let broken = [
            json.replacingOccurrences(of: "\"kind\":1", with: "\"kind\":1.0"),
            json.replacingOccurrences(of: "\"kind\":1", with: "\"kind\":-1"),
            json.replacingOccurrences(of: "\"kind\":1", with: "\"kind\":70000"),
            json.replacingOccurrences(of: "\"created_at\":5", with: "\"created_at\":\"5\""),
            json.replacingOccurrences(of: event.idHex, with: event.idHex.uppercased()),
            json.replacingOccurrences(of: "\"content\":\"hi\"", with: "\"content\":\"ho\""),
            json.replacingOccurrences(of: "\"content\":\"hi\"", with: "\"content\":\"hi\",\"content\":\"ho\""),
            json.replacingOccurrences(of: ",\"sig\":\"\(Hex.encode(event.signature!))\"", with: ""),
            json.replacingOccurrences(of: "[[\"p\"", with: "[[1"),
            String(json.dropLast()),
        ]
        for text in broken {
            #expect(throws: NostrError.self, "\(text)") { try NostrJSON.event(from: Array(text.utf8)) }
        }
        let huge = NostrEvent.signed(
            kind: 1, content: String(repeating: "a", count: 70_000), createdAt: 5, by: key)
        #expect(throws: NostrError.self) { try NostrJSON.event(from: NostrJSON.object(huge)) }
        let tagged = NostrEvent.signed(
            kind: 1, tags: Array(repeating: ["t", "x"], count: 2001), content: "", createdAt: 5, by: key)
        #expect(throws: NostrError.self) { try NostrJSON.event(from: NostrJSON.object(tagged)) }
        let rumor = NostrEvent.rumor(kind: 14, content: "hi", createdAt: 5, author: key.publicKey)
        #expect(throws: NostrError.self) { try NostrJSON.event(from: NostrJSON.object(rumor)) }
        #expect(try NostrJSON.event(from: NostrJSON.object(rumor), allowingRumor: true) == rumor)
        #expect(throws: NostrError.self) { try NostrJSON.event(from: NostrJSON.object(event), allowingRumor: true) }
    }

    @Test("relay messages are read strictly; filters check what a relay sends against what was asked")
    func relayMessages() throws {
        let key = try SchnorrKeyPair.generate()
        let event = NostrEvent.signed(kind: 1059, tags: [["p", "ab"]], content: "x", createdAt: 100, by: key)
        let frame = "[\"EVENT\",\"s1\",\(String(decoding: NostrJSON.object(event), as: UTF8.self))]"
        guard case .event(let subscription, let read) = try RelayMessage.parse(Array(frame.utf8)) else {
            Issue.record("not an EVENT")
            return
        }
        #expect(subscription == "s1" && read == event)
        guard
            case .ok(let id, let accepted, let reason) = try RelayMessage.parse(Array(#"["OK","ab",false,"no"]"#.utf8))
        else {
            Issue.record("not an OK")
            return
        }
        #expect(id == "ab" && !accepted && reason == "no")
        for bad in [#"{"a":1}"#, #"["OK","ab","false","no"]"#, #"["EVENT","s"]"#, #"["WHAT"]"#, "[", #"["NOTICE",1]"#] {
            #expect(throws: NostrError.self, "\(bad)") { try RelayMessage.parse(Array(bad.utf8)) }
        }
        let filter = NostrFilter(kinds: [1059], tags: ["p": ["ab"]], since: 50)
        #expect(filter.matches(event))
        #expect(!NostrFilter(kinds: [1]).matches(event))
        #expect(!NostrFilter(tags: ["p": ["cd"]]).matches(event))
        #expect(!NostrFilter(since: 101).matches(event))
        let request = ClientMessage.request(subscription: "s", filters: [filter]).text
        #expect(request == ##"["REQ","s",{"kinds":[1059],"#p":["ab"],"since":50}]"##)
    }

    @Test("NIP-13: a mined event reaches its target and commits to it")
    func proofOfWork() throws {
        let key = try SchnorrKeyPair.generate()
        let event = NostrKinds.mined(
            kind: 1, tags: [["t", "proffer"]], content: "#buy camera", createdAt: now, by: key, targetBits: 16)
        #expect(NostrKinds.difficulty(of: event.id) >= 16)
        #expect(NostrKinds.committedDifficulty(of: event) == 16)
        #expect(event.isAuthentic)
        #expect(NostrKinds.difficulty(of: [0, 0, 0x0F] + Array(repeating: 0xFF, count: 29)) == 20)
    }
}
