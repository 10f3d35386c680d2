import ProfferCrypto
import ProfferWire

/// A short message wrapped in signed JSON (PROTOCOL.md §3): what travels between a person's agent and a vendor.
///
/// Members are kept exactly as they stand in the JSON, because the signature covers that text.
///
/// ```swift
/// let envelope = Envelope.signed(message: "#buy camera id:k7f3q2ab max:1200EUR", by: identity, to: vendorKey)
/// let body = envelope.jsonBytes
/// ```
public struct Envelope: Hashable, Sendable {
    public static let version = 1
    /// Bodies larger than this are refused (`too-large`) before they are read whole.
    public static let maximumByteCount = 64 * 1024
    public static let nonceByteCount = 16

    public let msg: String
    public let from: String
    public let to: String
    public let ts: String
    public let nonce: String
    /// The sealed disclosure, only on an `accept`.
    public let data: String?
    public let sig: String

    /// The bytes the signature covers: `"proffer/1\n" + msg + "\n" + from + "\n" + to + "\n" + ts + "\n" + nonce +
    /// "\n" + data`, with `data` empty when absent.
    public var signingInput: [UInt8] {
        Envelope.signingInput(msg: msg, from: from, to: to, ts: ts, nonce: nonce, data: data ?? "")
    }

    static func signingInput(msg: String, from: String, to: String, ts: String, nonce: String, data: String)
        -> [UInt8]
    {
        var input: [UInt8] = []
        input.reserveCapacity(10 + msg.utf8.count + 140 + data.utf8.count)
        input.append(contentsOf: "proffer/1\n".utf8)
        for (index, field) in [msg, from, to, ts, nonce, data].enumerated() {
            if index > 0 { input.append(0x0A) }
            input.append(contentsOf: field.utf8)
        }
        return input
    }

    /// Wraps `message` (its canonical text) for `recipient`, signed by `signer`, with a fresh nonce.
    ///
    /// - Parameter sealedData: The `crypto_box_seal` output, for an `accept` that discloses data.
    public static func signed(
        message: String, by signer: SigningKeyPair, to recipient: SigningPublicKey, sealedData: [UInt8]? = nil,
        at time: Timestamp = .now
    ) -> Envelope {
        let from = Base64URL.encode(signer.publicKey.bytes)
        let to = Base64URL.encode(recipient.bytes)
        let ts = time.description
        let nonce = Base64URL.encode(SecureRandom.bytes(nonceByteCount))
        let data = sealedData.map { Base64URL.encode($0) }
        let input = signingInput(msg: message, from: from, to: to, ts: ts, nonce: nonce, data: data ?? "")
        let sig = Base64URL.encode(signer.signature(for: input))
        return Envelope(msg: message, from: from, to: to, ts: ts, nonce: nonce, data: data, sig: sig)
    }

    /// The envelope as compact JSON, members in the spec's order.
    public var jsonBytes: [UInt8] {
        var writer = ByteWriter(capacity: 256 + msg.utf8.count + (data?.utf8.count ?? 0))
        write(to: &writer)
        return Array(writer.bytes)
    }

    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// Appends the envelope's JSON to `writer`.
    public func write(to writer: inout ByteWriter) {
        writer.append(utf8: "{\"proffer\":1,\"msg\":")
        writer.appendJSONString(msg)
        // The b64 members and ts hold only characters JSON leaves unescaped.
        writer.append(
            utf8: ",\"from\":\"" + from + "\",\"to\":\"" + to + "\",\"ts\":\"" + ts + "\",\"nonce\":\"" + nonce)
        if let data { writer.append(utf8: "\",\"data\":\"" + data) }
        writer.append(utf8: "\",\"sig\":\"" + sig + "\"}")
    }

    /// The envelope without its sealed data: what a party keeps of an accept once the data must be forgotten. Its
    /// signature no longer verifies; keep a digest of the data to show what it covered.
    public func removingData() -> Envelope {
        Envelope(msg: msg, from: from, to: to, ts: ts, nonce: nonce, data: nil, sig: sig)
    }

    static let requiredMembers: Set<String> = ["proffer", "msg", "from", "to", "ts", "nonce", "sig"]
}

