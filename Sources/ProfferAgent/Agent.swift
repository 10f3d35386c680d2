import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire

/// The person's agent: pins vendors' keys, publishes intents, and negotiates (counter, accept, decline, withdraw,
/// forget) with vendor endpoints, disclosing personal data only as the persona's sharing rules allow.
///
/// Every message goes out under the pairwise key of the persona it concerns (the intent's, or the deal's) toward
/// that vendor, and every vendor knows an intent by its own id: vendors comparing what they received share only the
/// intent's content.
///
/// ```swift
/// let agent = Agent(vault: vault)
/// let outcomes = try await agent.publish(intentID: "k7f3q2ab", timeout: .seconds(10))
/// ```
public final class Agent: Sendable {
    /// How long one vendor's whole exchange may take when the person gives no `--timeout` and no setting.
    public static let defaultTimeout: Duration = .seconds(10)

    public let vault: Vault
    public let client: VendorClient
    /// How messages reach vendors and replies come back: HTTP (PROTOCOL.md §4) through ``client``.
    let transport: HTTPTransport

    public init(vault: Vault, client: VendorClient = .shared) {
        self.vault = vault
        self.client = client
        // Replies seen by this process; the vault also remembers them across runs.
        transport = HTTPTransport(client: client, seen: ReplayWindow(capacity: 100_000))
    }

    /// The key `persona` signs with toward `vendor`.
    func identity(of persona: String, toward vendor: Vendor) throws(AgentError) -> SigningKeyPair {
        guard let record = try? vault.persona(named: persona) else {
            throw .refused("persona \(persona) no longer exists: see `proffer persona list`")
        }
        return try identity(personaLabel: record.keyLabel, toward: vendor)
    }

    /// The pairwise identity of the persona whose key label is `personaLabel`, which a deal records: derived from
    /// the vault's seed, so it can still sign for a deal after its persona was removed.
    func identity(personaLabel: String, toward vendor: Vendor) throws(AgentError) -> SigningKeyPair {
        try identity(personaLabel: personaLabel, vendorLabel: vendor.identityLabel ?? vendor.name)
    }

    /// The pairwise identity of two labels, as a deal keeps them: the key the vendor knows the person by.
    func identity(personaLabel: String, vendorLabel: String) throws(AgentError) -> SigningKeyPair {
        guard let seed = try? vault.identitySeed() else {
            throw .refused("the vault's identity seed does not authenticate: see `proffer vault check`")
        }
        return PairwiseIdentity.keyPair(identitySeed: seed, persona: personaLabel, vendorLabel: vendorLabel)
    }

    /// The pairwise public key `persona` shows `vendor`, base64url.
    public func pairwiseKey(of persona: String = Persona.defaultName, toward vendor: Vendor) throws -> String {
        Base64URL.encode(try identity(of: persona, toward: vendor).publicKey.bytes)
    }

    // MARK: - Vendors

    /// Fetches a vendor's profile and verifies its self-signature, without pinning anything yet: the caller shows
    /// the fingerprint and asks the person first.
    ///
    /// - Throws: ``AgentError`` when the URL is not https (or loopback, or allowed http), or the profile does not
    ///   verify.
    public func fetchProfile(url: String, allowHTTP: Bool, timeout: Duration = Agent.defaultTimeout) async throws
        -> VendorProfile
    {
        if let problem = VendorEndpoint.transportProblem(url: url, allowsHTTP: allowHTTP) {
            let isURL = URLComponents(string: url)?.scheme.map { ["http", "https"].contains($0.lowercased()) } ?? false
            throw AgentError(isURL ? .refused : .invalidInput, problem)
        }
        // Known already: say so before asking anyone to compare a fingerprint.
        try vault.requireNewVendor(url: url)
        return try await client.profile(VendorEndpoint(name: "", baseURL: url, allowsHTTP: allowHTTP), within: timeout)
    }

    /// Fetches, verifies and pins a vendor's profile without asking: for scripts that already trust the URL.
    public func addVendor(url: String, name: String?, allowHTTP: Bool = false, timeout: Duration = Agent.defaultTimeout)
        async throws -> Vendor
    {
        try pin(
            try await fetchProfile(url: url, allowHTTP: allowHTTP, timeout: timeout), url: url, name: name,
            allowHTTP: allowHTTP)
    }

