import Foundation
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

/// What casting an intent did: the post's line, ready to paste anywhere, and each relay's outcome.
public struct CastOutcome: Sendable {
    public let intent: StoredIntent
    /// The post's content: the intent with its public id and `reply`.
    public let line: String
    public let relays: [RelayPublishOutcome]
    /// Whether the intent had been cast before, and its post was published again.
    public let again: Bool
    public var reachedAny: Bool { relays.contains(where: \.isAccepted) }
}

/// What reading a public intent's answers found.
public struct InboxReport: Sendable {
    public let intentID: MessageID
    /// Offers stored now, each with its vendor.
    public var newOffers: [StoredOffer] = []
    /// Vendors that said they make no offer, with their reason.
    public var declines: [(vendor: String, why: String)] = []
    /// Deals whose confirm, decline or forget's confirm arrived now.
    public var settledDeals: [StoredDeal] = []
    /// Answers to earlier messages (a counter's decline) that settle nothing further.
    public var otherAnswers: [String] = []
    /// Messages ignored, by reason (§6.3, §6.4), never answered.
    public var ignored: [String: Int] = [:]
    /// Relays that failed, with how.
    public var relayProblems: [String: String] = [:]

    public init(intentID: MessageID) { self.intentID = intentID }

    /// Adds what a later read of the same intent found.
    public mutating func add(_ later: InboxReport) {
        newOffers += later.newOffers
        declines += later.declines
        settledDeals += later.settledDeals
        otherAnswers += later.otherAnswers
        for (reason, count) in later.ignored { ignored[reason, default: 0] += count }
        relayProblems.merge(later.relayProblems) { $1 }
    }

    /// Whether anything was stored or settled (ignored messages aside).
    public var hasAnswers: Bool {
        !(newOffers.isEmpty && declines.isEmpty && settledDeals.isEmpty && otherAnswers.isEmpty)
    }

    public var isEmpty: Bool {
        newOffers.isEmpty && declines.isEmpty && settledDeals.isEmpty && otherAnswers.isEmpty && ignored.isEmpty
    }
}

extension Agent {
    /// §6.4: answers kept from vendors the person has not pinned, per public intent, and offers per vendor and intent.
    public static let unpinnedVendorsPerIntent = 100
    public static let offersPerVendorAndIntent = 25
    /// New vendor keys whose profiles one read of an intent's answers looks up; the rest wait for the next read.
    public static let profileLookupsPerRead = 20_000

    /// The relays public intents are cast to: `nostr.relays`.
    public func castRelays() throws -> [String] {
        let setting = try vault.preference(key: AgentSetting.nostrRelays.rawValue, persona: Persona.defaultName)?.value
        return setting.map { $0.split(separator: ",").map(String.init) } ?? []
    }

    /// The cast key of a public intent: derived from the vault's seed and its public id, so a restored backup reads
    /// its answers.
    func castKey(_ cast: PublicCast) throws(AgentError) -> SchnorrKeyPair {
        guard let seed = try? vault.identitySeed() else {
            throw .refused("the vault's identity seed does not authenticate: see `proffer vault check`")
        }
        return CastKey.keyPair(identitySeed: seed, publicID: cast.publicID)
    }

