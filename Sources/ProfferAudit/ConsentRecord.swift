import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// A deal as a consent record per ISO/IEC TS 27560:2023, in JSON-LD with the W3C Data Privacy Vocabulary, following
/// DPV's guide to 27560 records. `schema/consent-record.md` says which field is filled from what.
public enum ConsentRecord {
    /// The prefixes the record's keys use; each expands to an absolute IRI.
    public static let context: [String: String] = [
        "dpv": "https://w3id.org/dpv#",
        "pd": "https://w3id.org/dpv/pd#",
        "dct": "http://purl.org/dc/terms/",
        "schema": "https://schema.org/",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "ieee7012": "https://w3id.org/dpv/standards/ieee/7012#",
        // DPV has no term for the signed messages behind a record; these few are Proffer's own.
        "proffer": "urn:proffer:vocab:",
    ]

    /// The profile the record conforms to, from DPV's 27560 schema.
    public static let profile = "https://w3id.org/dpv/schema/dpv-27560#record"

    /// The record of `facts`' deal as a JSON-LD object. Its content depends on the deal alone, so writing it twice
    /// gives the same bytes.
    /// The controller is the vendor as the deal recorded it: the key the accept was addressed to, and the profile
    /// name and URL of that moment (from the vendor's record for deals made before they were kept).
    public static func record(of facts: DealFacts) -> [String: Any] {
        let (deal, vendor) = (facts.deal, facts.vendor)
        let accept = try? Envelope.decode(json: Array(deal.acceptEnvelope.utf8))
        let identifier = recordIdentifier(deal)
        var controller: [String: Any] = [
            "@type": "https://w3id.org/dpv#DataController",
            "dpv:hasName": deal.vendorProfileName ?? vendor?.profileName ?? deal.vendor,
            "proffer:name": deal.vendor,
        ]
        if let key = accept?.recipient {
            controller["@id"] = didKey(key)
            controller["dct:identifier"] = fingerprint(of: key)
        }
        // A deal made over Nostr (PROTOCOL.md §6.3): the parties are the vendor's Nostr key and the intent's cast key.
        let nostrAccept = NostrEvidence(json: deal.acceptEnvelope)
        if let rumor = nostrAccept?.rumor, let vendorKey = rumor.onlyTagValue("p").flatMap(Hex.decode) {
            controller["@id"] = "nostr:" + NostrReply.npub(vendorKey)
            if let signing = vendor?.signingKey, vendor?.nostrKey?.bytes == vendorKey {
                controller["dct:identifier"] = fingerprint(of: signing)
            }
        }
        if let url = deal.vendorURL ?? vendor?.baseURL { controller["schema:url"] = ["@id": url] }
        var subject: [String: Any] = ["@type": "https://w3id.org/dpv#DataSubject"]
        if let key = accept?.sender {
            // The pairwise key this vendor knows the person by: never the person's name or another vendor's key.
            subject["@id"] = didKey(key)
            subject["dct:identifier"] = Base64URL.encode(key.bytes)
        } else if let castKey = nostrAccept?.rumor.author {
            // The intent's cast key, which appears nowhere but with this intent.
            subject["@id"] = "nostr:" + NostrReply.npub(castKey.bytes)
            subject["dct:identifier"] = castKey.hex
        }
        let process: [String: Any] = [
            "@type": "https://w3id.org/dpv#Process",
            "dpv:hasPurpose": ["@id": "https://w3id.org/dpv#ServiceProvision"],
            "dpv:hasPersonalData": deal.disclosed.map { ["@id": $0.dpvIRI] },
            "dpv:hasDataController": ["@id": controller["@id"] ?? "urn:proffer:vendor:\(deal.vendor)"],
            "ieee7012:hasAgreement": deal.terms.map {
                ["@id": TermsDefinition.lookup($0)?.iri ?? "urn:proffer:terms:\($0)"]
            },
            "proffer:item": deal.item ?? "",
            "proffer:price": deal.price?.description ?? "",
        ]
        var statuses: [[String: Any]] = [
            [
                "@type": ["https://w3id.org/dpv#ConsentGiven", "https://w3id.org/dpv#ExplicitlyExpressedConsent"],
                "dpv:isIndicatedBy": ["@id": "https://w3id.org/dpv#DataSubject"],
                "dpv:hasIndicationMethod": "a #accept message signed by the data subject's key",
                // The vault's own time: the envelope's ts is set back at random, to keep vendors from linking.
                "dpv:isIndicatedAtTime": dateTime(deal.createdAt),
            ]
        ]
        if deal.state == .forgotten {
            statuses.append([
                "@type": "https://w3id.org/dpv#ConsentWithdrawn",
                "dpv:isIndicatedBy": ["@id": "https://w3id.org/dpv#DataSubject"],
                "dpv:hasIndicationMethod":
                    "a #forget message signed by the data subject's key, confirmed by the vendor",
                "dpv:isIndicatedAtTime": dateTime(facts.forgetAskedAt ?? facts.forgottenAt ?? deal.createdAt),
            ])
        }
        var evidence: [[String: Any]] = [envelopeEvidence(deal.acceptEnvelope, role: "accept")]
        for (envelope, role) in [
            (deal.replyEnvelope, "reply"), (deal.forgetEnvelope, "forget"), (deal.forgetReplyEnvelope, "forget-reply"),
        ] {
            if let envelope { evidence.append(envelopeEvidence(envelope, role: role)) }
        }
        return [
            "@context": context,
            "@id": "urn:uuid:\(identifier)",
            "@type": "https://w3id.org/dpv#ConsentRecord",
            "dct:identifier": identifier,
            "dct:conformsTo": ["@id": profile],
            "dct:created": dateTime(deal.createdAt),
            "dpv:hasDataSubject": subject,
            "dpv:hasDataController": controller,
            "dpv:hasLegalBasis": ["@id": "https://w3id.org/dpv#Consent"],
            "dpv:hasProcess": process,
            "dpv:hasConsentStatus": statuses,
            "proffer:deal": deal.id.description,
            "proffer:dealState": deal.state.rawValue,
            "proffer:evidence": evidence,
        ]
    }

