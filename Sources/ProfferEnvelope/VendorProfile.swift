import ProfferCrypto
import ProfferWire

/// What a vendor publishes at `GET {base}/profile` (PROTOCOL.md §4): its name, keys, the terms it supports and the
/// categories it serves, self-signed with its `sign` key.
public struct VendorProfile: Hashable, Sendable {
    public let name: String
    public let sign: String
    public let box: String
    public let terms: [String]
    public let categories: [String]
    public let ts: String
    public let sig: String
    /// Where the vendor answers public intents (§6.1), present together or not at all: its secp256k1 x-only key as
    /// 64 lowercase hex digits, and the 1 to 3 relays where it receives private messages.
    public let nostr: String?
    public let relays: [String]?

    /// The bytes the self-signature covers.
    public var signingInput: [UInt8] {
        VendorProfile.signingInput(
            name: name, sign: sign, box: box, terms: terms, categories: categories, ts: ts, nostr: nostr,
            relays: relays)
    }

    static func signingInput(
        name: String, sign: String, box: String, terms: [String], categories: [String], ts: String, nostr: String?,
        relays: [String]?
    ) -> [UInt8] {
        var text =
            "proffer-profile/1\n" + name + "\n" + sign + "\n" + box + "\n" + terms.joined(separator: ",") + "\n"
            + categories.joined(separator: ",") + "\n" + ts
        if let nostr, let relays { text += "\n" + nostr + "\n" + relays.joined(separator: ",") }
        return Array(text.utf8)
    }

    /// The vendor's Nostr key, when it answers public intents.
    public var nostrKey: SchnorrPublicKey? { nostr.flatMap { try? SchnorrPublicKey(hex: $0) } }

    /// A profile for `signer` and `boxKey`, self-signed now.
    ///
    /// - Parameter nostr: The vendor's Nostr key and relays (§6.1), when it answers public intents.
    public static func signed(
        name: String, signer: SigningKeyPair, boxKey: BoxPublicKey, terms: [TermsID], categories: [IntentCategory],
        nostr: (key: SchnorrPublicKey, relays: [String])? = nil, at time: Timestamp = .now
    ) -> VendorProfile {
        let sign = Base64URL.encode(signer.publicKey.bytes)
        let box = Base64URL.encode(boxKey.bytes)
        let termIDs = terms.map(\.description)
        let prefixes = categories.map(\.description)
        let ts = time.description
        let sig = Base64URL.encode(
            signer.signature(
                for: signingInput(
                    name: name, sign: sign, box: box, terms: termIDs, categories: prefixes, ts: ts,
                    nostr: nostr?.key.hex, relays: nostr?.relays)))
        return VendorProfile(
            name: name, sign: sign, box: box, terms: termIDs, categories: prefixes, ts: ts, sig: sig,
            nostr: nostr?.key.hex, relays: nostr?.relays)
    }

    /// The vendor's signing key.
    public var signingKey: SigningPublicKey { try! SigningPublicKey(Base64URL.decode(sign)!) }
    /// The vendor's key for sealed disclosures.
    public var boxKey: BoxPublicKey { try! BoxPublicKey(Base64URL.decode(box)!) }

    /// Whether the vendor supports every one of `requested` terms.
    public func supports(terms requested: some Sequence<TermsID>) -> Bool {
        requested.allSatisfy { terms.contains($0.description) }
    }

    /// Whether the vendor serves `category`: one of its prefixes is the category or an ancestor of it.
    public func serves(_ category: IntentCategory) -> Bool {
        categories.contains { IntentCategory($0).map { category.isWithin($0) } ?? false }
    }

    public var jsonBytes: [UInt8] {
        var writer = ByteWriter(capacity: 512)
        writer.append(utf8: "{\"proffer\":1,\"name\":")
        writer.appendJSONString(name)
        writer.append(utf8: ",\"sign\":\"" + sign + "\",\"box\":\"" + box + "\",\"terms\":[")
        for (index, term) in terms.enumerated() {
            if index > 0 { writer.append(utf8: ",") }
            writer.appendJSONString(term)
        }
        writer.append(utf8: "],\"categories\":[")
        for (index, category) in categories.enumerated() {
            if index > 0 { writer.append(utf8: ",") }
            writer.appendJSONString(category)
        }
        writer.append(utf8: "]")
        if let nostr, let relays {
            writer.append(utf8: ",\"nostr\":\"" + nostr + "\",\"relays\":[")
            for (index, relay) in relays.enumerated() {
                if index > 0 { writer.append(utf8: ",") }
                writer.appendJSONString(relay)
            }
            writer.append(utf8: "]")
        }
        writer.append(utf8: ",\"ts\":\"" + ts + "\",\"sig\":\"" + sig + "\"}")
        return Array(writer.bytes)
    }

