import ProfferCrypto
import ProfferWire

/// Events to and from JSON, as NIP-01 writes them, and read strictly with limits: a relay is untrusted.
public enum NostrJSON {
    /// The largest event read (NIP-01 JSON bytes); §6.4 has receivers ignore larger ones.
    public static let maximumEventBytes = 64 * 1024
    /// The most tags an event may carry, and the most strings in one tag.
    public static let maximumTags = 2000
    public static let maximumTagLength = 64
    /// The largest `created_at` read: 2^53 - 1, the largest integer every JSON reader keeps exactly.
    static let maximumTimestamp: Int64 = (1 << 53) - 1

    // MARK: Writing

    /// `[0,pubkey,created_at,kind,tags,content]` with NIP-01's escapes: `\n` `\"` `\\` `\r` `\t` `\b` `\f`. Its
    /// SHA-256 is the event id. NIP-01 says every other character goes in as it is; the JSON writers most of the
    /// network uses (JavaScript's, and the relays') write the other control characters `\u00XX`. Ids are made the
    /// network's way (`escaping: .json`) and read either way (see ``NostrEvent/isAuthentic``); the two differ only
    /// for text holding such a character, which Proffer never writes.
    static func idSerialization(
        author: SchnorrPublicKey, createdAt: Int64, kind: Int, tags: [[String]], content: String,
        escaping: Escaping = .json
    ) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128 + content.utf8.count + tags.count * 32)
        output.append(contentsOf: "[0,\"".utf8)
        output.append(contentsOf: author.hex.utf8)
        output.append(contentsOf: "\",".utf8)
        output.append(contentsOf: String(createdAt).utf8)
        output.append(UInt8(ascii: ","))
        output.append(contentsOf: String(kind).utf8)
        output.append(UInt8(ascii: ","))
        appendTags(tags, to: &output, escaping: escaping)
        output.append(UInt8(ascii: ","))
        appendString(content, to: &output, escaping: escaping)
        output.append(UInt8(ascii: "]"))
        return output
    }

    /// The event as a JSON object, members in NIP-01's order; a rumor has no `sig`.
    public static func object(_ event: NostrEvent) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(300 + event.content.utf8.count + event.tags.count * 32)
        appendObject(event, to: &output)
        return output
    }

    static func appendObject(_ event: NostrEvent, to output: inout [UInt8]) {
        output.append(contentsOf: "{\"id\":\"".utf8)
        output.append(contentsOf: event.idHex.utf8)
        output.append(contentsOf: "\",\"pubkey\":\"".utf8)
        output.append(contentsOf: event.author.hex.utf8)
        output.append(contentsOf: "\",\"created_at\":".utf8)
        output.append(contentsOf: String(event.createdAt).utf8)
        output.append(contentsOf: ",\"kind\":".utf8)
        output.append(contentsOf: String(event.kind).utf8)
        output.append(contentsOf: ",\"tags\":".utf8)
        appendTags(event.tags, to: &output, escaping: .json)
        output.append(contentsOf: ",\"content\":".utf8)
        appendString(event.content, to: &output, escaping: .json)
        if let signature = event.signature {
            output.append(contentsOf: ",\"sig\":\"".utf8)
            output.append(contentsOf: Hex.encode(signature).utf8)
            output.append(UInt8(ascii: "\""))
        }
        output.append(UInt8(ascii: "}"))
    }

    /// How a string is escaped: NIP-01's text leaves control characters other than its seven as they are; JSON (on
    /// the wire, and in ids as the network computes them) writes them `\u00XX`.
    enum Escaping { case nip01, json }

    static func appendTags(_ tags: [[String]], to output: inout [UInt8], escaping: Escaping) {
        output.append(UInt8(ascii: "["))
        for (index, tag) in tags.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            appendStrings(tag, to: &output, escaping: escaping)
        }
        output.append(UInt8(ascii: "]"))
    }

    static func appendStrings(_ strings: [String], to output: inout [UInt8], escaping: Escaping) {
        output.append(UInt8(ascii: "["))
        for (index, value) in strings.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            appendString(value, to: &output, escaping: escaping)
        }
        output.append(UInt8(ascii: "]"))
    }

    static func appendString(_ string: String, to output: inout [UInt8], escaping: Escaping) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Runs of bytes that need no escape (nearly all of them: base64, hex, messages) are copied whole.
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendEscape(of: byte, to: &output, escaping: escaping)
                runStart = index + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(of byte: UInt8, to output: inout [UInt8], escaping: Escaping) {
        switch byte {
        case 0x22: output.append(contentsOf: [0x5C, 0x22])
        case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case _ where escaping == .json:
            let digits = Array("0123456789abcdef".utf8)
            output.append(contentsOf: [
                0x5C, UInt8(ascii: "u"), 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 15)],
            ])
        default: output.append(byte)
        }
    }

    // MARK: Reading

    /// An event from JSON bytes (at most ``maximumEventBytes``), refused unless its id and signature hold. A rumor
    /// (no `sig`) is read only with `allowingRumor`, and then only its id is checked.
    public static func event(from bytes: [UInt8], allowingRumor: Bool = false, knownAuthor: SchnorrPublicKey? = nil)
        throws(NostrError) -> NostrEvent
    {
        guard bytes.count <= maximumEventBytes else { throw NostrError.refusedContent }
        let value: JSONValue
        do { value = try StrictJSON.parse(bytes) } catch { throw NostrError("the event is not valid JSON: \(error)") }
        return try event(from: value, allowingRumor: allowingRumor, knownAuthor: knownAuthor)
    }

    /// An event from a parsed JSON value; see ``event(from:allowingRumor:)-(JSONValue,_)``. With `knownAuthor`, an
    /// event by another key is refused before anything else is read of it, and that key is not parsed again.
    public static func event(
        from value: JSONValue, allowingRumor: Bool = false, knownAuthor: SchnorrPublicKey? = nil
    ) throws(NostrError) -> NostrEvent {
        guard case .object(let members) = value else { throw NostrError("an event is a JSON object") }
        var (idValue, pubkeyValue, createdAtValue, kindValue): (JSONValue?, JSONValue?, JSONValue?, JSONValue?)
        var (tagsValue, contentValue, sigValue): (JSONValue?, JSONValue?, JSONValue?)
        for (name, member) in members {
            switch name {
            case "id": idValue = member
            case "pubkey": pubkeyValue = member
            case "created_at": createdAtValue = member
            case "kind": kindValue = member
            case "tags": tagsValue = member
            case "content": contentValue = member
            case "sig": sigValue = member
            default: continue
            }
        }
        guard let id = hex(idValue, bytes: 32) else { throw NostrError("the event's id is not 64 hex digits") }
        let author: SchnorrPublicKey
        if let knownAuthor {
            guard case .string(let text)? = pubkeyValue, text == knownAuthor.hex else {
                throw NostrError.unexpectedAuthor
            }
            author = knownAuthor
        } else {
            guard hex(pubkeyValue, bytes: 32) != nil, case .string(let text)? = pubkeyValue,
                let key = try? SchnorrPublicKey(hex: text)
            else { throw NostrError("the event's pubkey is not a secp256k1 key") }
            author = key
        }
        guard let createdAt = integer(createdAtValue), createdAt <= maximumTimestamp else {
            throw NostrError("the event's created_at is not a whole number of seconds")
        }
        guard let kind = integer(kindValue), kind <= 65535 else {
            throw NostrError("the event's kind is not a number from 0 to 65535")
        }
        guard case .array(let tagValues)? = tagsValue else { throw NostrError("the event's tags are not a list") }
        guard tagValues.count <= maximumTags else { throw NostrError.refusedContent }
        var tags: [[String]] = []
        tags.reserveCapacity(tagValues.count)
        for tagValue in tagValues {
            guard case .array(let items) = tagValue else { throw NostrError("a tag is not a list") }
            guard items.count <= maximumTagLength else { throw NostrError.refusedContent }
            var tag: [String] = []
            tag.reserveCapacity(items.count)
            for item in items {
                guard case .string(let text) = item else { throw NostrError("a tag holds something other than text") }
                tag.append(text)
            }
            tags.append(tag)
        }
        guard case .string(let content)? = contentValue else {
            throw NostrError("the event's content is not a string")
        }
        let signature: [UInt8]?
        switch sigValue {
        case nil where allowingRumor: signature = nil
        case nil: throw NostrError("the event is not signed")
        case let value?:
            guard !allowingRumor else { throw NostrError("a rumor is not signed, and this one is") }
            guard let bytes = hex(value, bytes: 64) else { throw NostrError("the event's sig is not 128 hex digits") }
            signature = bytes
        }
        let event = NostrEvent(
            id: id, author: author, createdAt: createdAt, kind: Int(kind), tags: tags, content: content,
            signature: signature)
        guard event.isAuthentic else {
            throw NostrError(
                signature == nil
                    ? "the rumor's id is not the hash of its contents" : "the event's id or signature is forged")
        }
        return event
    }

    /// Lowercase hex of exactly `bytes` bytes, as NIP-01 writes ids, keys and signatures.
    private static func hex(_ value: JSONValue?, bytes count: Int) -> [UInt8]? {
        guard case .string(let text)? = value, text.utf8.count == count * 2,
            text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        return Hex.decode(text)
    }

    /// A non-negative JSON integer (digits only: no sign, fraction or exponent).
    private static func integer(_ value: JSONValue?) -> Int64? {
        guard case .number(let text)? = value, !text.isEmpty, text.utf8.count <= 16,
            text.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        return Int64(text)
    }
}
