import ProfferEnvelope
import ProfferNostr

/// A vendor's profile as the agent finds it over Nostr (PROTOCOL.md §6.1): a kind-30078 event tagged
/// `["d","proffer-profile"]` whose content is the profile JSON, signed by the key the profile's `nostr` member names.
public enum NostrProfile {
    /// The profile an event carries, used only when the event is a profile event, the profile's self-signature
    /// holds, it names a Nostr key and relays, and that key signed the event. The event's own signature was checked
    /// when it was read.
    public static func profile(in event: NostrEvent) throws(ProtocolError) -> VendorProfile {
        func refuse(_ reason: String) -> ProtocolError { ProtocolError(.badProfile, "the profile event \(reason)") }
        guard event.kind == NostrKinds.applicationData, event.onlyTagValue("d") == NostrKinds.profileIdentifier else {
            throw refuse("is not a kind-30078 event tagged proffer-profile")
        }
        let profile = try VendorProfile.verified(json: Array(event.content.utf8))
        guard let named = profile.nostrKey, profile.relays != nil else {
            throw refuse("holds a profile that names no Nostr key and relays")
        }
        guard named == event.author else { throw refuse("is signed by another key than the profile names") }
        return profile
    }

    /// Of profiles seen for one vendor `sign` key, the one to use: never one older (by `ts`) than another seen.
    public static func newest(_ profiles: [VendorProfile]) -> VendorProfile? {
        profiles.max { (Timestamp($0.ts)?.secondsSince1970 ?? 0) < (Timestamp($1.ts)?.secondsSince1970 ?? 0) }
    }
}
