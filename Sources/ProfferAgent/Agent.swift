import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire

/// The person's agent: pins vendors' keys, publishes intents, and negotiates (counter, accept, decline, withdraw,
/// forget) with vendor endpoints, disclosing personal data only as the person's sharing rules allow.
///
/// ```swift
/// let agent = Agent(vault: vault, persona: "default")
/// let outcomes = await try agent.publish(intentID: "k7f3q2ab", timeout: .seconds(10))
/// ```
public final class Agent: Sendable {
    public let vault: Vault
    public let persona: String
    public let client: VendorClient
    /// Replies seen by this process; the vault also remembers them across runs.
    let replies = ReplayWindow(capacity: 100_000)

    public init(vault: Vault, persona: String = Persona.defaultName, client: VendorClient = .shared) {
        self.vault = vault
        self.persona = persona
        self.client = client
    }

    /// The key the person signs with toward `vendor`.
    func identity(toward vendor: Vendor) throws(AgentError) -> SigningKeyPair {
        guard let seed = try? vault.identitySeed() else {
            throw .refused("the vault's identity seed does not authenticate: see `proffer vault check`")
        }
        return PairwiseIdentity.keyPair(
            identitySeed: seed, persona: persona, vendorLabel: vendor.identityLabel ?? vendor.name)
    }

    /// The pairwise public key shown to `vendor`, base64url.
    public func pairwiseKey(toward vendor: Vendor) throws -> String {
        Base64URL.encode(try identity(toward: vendor).publicKey.bytes)
    }

    // MARK: - Vendors

    /// Fetches a vendor's profile, verifies its self-signature and pins its keys.
    ///
    /// - Parameter name: The name to know the vendor by; by default derived from the profile's name.
    public func addVendor(url: String, name: String?, timeout: Duration = .seconds(10)) async throws -> Vendor {
        let profile = try await client.profile(baseURL: url, timeout: timeout)
        let vendor = Vendor(
            name: name ?? Agent.shortName(profile.name), baseURL: url, signingKey: profile.signingKey,
            boxKey: profile.boxKey, terms: profile.terms.compactMap(TermsID.init),
            categories: profile.categories.compactMap(IntentCategory.init), profileName: profile.name)
        try vault.addVendor(vendor)
        return try vault.vendor(named: vendor.name)
    }