extension Envelope {
    /// Reads an envelope's form from JSON: the checks of §3 up to `bad-version`, nothing cryptographic.
    ///
    /// - Throws: ``ProtocolError`` `too-large`, `bad-envelope` or `bad-version`.
    public static func decode(json bytes: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> DecodedEnvelope {
        guard bytes.count <= maximumByteCount else {
            throw ProtocolError(.tooLarge, "the envelope is \(bytes.count) bytes; the limit is \(maximumByteCount)")
        }
        let value: JSONValue
        do {
            value = try StrictJSON.parse(bytes)
        } catch {
            throw ProtocolError(.badEnvelope, "the body is not valid JSON (\(error))")
        }
        return try decode(value)
    }

    /// Reads an envelope's form from an already parsed JSON value, such as one element of a `replies` array.
    public static func decode(_ value: JSONValue) throws(ProtocolError) -> DecodedEnvelope {
        guard case .object(let members) = value else {
            throw ProtocolError(.badEnvelope, "an envelope is a JSON object")
        }
        var strings: [String: String] = [:]
        var version: String?
        for (name, member) in members {
            guard requiredMembers.contains(name) || name == "data" else {
                throw ProtocolError(.badEnvelope, "unexpected member \"\(name)\"")
            }
            if name == "proffer" {
                guard case .number(let number) = member else {
                    throw ProtocolError(.badEnvelope, "\"proffer\" must be a number")
                }
                version = number
            } else {
                guard case .string(let text) = member else {
                    throw ProtocolError(.badEnvelope, "\"\(name)\" must be a string")
                }
                strings[name] = text
            }
        }
        for name in ["proffer", "msg", "from", "to", "ts", "nonce", "sig"]
        where name == "proffer" ? version == nil : strings[name] == nil {
            throw ProtocolError(.badEnvelope, "the member \"\(name)\" is missing")
        }
        let from = try decodeKey(strings["from"]!, member: "from", byteCount: SigningPublicKey.byteCount)
        let to = try decodeKey(strings["to"]!, member: "to", byteCount: SigningPublicKey.byteCount)
        let nonce = try decodeKey(strings["nonce"]!, member: "nonce", byteCount: nonceByteCount)
        let signature = try decodeKey(strings["sig"]!, member: "sig", byteCount: SigningKeyPair.signatureByteCount)
        guard let timestamp = Timestamp(strings["ts"]!) else {
            throw ProtocolError(.badEnvelope, "\"ts\" must be an RFC 3339 UTC time like 2026-11-23T10:00:00Z")
        }
        var sealedData: [UInt8]?
        if let data = strings["data"] {
            guard let bytes = Base64URL.decode(data), bytes.count >= BoxPublicKey.sealOverhead else {
                throw ProtocolError(.badEnvelope, "\"data\" must be unpadded base64url of a sealed box")
            }
            sealedData = bytes
        }
        guard let number = Double(version!), number == Double(Envelope.version) else {
            throw ProtocolError(
                .badVersion, "this is protocol version \(Envelope.version); the envelope says \(version!)")
        }
        let envelope = Envelope(
            msg: strings["msg"]!, from: strings["from"]!, to: strings["to"]!, ts: strings["ts"]!,
            nonce: strings["nonce"]!, data: strings["data"], sig: strings["sig"]!)
        return DecodedEnvelope(
            envelope: envelope, sender: try! SigningPublicKey(from), recipient: try! SigningPublicKey(to),
            nonce: nonce, signature: signature, timestamp: timestamp, sealedData: sealedData)
    }

    public static func decode(json bytes: [UInt8]) throws(ProtocolError) -> DecodedEnvelope {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ProtocolError) in try decode(json: buffer) }
    }

    private static func decodeKey(_ text: String, member: String, byteCount: Int) throws(ProtocolError) -> [UInt8] {
        guard let bytes = Base64URL.decode(text), bytes.count == byteCount else {
            throw ProtocolError(.badEnvelope, "\"\(member)\" must be unpadded base64url of \(byteCount) bytes")
        }
        return bytes
    }
}

/// An envelope whose form is right, with its members decoded; nothing about it is verified yet.
public struct DecodedEnvelope: Hashable, Sendable {
    public let envelope: Envelope
    public let sender: SigningPublicKey
    public let recipient: SigningPublicKey
    public let nonce: [UInt8]
    public let signature: [UInt8]
    public let timestamp: Timestamp
    public let sealedData: [UInt8]?
}

/// An envelope that passed every check of §3: its message, its sender and the sealed data it carries.
public struct VerifiedEnvelope: Hashable, Sendable {
    public let envelope: Envelope
    public let message: Message
    public let sender: SigningPublicKey
    public let timestamp: Timestamp
    public let sealedData: [UInt8]?
}