    /// Pins a verified profile's keys under `name` (by default derived from the profile's name).
    public func pin(_ profile: VendorProfile, url: String, name: String?, allowHTTP: Bool) throws -> Vendor {
        let cleaned = VendorText.clean(profile.name).trimmingCharacters(in: .whitespaces)
        // A name of nothing but invisible characters names nothing: the vendor is known by its host instead.
        let profileName = cleaned.isEmpty ? (URLComponents(string: url)?.host ?? url) : cleaned
        let vendor = Vendor(
            name: name ?? Agent.shortName(profileName), baseURL: url, signingKey: profile.signingKey,
            boxKey: profile.boxKey, terms: profile.terms.compactMap(TermsID.init),
            categories: profile.categories.compactMap(IntentCategory.init), profileName: profileName,
            allowsHTTP: allowHTTP && !VendorEndpoint.isLoopback(URLComponents(string: url)?.host ?? ""),
            profileTime: profile.ts)
        var pinned = vendor
        (pinned.nostrKey, pinned.relays) = (profile.nostrKey, profile.relays)
        try vault.addVendor(pinned)
        return try vault.vendor(named: vendor.name)
    }

    /// Fetches the profile a vendor presents now, verified but not pinned, for the person to compare.
    ///
    /// - Parameter allowHTTP: Allow plain http to this vendor from now on (for a vendor added before the rule).
    ///
    /// - Parameter url: Where to fetch it instead of the vendor's pinned URL (a vendor that moved and changed its
    ///   keys); the vendor returned is at that URL, so pinning it moves it there.
    public func presentedProfile(
        of vendorName: String, at url: String? = nil, allowHTTP: Bool = false,
        timeout: Duration = Agent.defaultTimeout
    )
        async throws -> (vendor: Vendor, profile: VendorProfile)
    {
        var vendor = try vault.vendor(named: vendorName)
        if let url {
            try requireFreeURL(url, allowHTTP: allowHTTP, for: vendor)
            vendor.baseURL = url
            vendor.allowsHTTP = allowHTTP && !VendorEndpoint.isLoopback(URLComponents(string: url)?.host ?? "")
        } else {
            vendor.allowsHTTP = vendor.allowsHTTP || allowHTTP
        }
        return (vendor, try await client.profile(VendorEndpoint(vendor), within: timeout))
    }

    /// Refuses `url` as a new place for `vendor` when it is not https (nor this machine, nor allowed http), or
    /// another vendor is known there.
    private func requireFreeURL(_ url: String, allowHTTP: Bool, for vendor: Vendor) throws {
        if let problem = VendorEndpoint.transportProblem(url: url, allowsHTTP: allowHTTP) {
            throw AgentError(.refused, problem)
        }
        let others = try vault.vendors().filter { $0.name != vendor.name }
        if let same = others.first(where: { $0.baseURL.lowercased() == url.lowercased() }) {
            throw AgentError(.refused, "\(url) is already vendor \(same.name)'s")
        }
    }

    /// Pins the keys of `profile` for `vendor` (as ``presentedProfile(of:allowHTTP:timeout:)`` returned it, with its
    /// transport), on the person's explicit word.
    public func repin(_ vendor: Vendor, to profile: VendorProfile) throws {
        var repinned = vendor
        repinned.signingKey = profile.signingKey
        repinned.boxKey = profile.boxKey
        repinned.terms = profile.terms.compactMap(TermsID.init)
        repinned.categories = profile.categories.compactMap(IntentCategory.init)
        repinned.profileName = VendorText.clean(profile.name)
        repinned.profileTime = profile.ts
        (repinned.nostrKey, repinned.relays) = (profile.nostrKey, profile.relays)
        repinned.keyChange = nil
        try vault.updateVendor(repinned)
    }