    /// Casts an intent in public (PROTOCOL.md §6.2): gives it a public id and a cast key of its own, and publishes
    /// its post, and the list of relays its answers go to, to `relays` (else the setting `nostr.relays`). An intent
    /// cast before is published again, the same post, so a cast that reached no relay can be retried.
    ///
    /// - Throws: ``AgentError`` when no relays are given nor set, the intent was sent to vendors over HTTP, or it is
    ///   no longer open.
    public func cast(intentID: String, relays given: [String], timeout: Duration) async throws -> CastOutcome {
        let intent = try vault.intent(id: intentID)
        guard intent.state(at: Date()) == .draft || intent.state(at: Date()) == .published else {
            throw AgentError.refused(
                "intent \(intent.id) is \(intent.state(at: Date()).rawValue): only an open intent is cast")
        }
        let cast: PublicCast
        let again: Bool
        if let existing = intent.cast {
            if !given.isEmpty, Set(given) != Set(existing.relays) {
                throw AgentError.refused(
                    "intent \(intent.id) was cast to \(existing.relays.joined(separator: ", ")); its post names those "
                        + "relays, so it is published there again. Leave out --relay")
            }
            (cast, again) = (existing, true)
        } else {
            guard (intent.sentTo ?? []).isEmpty else {
                throw AgentError.refused(
                    "intent \(intent.id) was sent to vendors over HTTP (\(intent.sentTo!.joined(separator: ", "))); a "
                        + "public intent is never sent over HTTP. Make a new intent to cast: `proffer intent new …`")
            }
            let relays = given.isEmpty ? try castRelays() : given
            guard !relays.isEmpty else {
                throw AgentError(
                    .invalidInput,
                    "no relays to cast to: pass --relay wss://…, or set them once for every intent with `proffer pref "
                        + "set nostr.relays wss://relay.one,wss://relay.two`")
            }
            guard relays.count <= 3, relays.allSatisfy(NostrReply.isUsableRelay) else {
                throw AgentError(
                    .invalidInput,
                    "relays are 1 to 3 wss:// URLs (ws:// only on this machine), without commas: "
                        + relays.joined(separator: ", "))
            }
            try requireIntegrity()
            let publicID = MessageID.random()
            guard let seed = try? vault.identitySeed() else {
                throw AgentError.refused("the vault's identity seed does not authenticate: see `proffer vault check`")
            }
            let key = CastKey.keyPair(identitySeed: seed, publicID: publicID)
            var message = intent.message
            message.id = publicID
            message.reply = try NostrReply(publicKey: key.publicKey.bytes, relays: relays)
            let now = Int64(Date().timeIntervalSince1970)
            let post = try PublicIntent.post(message, castKey: key, postedAt: now)
            let made = PublicCast(
                publicID: publicID, relays: relays, post: String(decoding: NostrJSON.object(post), as: UTF8.self),
                postID: post.idHex, postedAt: Date(timeIntervalSince1970: TimeInterval(now)),
                expiresAt: Date(timeIntervalSince1970: TimeInterval(post.expiration ?? now)))
            // Kept before it leaves: a cast interrupted here is published again, the same post, by the next cast.
            try vault.updateIntent(id: intent.id.description) {
                $0.cast = made
                $0.state = .published
            }
            (cast, again) = (made, false)
        }
        let key = try castKey(cast)
        guard let post = try? NostrJSON.event(from: Array(cast.post.utf8)) else {
            throw AgentError.refused("intent \(intent.id)'s kept post does not read back: see `proffer vault check`")
        }
        let pool = RelayPool(relays: cast.relays, authKey: key)
        defer { Task { await pool.close() } }
        let relayList = NostrKinds.privateMessageRelays(
            cast.relays, by: key, at: Int64(cast.postedAt.timeIntervalSince1970))
        async let listed = pool.publish(relayList, within: timeout)
        let outcomes = await pool.publish(post, within: timeout)
        _ = await listed
        return CastOutcome(
            intent: try vault.intent(id: intent.id.description), line: post.content, relays: outcomes, again: again)
    }

    /// Asks the relays of a public intent to delete its post (NIP-09), as withdrawing it does (§6.3); `nil` when the
    /// intent was never cast.
    public func deletePost(intentID: String, timeout: Duration) async throws -> [RelayPublishOutcome]? {
        let intent = try vault.intent(id: intentID)
        guard let cast = intent.cast else { return nil }
        let key = try castKey(cast)
        let deletion = NostrKinds.deletion(
            of: cast.postID, kind: NostrKinds.note, by: key, at: Int64(Date().timeIntervalSince1970))
        let pool = RelayPool(relays: cast.relays, authKey: key)
        defer { Task { await pool.close() } }
        return await pool.publish(deletion, within: timeout)
    }