    /// The record as pretty-printed JSON with sorted keys.
    public static func json(of facts: DealFacts) throws -> Data {
        try JSONSerialization.data(
            withJSONObject: record(of: facts),
            options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// A UUID (version 8, RFC 9562) from a digest of the signed accept: the same deal always gets the same id, and
    /// no two deals share one.
    static func recordIdentifier(_ deal: StoredDeal) -> String {
        var bytes = Array(KeyedHash.digest(Array(("proffer-consent-record\0" + deal.acceptEnvelope).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(
                hex[
                    hex.index(
                        hex.startIndex, offsetBy: range.lowerBound)..<hex.index(
                            hex.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }

    /// One signed envelope, or over Nostr a seal with its rumor and the keys of its payload (§6.3), kept whole so
    /// anyone can check its signature.
    static func envelopeEvidence(_ envelope: String, role: String) -> [String: Any] {
        let type =
            NostrEvidence.isEvidence(envelope) ? "urn:proffer:vocab:NostrSeal" : "urn:proffer:vocab:SignedEnvelope"
        var node: [String: Any] = ["@type": type, "proffer:role": role]
        if let object = try? JSONSerialization.jsonObject(with: Data(envelope.utf8)) {
            node["proffer:envelope"] = ["@type": "@json", "@value": object]
        } else {
            node["proffer:envelope"] = envelope
        }
        return node
    }

    static func dateTime(_ date: Date) -> [String: String] {
        ["@value": Timestamp(date).description, "@type": "http://www.w3.org/2001/XMLSchema#dateTime"]
    }

    /// The `did:key` IRI of an Ed25519 public key: the multicodec prefix 0xed01 and the key, in base58btc.
    public static func didKey(_ key: SigningPublicKey) -> String {
        "did:key:z" + base58(Array([0xED, 0x01] + key.bytes))
    }

    static func base58(_ bytes: [UInt8]) -> String {
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
        var digits: [UInt8] = []
        for byte in bytes {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        let zeros = bytes.prefix { $0 == 0 }.count
        return String(
            decoding: Array(repeating: alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] },
            as: UTF8.self)
    }
}