    /// Moves a vendor to a new base URL, after checking that the profile there presents the very keys pinned (and is
    /// not older): a vendor that moved keeps its identity, its deals and your key toward it.
    ///
    /// - Throws: ``AgentError`` when the URL is not https (or this machine, or allowed http), another vendor is known
    ///   there, the profile does not verify, or it presents other keys.
    public func moveVendor(named name: String, to url: String, allowHTTP: Bool, timeout: Duration) async throws
        -> Vendor
    {
        var vendor = try vault.vendor(named: name)
        try requireFreeURL(url, allowHTTP: allowHTTP, for: vendor)
        let profile = try await client.profile(
            VendorEndpoint(name: vendor.name, baseURL: url, allowsHTTP: allowHTTP), within: timeout)
        if let change = Agent.keyChange(in: profile, against: vendor) {
            throw AgentError(
                .refused,
                "the vendor at \(url) \(change): it is not \(vendor.name), or its keys changed. Nothing was changed; "
                    + "if the vendor told you it moved and changed its keys, `proffer vendor repin \(vendor.name) "
                    + "--url \(url)` shows both fingerprints and moves it once you agree")
        }
        vendor.baseURL = url
        vendor.allowsHTTP = allowHTTP && !VendorEndpoint.isLoopback(URLComponents(string: url)?.host ?? "")
        try vault.updateVendor(vendor)
        return vendor
    }