    /// Reads and verifies a profile: its form, then its self-signature.
    ///
    /// - Throws: ``ProtocolError`` `bad-profile`, saying what is wrong.
    public static func verified(json bytes: [UInt8]) throws(ProtocolError) -> VendorProfile {
        func refuse(_ reason: String) -> ProtocolError { ProtocolError(.badProfile, "the vendor profile \(reason)") }
        guard bytes.count <= Envelope.maximumByteCount else { throw refuse("is larger than 64 KiB") }
        let value: JSONValue
        do {
            value = try StrictJSON.parse(bytes)
        } catch {
            throw refuse("is not valid JSON (\(error))")
        }
        guard case .object(let members) = value else { throw refuse("is not a JSON object") }
        let byName = Dictionary(members, uniquingKeysWith: { first, _ in first })
        // `nostr` and `relays` come together or not at all (§6.1).
        let base: Set<String> = ["proffer", "name", "sign", "box", "terms", "categories", "ts", "sig"]
        let answersPublicIntents = byName["nostr"] != nil || byName["relays"] != nil
        let expected = answersPublicIntents ? base.union(["nostr", "relays"]) : base
        guard Set(byName.keys) == expected else {
            let missing = expected.subtracting(byName.keys).sorted()
            let extra = Set(byName.keys).subtracting(expected).sorted()
            throw refuse(
                missing.isEmpty
                    ? "has unexpected members: \(extra.joined(separator: ", "))"
                    : "lacks \(missing.joined(separator: ", "))")
        }
        guard case .number(let version) = byName["proffer"]!, Double(version) == Double(Envelope.version) else {
            throw refuse("is not for protocol version \(Envelope.version)")
        }
        func text(_ name: String) throws(ProtocolError) -> String {
            guard let text = byName[name]!.stringValue else { throw refuse("member \"\(name)\" is not a string") }
            return text
        }
        func list(_ name: String) throws(ProtocolError) -> [String] {
            guard case .array(let items) = byName[name]! else { throw refuse("member \"\(name)\" is not an array") }
            var strings: [String] = []
            for item in items {
                guard let text = item.stringValue else { throw refuse("member \"\(name)\" holds a non-string") }
                strings.append(text)
            }
            return strings
        }
        let name = try text("name")
        guard !name.isEmpty, name.unicodeScalars.count <= 64, !name.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { throw refuse("name must be 1 to 64 characters without control characters") }
        let sign = try text("sign")
        let box = try text("box")
        guard let signBytes = Base64URL.decode(sign), signBytes.count == 32, let boxBytes = Base64URL.decode(box),
            boxBytes.count == 32
        else {
            throw refuse("keys are not base64url of 32 bytes")
        }
        // A key that is no usable point is refused here, where it is first seen, before anyone pins it: sealed data
        // to a box key of small order (32 zero bytes, say) would be readable by anyone.
        guard (try? SigningPublicKey(signBytes))?.isValidPoint == true else {
            throw refuse("sign key is not a valid Ed25519 public key")
        }
        guard (try? BoxPublicKey(boxBytes)) != nil else {
            throw refuse("box key is not a valid X25519 public key (a point of small order)")
        }
        let terms = try list("terms")
        guard terms.allSatisfy({ TermsID($0)?.description == $0 }) else { throw refuse("lists a malformed terms id") }
        let categories = try list("categories")
        guard categories.allSatisfy({ IntentCategory($0)?.description == $0 }) else {
            throw refuse("lists a malformed category")
        }
        let ts = try text("ts")
        guard Timestamp(ts) != nil else { throw refuse("time is not in RFC 3339 UTC form") }
        let sig = try text("sig")
        guard let signature = Base64URL.decode(sig), signature.count == SigningKeyPair.signatureByteCount else {
            throw refuse("signature is not base64url of 64 bytes")
        }
        var nostr: String?
        var relays: [String]?
        if answersPublicIntents {
            let key = try text("nostr")
            guard key.utf8.count == 64,
                key.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                (try? SchnorrPublicKey(hex: key)) != nil
            else { throw refuse("nostr key is not 64 lowercase hex digits of a secp256k1 key") }
            let named = try list("relays")
            guard (1...3).contains(named.count), named.allSatisfy(NostrReply.isUsableRelay),
                Set(named).count == named.count
            else {
                throw refuse(
                    "relays must be 1 to 3 distinct wss:// URLs (ws:// only on a loopback address), without commas")
            }
            (nostr, relays) = (key, named)
        }
        let profile = VendorProfile(
            name: name, sign: sign, box: box, terms: terms, categories: categories, ts: ts, sig: sig, nostr: nostr,
            relays: relays)
        guard profile.signingKey.isValidSignature(signature, for: profile.signingInput) else {
            throw refuse("self-signature does not verify: it was altered or not signed by its own key")
        }
        return profile
    }
}

/// What a person compares when a key changes: the key's first 15 bytes (120 bits) in base64url, in four groups of
/// five characters, e.g. `k3Jd9-aB0xQ-7mPzR-c2Lw8`.
public func fingerprint(of key: SigningPublicKey) -> String {
    let text = Base64URL.encode(key.bytes.prefix(15))
    return stride(from: 0, to: text.count, by: 5).map { offset -> String in
        let start = text.index(text.startIndex, offsetBy: offset)
        return String(text[start..<text.index(start, offsetBy: min(5, text.count - offset))])
    }.joined(separator: "-")
}
