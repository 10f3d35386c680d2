/// The `reply` value (PROTOCOL.md §1.5): where private answers to a public intent go, a Nostr key and up to 3 relays,
/// written `nostr:` then a NIP-19 `npub1…` or `nprofile1…` in bech32.
///
/// Whether the key is a point on secp256k1 is not checked here (ProfferWire has no curve arithmetic); it is checked
/// where the key is used.
public struct NostrReply: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public static let keyByteCount = 32
    public static let maximumRelays = 3
    public static let maximumRelayBytes = 100

    /// The x-only public key, 32 bytes.
    public let publicKey: [UInt8]
    /// The relays named (`nprofile` only), in order.
    public let relays: [String]
    /// `nostr:` and the NIP-19 string, lowercase: the canonical form.
    public let description: String

    /// Why a `reply` value was refused.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case notNostrURI, quoted
        case bech32(Bech32.Failure)
        case wrongPrefix(String)
        case badKeyLength(Int)
        case badTLV, missingKey, repeatedKey, tooManyRelays, badRelay

        public var description: String {
            switch self {
            case .notNostrURI: "a reply is nostr: then an npub1… or nprofile1… key"
            case .quoted: "a reply is written bare, without quotes"
            case .bech32(let failure): "its NIP-19 string \(failure)"
            case .wrongPrefix(let prefix): "\(prefix) is not a public key: use npub or nprofile"
            case .badKeyLength(let count): "an npub holds 32 bytes, not \(count)"
            case .badTLV: "its nprofile has a record cut short"
            case .missingKey: "its nprofile names no key"
            case .repeatedKey: "its nprofile names more than one key"
            case .tooManyRelays: "its nprofile names more than \(NostrReply.maximumRelays) relays"
            case .badRelay:
                "a relay is a wss:// or ws:// URL of at most \(NostrReply.maximumRelayBytes) printable ASCII characters"
            }
        }
    }

    public init?(_ description: String) {
        guard let reply = try? NostrReply.parse(description) else { return nil }
        self = reply
    }

    /// Reads a reply value, saying why it is refused.
    public static func parse(_ text: String) throws(Failure) -> NostrReply {
        var text = text
        return try text.withUTF8 { bytes in parse(bytes, 0..<bytes.count) }.get()
    }

    /// A public key as NIP-19 writes it for people: `npub1…`.
    public static func npub(_ publicKey: [UInt8]) -> String { Bech32.encode(prefix: "npub", data: publicKey) }

    /// The reply naming `publicKey` and `relays` (an `nprofile`; an `npub` when there are none).
    public init(publicKey: [UInt8], relays: [String]) throws(Failure) {
        guard publicKey.count == Self.keyByteCount else { throw .badKeyLength(publicKey.count) }
        guard relays.count <= Self.maximumRelays else { throw .tooManyRelays }
        guard !relays.isEmpty else {
            self.init(
                publicKey: publicKey, relays: [], canonical: "nostr:" + Self.npub(publicKey))
            return
        }
        var tlv: [UInt8] = [0, 32] + publicKey
        for relay in relays {
            let bytes = Array(relay.utf8)
            guard Self.isRelay(bytes[...]) else { throw .badRelay }
            tlv += [1, UInt8(bytes.count)] + bytes
        }
        self.init(
            publicKey: publicKey, relays: relays, canonical: "nostr:" + Bech32.encode(prefix: "nprofile", data: tlv))
    }

    private init(publicKey: [UInt8], relays: [String], canonical: String) {
        (self.publicKey, self.relays, self.description) = (publicKey, relays, canonical)
    }

    /// What makes a valid reply unfit for a public post (§6.2): no relay to answer on, more relays than a post
    /// names, or plain `ws://` to a host that is not this machine, which vendors do not use.
    public var castWarnings: [String] {
        var warnings: [String] = []
        if relays.isEmpty {
            warnings.append("the reply names no relay: vendors cannot know where to answer (a post names 1 or 2)")
        } else if relays.count > 2 {
            warnings.append("the reply names \(relays.count) relays; a post names 1 or 2, the same for every intent")
        }
        for relay in relays where relay.hasPrefix("ws://") && !Self.isLoopback(relay) {
            warnings.append("\(relay) is unencrypted and not on this machine: vendors use ws:// only on loopback")
        }
        return warnings
    }

    /// Whether a relay may be named where answers go or a vendor receives (§6.1, §6.2): `wss://`, or `ws://` to a
    /// loopback address; at most 100 printable ASCII bytes, and no comma (lists of relays are comma-separated).
    public static func isUsableRelay(_ relay: String) -> Bool {
        let bytes = Array(relay.utf8)
        guard (1...maximumRelayBytes).contains(bytes.count),
            bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != 0x2C })
        else { return false }
        if relay.hasPrefix("wss://") { return bytes.count > 6 }
        return relay.hasPrefix("ws://") && bytes.count > 5 && isLoopback(relay)
    }

    /// Whether a `ws://` or `wss://` URL's host is a loopback address or `localhost`.
    public static func isLoopback(_ url: String) -> Bool {
        let rest: Substring
        if url.hasPrefix("ws://") {
            rest = url.dropFirst(5)
        } else if url.hasPrefix("wss://") {
            rest = url.dropFirst(6)
        } else {
            return false
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // `ws://localhost:1@elsewhere` goes elsewhere: with user information, it is not this machine.
        guard !authority.contains("@") else { return false }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix { $0 != "]" }.dropFirst()
        } else {
            host = authority.prefix { $0 != ":" }
        }
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "::1" { return true }
        let octets = lowered.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func parse(_ bytes: Bytes, _ range: Range<Int>) -> Result<NostrReply, Failure> {
        let scheme = Array("nostr:".utf8)
        guard range.count > scheme.count,
            scheme.indices.allSatisfy({ ASCII.lowercased(bytes[range.lowerBound + $0]) == scheme[$0] })
        else { return .failure(.notNostrURI) }
        let nip19 = (range.lowerBound + scheme.count)..<range.upperBound
        let decoded: (prefix: [UInt8], data: [UInt8])
        switch Bech32.decode(bytes, nip19) {
        case .failure(let failure): return .failure(.bech32(failure))
        case .success(let value): decoded = value
        }
        let canonical = "nostr:" + bytes.lowercasedString(nip19)
        switch decoded.prefix {
        case Array("npub".utf8):
            guard decoded.data.count == keyByteCount else { return .failure(.badKeyLength(decoded.data.count)) }
            return .success(NostrReply(publicKey: decoded.data, relays: [], canonical: canonical))
        case Array("nprofile".utf8):
            return profile(decoded.data).map { NostrReply(publicKey: $0.key, relays: $0.relays, canonical: canonical) }
        default:
            return .failure(.wrongPrefix(String(decoding: decoded.prefix, as: UTF8.self)))
        }
    }

    /// The key and relays of an nprofile's TLV records; records of other types are skipped.
    private static func profile(_ data: [UInt8]) -> Result<(key: [UInt8], relays: [String]), Failure> {
        var key: [UInt8]?
        var relays: [String] = []
        var index = 0
        while index < data.count {
            guard index + 2 <= data.count, index + 2 + Int(data[index + 1]) <= data.count else {
                return .failure(.badTLV)
            }
            let type = data[index]
            let value = data[(index + 2)..<(index + 2 + Int(data[index + 1]))]
            index += 2 + value.count
            switch type {
            case 0:
                guard key == nil else { return .failure(.repeatedKey) }
                guard value.count == keyByteCount else { return .failure(.badKeyLength(value.count)) }
                key = Array(value)
            case 1:
                guard relays.count < maximumRelays else { return .failure(.tooManyRelays) }
                guard isRelay(value) else { return .failure(.badRelay) }
                relays.append(String(decoding: value, as: UTF8.self))
            default:
                continue
            }
        }
        guard let key else { return .failure(.missingKey) }
        return .success((key, relays))
    }

    /// `wss://` or `ws://`, at least one byte more, at most 100 bytes, all of them 0x21–0x7E.
    private static func isRelay(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count <= maximumRelayBytes, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return false }
        for scheme in ["wss://", "ws://"] where bytes.starts(with: scheme.utf8) {
            return bytes.count > scheme.utf8.count
        }
        return false
    }
}