    /// Fails when the vault failed its integrity check: nothing leaves it then.
    func requireIntegrity() throws(AgentError) {
        guard vault.integrityProblems.isEmpty else {
            throw .refused("the vault failed its integrity check, so nothing was sent: see `proffer vault check`")
        }
    }

    /// `message` about `intent`, ready to send to `vendor`: over Nostr, sealed by the cast key, for a public intent;
    /// otherwise signed by the persona's pairwise key into an envelope.
    func outgoing(
        _ message: Message, about intent: StoredIntent, as persona: String, toward vendor: Vendor,
        sealedData: [UInt8]? = nil
    ) throws(AgentError) -> OutgoingMessage {
        guard let cast = intent.cast else {
            return try sign(message, as: persona, toward: vendor, sealedData: sealedData)
        }
        // A vendor found over Nostr gets nothing, not even a counter, until the person pins it.
        guard vendor.isPinned else { throw .notPinned(vendor) }
        try requireIntegrity()
        var prepared = try NostrTransport.prepare(
            message, cast: cast, castKey: try castKey(cast), to: vendor, sealedData: sealedData)
        if message.kind == .counter, case .nostr(var nostr) = prepared.wire {
            let offers = (try? vault.offers(intentID: intent.id.description)) ?? []
            let theirs = offers.filter { $0.vendor == vendor.name }
            nostr.earlierOffers = Set(theirs.map(\.id))
            nostr.countered = theirs.first { $0.id == message.re }?.message
            prepared = OutgoingMessage(canonical: prepared.canonical, evidence: prepared.evidence, wire: .nostr(nostr))
        }
        return prepared
    }

    // MARK: - Reading answers

    /// The public intents whose answers are still read: open ones, and those with a deal not settled (§6.4: after
    /// that, everything sent to the cast key is ignored).
    public func readablePublicIntents(at now: Date = Date()) throws -> [StoredIntent] {
        let unsettled = Set(
            try vault.deals().filter { $0.state.canRetry || $0.state == .forgetPending }.map(\.intentID))
        return try vault.intents().filter { intent in
            guard intent.cast != nil else { return false }
            let state = intent.state(at: now)
            return state == .published || state == .fulfilled || unsettled.contains(intent.id)
        }
    }

    /// Fetches the private messages sent to the cast keys of readable public intents, checks each (§6.3), stores
    /// what holds, and says per intent what it found.
    public func readInbox(timeout: Duration) async throws -> [InboxReport] {
        let intents = try readablePublicIntents()
        return try await withThrowingTaskGroup(of: InboxReport.self) { group in
            for intent in intents {
                group.addTask { try await self.readAnswers(of: intent, within: timeout) }
            }
            var reports: [InboxReport] = []
            for try await report in group { reports.append(report) }
            return reports.sorted { $0.intentID.description < $1.intentID.description }
        }
    }

    /// Reads one public intent's answers, within `timeout`.
    public func readAnswers(of intent: StoredIntent, within timeout: Duration) async throws -> InboxReport {
        guard let cast = intent.cast else { return InboxReport(intentID: intent.id) }
        let key = try castKey(cast)
        let pool = RelayPool(relays: cast.relays, authKey: key)
        defer { Task { await pool.close() } }
        let posted = Int64(cast.postedAt.timeIntervalSince1970)
        let filter = NostrFilter(
            kinds: [GiftWrap.wrapKind], tags: ["p": [key.publicKey.hex]],
            since: (cast.readUntil ?? posted) - GiftWrap.backdating - 600)
        let fetched = await pool.fetchPaging(filter, within: timeout)
        var report = try await take(fetched.events, for: intent, castKey: key, timeout: timeout)
        for (relay, problem) in fetched.problems { if let problem { report.relayProblems[relay] = problem } }
        let newest = fetched.events.map(\.createdAt).max()
        let ignored = report.ignored
        try vault.updateIntent(id: intent.id.description) { stored in
            guard var updated = stored.cast else { return }
            if let newest {
                updated.readUntil = max(updated.readUntil ?? 0, min(newest, Int64(Date().timeIntervalSince1970)))
            }
            // What the last read ignored: wraps are read again for two days (they are backdated), so counts are not
            // added up across reads.
            updated.ignored = ignored.isEmpty ? nil : ignored
            stored.cast = updated
        }
        return report
    }

