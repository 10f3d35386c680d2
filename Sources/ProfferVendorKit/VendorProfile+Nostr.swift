import ProfferCrypto
import ProfferEnvelope
import ProfferNostr

extension VendorProfile {
    /// The events by which agents find this profile over Nostr (PROTOCOL.md §6.1): the profile as a kind-30078 event
    /// tagged `proffer-profile`, and the kind-10050 list of exactly its relays, both signed by its Nostr key.
    public func nostrEvents(signedBy key: SchnorrKeyPair, at createdAt: Int64) -> [NostrEvent] {
        precondition(nostrKey == key.publicKey && relays != nil, "a profile's events are signed by the key it names")
        return [
            NostrKinds.applicationData(
                identifier: NostrKinds.profileIdentifier, content: String(decoding: jsonBytes, as: UTF8.self), by: key,
                at: createdAt),
            NostrKinds.privateMessageRelays(relays ?? [], by: key, at: createdAt),
        ]
    }
}