    /// A vendor name from a profile name: lowercase letters, digits and dashes ("Lumen Cameras" → "lumen-cameras").
    static func shortName(_ profileName: String) -> String {
        var name = ""
        for scalar in profileName.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                name.unicodeScalars.append(scalar)
            } else if !name.isEmpty, !name.hasSuffix("-") {
                name += "-"
            }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return name.isEmpty ? "vendor" : String(name.prefix(32))
    }

    /// Checks a freshly fetched profile against what is pinned: the same signing and box keys, and not older. A
    /// change is remembered in `vault`, so `proffer due` shows it until the person re-pins or the vendor presents
    /// the pinned keys again.
    ///
    /// - Throws: ``AgentError`` with both fingerprints and the `vendor repin` command when a key changed, or when
    ///   the profile is older than the pinned one (a replayed profile).
    static func checkPinned(_ profile: VendorProfile, against vendor: Vendor, noting vault: Vault) throws(AgentError) {
        guard vendor.signingKey != nil, vendor.boxKey != nil else {
            throw .refused("\(vendor.name) has no pinned keys: add it again with `proffer vendor add URL`")
        }
        // Remembering is a courtesy: the refusal stands whether or not the vault could be written.
        guard let change = keyChange(in: profile, against: vendor) else {
            if vendor.keyChange != nil {
                try? vault.setKeyChange(nil, ofVendor: vendor.name, identityLabel: vendor.identityLabel)
            }
            return
        }
        try? vault.setKeyChange(
            PresentedKeyChange(at: Date(), what: change), ofVendor: vendor.name, identityLabel: vendor.identityLabel)
        throw .keyChanged(vendor.name, change)
    }

    /// What differs between a presented profile and the pinned one, or `nil` when they agree.
    static func keyChange(in profile: VendorProfile, against vendor: Vendor) -> String? {
        if let pinned = vendor.signingKey, profile.signingKey != pinned {
            return "presents another signing key: pinned \(fingerprint(of: pinned)), now "
                + fingerprint(of: profile.signingKey)
        }
        if let pinnedBox = vendor.boxKey, profile.boxKey != pinnedBox {
            return "presents another key for sealed data than the pinned one"
        }
        if let pinnedNostr = vendor.nostrKey, profile.nostrKey != pinnedNostr {
            return "presents another Nostr key than the pinned one (or none)"
        }
        if let pinnedTime = vendor.profileTime.flatMap(Timestamp.init), let time = Timestamp(profile.ts),
            time < pinnedTime
        {
            return "sent a profile dated \(profile.ts), older than the pinned one (\(pinnedTime)): a replay"
        }
        return nil
    }

    // MARK: - Talking to a vendor

    /// `message` signed for `vendor` by the persona's pairwise key, ready to send and to keep.
    func sign(_ message: Message, as persona: String, toward vendor: Vendor, sealedData: [UInt8]? = nil)
        throws(AgentError) -> OutgoingMessage
    {
        try sign(message, by: try identity(of: persona, toward: vendor), toward: vendor, sealedData: sealedData)
    }

    func sign(_ message: Message, by identity: SigningKeyPair, toward vendor: Vendor, sealedData: [UInt8]? = nil)
        throws(AgentError) -> OutgoingMessage
    {
        // A rolled-back sharing rule or a swapped preference must never reach a vendor: nothing leaves a vault that
        // failed its integrity check.
        guard vault.integrityProblems.isEmpty else {
            throw .refused("the vault failed its integrity check, so nothing was sent: see `proffer vault check`")
        }
        guard let pinned = vendor.signingKey else {
            throw .refused("\(vendor.name) has no pinned key: add it again with `proffer vendor add URL`")
        }
        return transport.prepare(message, by: identity, to: pinned, sealedData: sealedData)
    }

    /// Sends `outgoing` within `timeout` (optionally after checking the vendor's profile in the same time), and
    /// returns the verified replies, admitted as never seen before.
    ///
    /// - Parameter reportedAs: The timeout to name if it runs out, when `timeout` is what is left of a longer one.
    func deliver(
        _ outgoing: OutgoingMessage, to vendor: Vendor, checkingProfile: Bool = false, timeout: Duration,
        reportedAs: Duration? = nil
    ) async throws(AgentError) -> [VerifiedReply] {
        let replies = try await deliverUnadmitted(
            outgoing, to: vendor, checkingProfile: checkingProfile, timeout: timeout, reportedAs: reportedAs)
        if let problem = try admit(replies) { throw .badAnswer(VendorEndpoint(vendor), problem) }
        return replies
    }

    /// Like ``deliver(_:to:checkingProfile:timeout:reportedAs:)``, leaving the replies to be admitted by the caller,
    /// so that publishing to many vendors admits all their replies in one write.
    func deliverUnadmitted(
        _ outgoing: OutgoingMessage, to vendor: Vendor, checkingProfile: Bool, timeout: Duration,
        reportedAs: Duration? = nil
    ) async throws(AgentError) -> [VerifiedReply] {
        switch outgoing.wire {
        case .envelope(let envelope):
            return try await transport.send(
                envelope, to: vendor, checkingProfile: checkingProfile, timeout: timeout, reportedAs: reportedAs,
                noting: vault)
        case .nostr(let nostr):
            // A decline and a withdraw are told, not answered (§4.1).
            let expectsAnswer = ![.decline, .withdraw].contains(nostr.message.kind)
            return try await NostrTransport.send(
                nostr, to: vendor, expectingAnswer: expectsAnswer, timeout: timeout, reportedAs: reportedAs)
        }
    }

    /// Records replies in the vault by (sender, nonce), so a copy is refused even in a later run.
    ///
    /// - Returns: What is wrong when one was already received before (a replay), else `nil`.
    func admit(_ verified: [VerifiedReply]) throws(AgentError) -> String? {
        guard let replayed = try admitting([verified])[0].firstIndex(of: false) else { return nil }
        return "sent reply \(replayed + 1) again: it was already received before (a replay)"
    }

    /// Records several vendors' replies in one write.
    ///
    /// - Returns: For each group, whether each reply is new.
    func admitting(_ groups: [[VerifiedReply]]) throws(AgentError) -> [[Bool]] {
        let all = groups.flatMap { $0 }
        guard !all.isEmpty else { return groups.map { $0.map { _ in true } } }
        let fresh: [Bool]
        do {
            fresh = try vault.admitReplies(
                all.map { ($0.replayKey.sender, $0.replayKey.nonce, $0.rememberedUntil) },
                now: Timestamp.now.secondsSince1970)
        } catch {
            throw .refused("the replies could not be recorded in the vault: \(error)")
        }
        var start = 0
        return groups.map { group in
            defer { start += group.count }
            return Array(fresh[start..<start + group.count])
        }
    }

    /// When an offer lapses: a duration `exp` counts from its envelope's `ts`, a date `exp` ends at that day's end (UTC).
    static func expiry(of offer: Message, sentAt ts: Timestamp) -> Date? {
        offer.exp?.end(countingFrom: ts.date)
    }
}