    /// Follows the readable public intents' relays (or only `intentID`'s) until cancelled or `deadline`, reporting
    /// each answer as it is stored.
    public func followInbox(
        only intentID: MessageID? = nil, until deadline: ContinuousClock.Instant? = nil,
        report: @escaping @Sendable (InboxReport) -> Void
    ) async throws {
        let intents = try readablePublicIntents().filter { intentID == nil || $0.id == intentID }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for intent in intents {
                guard let cast = intent.cast else { continue }
                let key = try castKey(cast)
                group.addTask {
                    let pool = RelayPool(relays: cast.relays, authKey: key)
                    let filter = NostrFilter(
                        kinds: [GiftWrap.wrapKind], tags: ["p": [key.publicKey.hex]],
                        since: (cast.readUntil ?? Int64(cast.postedAt.timeIntervalSince1970)) - GiftWrap.backdating
                            - 600)
                    for await wrap in pool.listen([filter]) {
                        let current = try self.vault.intent(id: intent.id.description)
                        let found = try await self.take(
                            [wrap], for: current, castKey: key, timeout: .seconds(10))
                        // Messages ignored one by one would flood the person's screen: only answers are reported.
                        if found.hasAnswers { report(found) }
                    }
                    await pool.close()
                }
            }
            if let deadline {
                group.addTask { try await Task.sleep(until: deadline) }
                // The first to end is the deadline (the listeners run until cancelled).
                try await group.next()
                group.cancelAll()
            } else {
                try await group.waitForAll()
            }
        }
    }

    /// Checks each wrap sent to a public intent's cast key and stores what holds: new offers (their vendor's profile
    /// found and verified, §6.1), declines, and the answers that settle deals and forgets. Everything else is ignored
    /// and counted by reason. The work is linear in the wraps: the intent's offers are read once, new offers are
    /// stored in one write, and a vendor found over Nostr is kept only once one of its offers is.
    func take(
        _ wraps: [NostrEvent], for intent: StoredIntent, castKey: SchnorrKeyPair, timeout: Duration
    ) async throws -> InboxReport {
        var report = InboxReport(intentID: intent.id)
        guard let cast = intent.cast else { return report }
        let now = Int64(Date().timeIntervalSince1970)
        let posted = Int64(cast.postedAt.timeIntervalSince1970)
        var opened: [(message: Message, opened: GiftWrap.Opened)] = []
        for wrap in wraps.sorted(by: { $0.createdAt < $1.createdAt }) {
            let received: PrivateMessage.Received
            do {
                received = try PrivateMessage.read(wrap, with: castKey, now: now)
            } catch {
                let reason =
                    switch error {
                    case .sealNotByAuthor: "sealed by another key than its author's"
                    case .rumorFromFuture: "dated in the future"
                    case .expired: "expired (NIP-40)"
                    default: "could not be opened or failed a check"
                    }
                report.ignored[reason, default: 0] += 1
                continue
            }
            guard case .message(let message, let checked) = received else {
                report.ignored["data sent to the person", default: 0] += 1
                continue
            }
            guard [.offer, .decline, .confirm].contains(message.kind) else {
                report.ignored["a #\(message.kind.rawValue) sent by a vendor", default: 0] += 1
                continue
            }
            guard checked.rumor.createdAt >= posted - GiftWrap.allowedClockSkew else {
                report.ignored["dated before the post", default: 0] += 1
                continue
            }
            opened.append((message, checked))
        }
        let vendors = try vault.vendors()
        let offersSoFar = try vault.offers(intentID: intent.id.description)
        var offerCounts = Dictionary(grouping: offersSoFar, by: \.vendor).mapValues(\.count)
        // §6.4: the vendors not pinned that this intent keeps answers of, whoever they are.
        var unpinnedAnswering = Set(
            offersSoFar.map(\.vendor).filter { name in vendors.first { $0.name == name }?.isPinned == false })
        // The profiles of every new vendor offering something are fetched at once, within one deadline, from the
        // intent's own relays (where §6.1 has each answering vendor publish it): a flood of offers from fresh keys
        // costs one fetch, and no vendor can make the agent connect where it chooses.
        // Every new key is looked up (up to a bound per read), so keys without a profile cannot crowd out a real
        // vendor; the cap of §6.4 then counts vendors whose offers are kept.
        var newKeys: [SchnorrPublicKey] = []
        var lookingUp = Set<SchnorrPublicKey>()
        for (message, checked) in opened where message.kind == .offer && message.re == cast.publicID {
            if vendors.contains(where: { $0.nostrKey == checked.sender }) || lookingUp.contains(checked.sender) {
                continue
            }
            if newKeys.count < Agent.profileLookupsPerRead {
                newKeys.append(checked.sender)
                lookingUp.insert(checked.sender)
            }
        }
        var candidates: [SchnorrPublicKey: Vendor] = [:]
        if !newKeys.isEmpty {
            candidates = try await foundVendors(newKeys, cast: cast, among: vendors, timeout: timeout)
        }
        var answers: [(reply: VerifiedReply, vendor: Vendor)] = []
        for (message, checked) in opened {
            guard let vendor = vendors.first(where: { $0.nostrKey == checked.sender }) ?? candidates[checked.sender]
            else {
                let reason =
                    message.kind != .offer || message.re != cast.publicID
                    ? "from a key that is no vendor of this intent"
                    : lookingUp.contains(checked.sender)
                        ? "an offer from a key whose profile was not found or does not name it"
                        : "from keys beyond the \(Agent.profileLookupsPerRead) looked up in one read"
                report.ignored[reason, default: 0] += 1
                continue
            }
            guard
                let reply = NostrTransport.verifiedReply(
                    message, opened: checked, castKey: castKey,
                    castExpiresAt: Int64(cast.expiresAt.timeIntervalSince1970))
            else {
                report.ignored["could not be opened or failed a check", default: 0] += 1
                continue
            }
            answers.append((reply, vendor))
        }
        // Answers read before (by an earlier inbox, or the command that waited for them) are not new.
        let fresh = try admitting([answers.map(\.reply)])[0]
        let stillOpen = try vault.intent(id: intent.id.description).state(at: Date()) != .withdrawn
        var newOffers: [String: (vendor: Vendor, replies: [VerifiedReply])] = [:]
        for ((reply, vendor), isNew) in zip(answers, fresh) where isNew {
            let message = reply.message
            guard message.kind == .offer, message.re == cast.publicID else {
                try apply(reply, from: vendor, to: intent, cast: cast, report: &report)
                continue
            }
            guard offerCounts[vendor.name, default: 0] < Agent.offersPerVendorAndIntent else {
                report.ignored["over \(Agent.offersPerVendorAndIntent) offers from one vendor", default: 0] += 1
                continue
            }
            if !vendor.isPinned, !unpinnedAnswering.contains(vendor.name) {
                guard unpinnedAnswering.count < Agent.unpinnedVendorsPerIntent else {
                    report.ignored[
                        "from keys beyond the \(Agent.unpinnedVendorsPerIntent) unpinned vendors an intent keeps",
                        default: 0] += 1
                    continue
                }
                unpinnedAnswering.insert(vendor.name)
            }
            offerCounts[vendor.name, default: 0] += 1
            newOffers[vendor.name, default: (vendor, [])].replies.append(reply)
        }
        guard !newOffers.isEmpty else { return report }
        // A vendor found over Nostr is kept now that an offer of its is: added, or, when another read kept it
        // meanwhile (intents are read at once), the one kept.
        var groups: [(vendor: Vendor, offers: [StoredOffer])] = []
        for (_, group) in newOffers.sorted(by: { $0.key < $1.key }) {
            var vendor = group.vendor
            if candidates.values.contains(where: { $0.name == vendor.name }) {
                guard let kept = try keep(vendor) else {
                    report.ignored["from a vendor that could not be kept", default: 0] += group.replies.count
                    continue
                }
                vendor = kept
            }
            let offers = group.replies.map { reply in
                StoredOffer(
                    vendor: vendor.name, intentID: intent.id, envelope: reply.evidence, message: reply.message,
                    receivedAt: Date(), expiresAt: Agent.expiry(of: reply.message, sentAt: reply.timestamp),
                    state: stillOpen ? .open : .withdrawn, vendorLabel: vendor.keyLabel)
            }
            groups.append((vendor, offers))
        }
        let stored = try vault.addOfferAnswers(groups.map(\.offers))
        var answered: [String] = []
        for (group, storage) in zip(groups, stored) {
            if let refusal = storage.refusal {
                report.ignored[
                    "an offer reusing another offer's id (\(VendorText.clean(refusal).prefix(60)))", default: 0] +=
                    group.offers.count
                continue
            }
            report.newOffers += group.offers.prefix(storage.added)
            answered.append(group.vendor.name)
        }
        guard !answered.isEmpty else { return report }
        try vault.updateIntent(id: intent.id.description) { stored in
            var ids = stored.vendorIDs ?? [:]
            for name in answered {
                ids[name] = cast.publicID
                stored.declinedBy?[name] = nil
            }
            stored.vendorIDs = ids
            stored.sentTo = Array(Set((stored.sentTo ?? []) + answered)).sorted()
        }
        return report
    }

    /// Stores one new answer to a public intent other than an offer: a decline of it, or what settles a deal.
    private func apply(
        _ reply: VerifiedReply, from vendor: Vendor, to intent: StoredIntent, cast: PublicCast,
        report: inout InboxReport
    ) throws {
        let message = reply.message
        if message.re == cast.publicID {
            guard message.kind == .decline else {
                report.ignored["a #\(message.kind.rawValue) naming the intent", default: 0] += 1
                return
            }
            let why = VendorText.clean(message.why ?? "no reason given")
            try vault.updateIntent(id: intent.id.description) { stored in
                var declined = stored.declinedBy ?? [:]
                declined[vendor.name] = why
                stored.declinedBy = declined
                stored.sentTo = Array(Set((stored.sentTo ?? []) + [vendor.name])).sorted()
            }
            report.declines.append((vendor.name, why))
            return
        }
        let deals = try vault.deals().filter { $0.intentID == intent.id && $0.vendor == vendor.name }
        if let deal = deals.first(where: { $0.id == message.re && $0.state.canRetry }),
            message.kind == .confirm || message.kind == .decline
        {
            report.settledDeals.append(try settleAccept(deal, answer: reply))
            return
        }
        // Only a confirm naming the forget settles it (§4.1); the accept's confirm, come late, is the deal's confirm.
        if message.kind == .confirm,
            let deal = deals.first(where: { deal in
                deal.state == .forgetPending
                    && message.re == deal.forgetEnvelope.flatMap(KeptMessage.reread)?.message.id
            })
        {
            report.settledDeals.append(try settleForget(deal.id, confirm: reply))
            return
        }
        if message.kind == .confirm, let deal = deals.first(where: { $0.id == message.re && $0.replyEnvelope == nil }) {
            try vault.updateDeal(id: deal.id) { stored in
                if stored.replyEnvelope == nil { stored.replyEnvelope = reply.evidence }
                return []
            }
            report.otherAnswers.append("\(vendor.name) confirmed deal \(deal.id)'s accept, late")
            return
        }
        if message.kind == .decline, vendor.isPinned {
            report.otherAnswers.append(
                "\(vendor.name) declined \(message.re?.description ?? "a message"): "
                    + VendorText.clean(message.why ?? "no reason given"))
            return
        }
        report.ignored["naming nothing open here", default: 0] += 1
    }

    /// Keeps a vendor found over Nostr, or finds the one another read kept with the same keys meanwhile; `nil` when
    /// neither (its name or keys are another vendor's).
    private func keep(_ found: Vendor) throws -> Vendor? {
        if (try? vault.addVendor(found)) != nil { return try vault.vendor(named: found.name) }
        return try vault.vendors().first { $0.nostrKey == found.nostrKey && $0.signingKey == found.signingKey }
    }

    /// The vendors whose profiles name `keys`, found over Nostr (§6.1) on the intent's relays, each used only once
    /// it verifies, names its key, and is not older than one pinned for the same `sign` key. New ones are returned
    /// unsaved and unpinned: the caller keeps a vendor only once it keeps one of its offers.
    private func foundVendors(
        _ keys: [SchnorrPublicKey], cast: PublicCast, among known: [Vendor], timeout: Duration
    ) async throws -> [SchnorrPublicKey: Vendor] {
        let pool = RelayPool(relays: cast.relays)
        defer { Task { await pool.close() } }
        // A few hundred authors per filter and a few filters per request keep each request well under the frame
        // sizes relays take; the requests share one deadline.
        let deadline = ContinuousClock.now + min(timeout, .seconds(10))
        var events: [NostrEvent] = []
        for start in stride(from: 0, to: keys.count, by: 750) {
            let filters = stride(from: start, to: min(start + 750, keys.count), by: 250).map { chunk in
                NostrFilter(
                    authors: keys[chunk..<min(chunk + 250, keys.count)].map(\.hex), kinds: [NostrKinds.applicationData],
                    tags: ["d": [NostrKinds.profileIdentifier]])
            }
            guard ContinuousClock.now < deadline else { break }
            events += await pool.fetch(filters, within: deadline - .now).events
        }
        let byAuthor = Dictionary(grouping: events, by: \.author)
        var found: [SchnorrPublicKey: Vendor] = [:]
        var names = Set(known.map(\.name))
        for key in keys {
            let profiles = (byAuthor[key] ?? []).compactMap { try? NostrProfile.profile(in: $0) }
            guard let newest = NostrProfile.newest(profiles), newest.nostrKey == key else { continue }
            // Another vendor's keys are never taken over, nor an older profile used.
            if known.contains(where: { $0.signingKey == newest.signingKey }) { continue }
            let cleaned = VendorText.clean(newest.name).trimmingCharacters(in: .whitespaces)
            var name = Agent.shortName(cleaned.isEmpty ? "vendor" : cleaned)
            if names.contains(name) { name += "-" + String(key.hex.prefix(6)) }
            guard !names.contains(name) else { continue }
            names.insert(name)
            var vendor = Vendor(
                name: name, baseURL: "nostr:" + NostrReply.npub(key.bytes), signingKey: newest.signingKey,
                boxKey: newest.boxKey, terms: newest.terms.compactMap(TermsID.init),
                categories: newest.categories.compactMap(IntentCategory.init),
                profileName: cleaned.isEmpty ? name : cleaned, profileTime: newest.ts)
            (vendor.nostrKey, vendor.relays, vendor.foundOn) = (key, newest.relays, cast.relays[0])
            // Fixed now, as `addVendor` would, so the offers kept with it carry the label it is kept under.
            vendor.identityLabel = Hex.encode(SecureRandom.bytes(16))
            found[key] = vendor
        }
        return found
    }

    /// Pins a vendor found over Nostr, on the person's word: its keys become the ones every later message is checked
    /// against, as `vendor add` pins them.
    public func pinFound(vendorNamed name: String) throws -> Vendor {
        var vendor = try vault.vendor(named: name)
        vendor.foundOn = nil
        try vault.updateVendor(vendor)
        return vendor
    }
}