    /// Accepts the key a vendor now presents, on the person's explicit word.
    ///
    /// - Returns: The previously pinned and the newly pinned fingerprints.
    public func repin(vendorName: String, timeout: Duration = .seconds(10)) async throws -> (
        previous: String, current: String
    ) {
        var vendor = try vault.vendor(named: vendorName)
        let profile = try await client.profile(baseURL: vendor.baseURL, timeout: timeout)
        let previous = vendor.signingKey
        vendor.signingKey = profile.signingKey
        vendor.boxKey = profile.boxKey
        vendor.terms = profile.terms.compactMap(TermsID.init)
        vendor.categories = profile.categories.compactMap(IntentCategory.init)
        vendor.profileName = profile.name
        try vault.updateVendor(vendor)
        return (previous.map(fingerprint(of:)) ?? "none", fingerprint(of: profile.signingKey))
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

    /// Fetches the vendor's profile now and checks it still carries the pinned key.
    ///
    /// - Throws: ``AgentError`` with both fingerprints and the `vendor repin` command when the key changed.
    func currentProfile(of vendor: Vendor, timeout: Duration) async throws(AgentError) -> VendorProfile {
        let profile = try await client.profile(baseURL: vendor.baseURL, timeout: timeout)
        guard let pinned = vendor.signingKey else {
            throw .refused("\(vendor.name) has no pinned key: add it again with `proffer vendor add URL`")
        }
        guard profile.signingKey == pinned else {
            throw .keyChanged(
                vendor: vendor.name, pinned: fingerprint(of: pinned), current: fingerprint(of: profile.signingKey))
        }
        return profile
    }

    // MARK: - Talking to a vendor

    /// Signs `message` toward `vendor`, posts it, and returns the verified replies.
    func exchange(
        _ message: Message, with vendor: Vendor, sealedData: [UInt8]? = nil, timeout: Duration
    ) async throws(AgentError) -> (sent: Envelope, replies: [VerifiedEnvelope]) {
        let envelope = try sign(message, toward: vendor, sealedData: sealedData)
        return (envelope, try await send(envelope, to: vendor, timeout: timeout))
    }

    /// Wraps `message` in an envelope signed with the person's pairwise key and addressed to the pinned key.
    func sign(_ message: Message, toward vendor: Vendor, sealedData: [UInt8]? = nil) throws(AgentError) -> Envelope {
        // A rolled-back sharing rule or a swapped preference must never reach a vendor: nothing leaves a vault that
        // failed its integrity check.
        guard vault.integrityProblems.isEmpty else {
            throw .refused("the vault failed its integrity check, so nothing was sent: see `proffer vault check`")
        }
        guard let pinned = vendor.signingKey else {
            throw .refused("\(vendor.name) has no pinned key: add it again with `proffer vendor add URL`")
        }
        return Envelope.signed(
            message: message.canonicalForm, by: try identity(toward: vendor), to: pinned, sealedData: sealedData)
    }

    /// Posts an envelope and returns the verified replies.
    ///
    /// Every reply must pass the checks of §3 addressed to the person's pairwise key, come from the pinned key, and
    /// never have been seen before; otherwise none of the replies is used.
    func send(_ envelope: Envelope, to vendor: Vendor, timeout: Duration) async throws(AgentError)
        -> [VerifiedEnvelope]
    {
        let body = try await client.post(envelope, baseURL: vendor.baseURL, timeout: timeout)
        let decoded = try! Envelope.decode(json: envelope.jsonBytes)
        return try verifyReplies(body, from: decoded.recipient, to: decoded.sender)
    }

    func verifyReplies(_ body: [UInt8], from vendorKey: SigningPublicKey, to recipient: SigningPublicKey)
        throws(AgentError) -> [VerifiedEnvelope]
    {
        guard case .object(let members)? = try? StrictJSON.parse(body), members.count == 1,
            members[0].0 == "replies", case .array(let items) = members[0].1
        else { throw .vendorFailed("answered with something other than {\"replies\":[…]}") }
        let verifier = EnvelopeVerifier(recipient: recipient, replayWindow: replies)
        var verified: [VerifiedEnvelope] = []
        for (index, item) in items.enumerated() {
            do throws(ProtocolError) {
                let decoded = try Envelope.decode(item)
                guard decoded.sender == vendorKey else {
                    throw ProtocolError(.badSignature, "it is signed by another key than the vendor's pinned key")
                }
                verified.append(try verifier.verify(decoded))
            } catch {
                throw .vendorFailed("reply \(index + 1) was refused: \(error.code): \(error.message)")
            }
        }
        let fresh =
            (try? vault.admitReplies(
                verified.map {
                    ($0.sender.bytes, Base64URL.decode($0.envelope.nonce)!, $0.timestamp.secondsSince1970 + 300)
                },
                now: Timestamp.now.secondsSince1970)) ?? []
        if let replayed = fresh.firstIndex(of: false) {
            throw .vendorFailed("reply \(replayed + 1) was refused: replay: it was already received before")
        }
        return verified
    }

    /// When an offer lapses: a duration `exp` counts from its envelope's `ts`, a date `exp` ends at that day's end (UTC).
    static func expiry(of offer: Message, sentAt ts: Timestamp) -> Date? {
        switch offer.exp {
        case .after(let span)?: return ts.adding(seconds: Int64(span.seconds)).date
        case .date(let day)?:
            let days = Timestamp(String(format: "%04d-%02d-%02dT00:00:00Z", day.year, day.month, day.day))!
            return days.adding(seconds: 86_400).date
        case nil: return nil
        }
    }
}
