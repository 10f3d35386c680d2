import Foundation
import Logging
import ProfferCrypto
import ProfferEnvelope
import ProfferNostr
import ProfferWire
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// PROTOCOL.md §6 for the vendor: listens on its relays for public intents (posts tagged `proffer`) and for private
/// messages to its Nostr key, checks each as §6.2 and §6.3 say, hands what holds to the inbox in its one form, and
/// sends the inbox's replies as private messages to the person's relays. What §6 says a receiver ignores is ignored,
/// never answered, and counted (``ignored``).
///
/// It is a `Service`: run it beside the inbox (``VendorInbox/run()``). Several instances over one PostgreSQL database
/// may listen to the same relays: the records make each intent, offer and deal happen once, and only the instance
/// that stored an intent answers it.
public final class NostrListener: Service {
    public let inbox: VendorInbox
    /// Where the vendor receives private messages and listens for posts (its profile's `relays`).
    public let relays: [String]
    /// Posts with less proof of work than this are ignored (§6.2: 0, the default, ignores none).
    public let requiredWork: Int
    let pool: RelayPool
    let outbox: RelayOutbox
    let logger: Logger
    private let state = Mutex(ListenerState())
    /// Messages in flight at once: enough to overlap the records' commits, few enough to bound memory under a flood.
    static let concurrency = 32
    /// How long an accept waits for its data rumor (or the data for its accept), and how many may wait.
    static let pairingSeconds: Int64 = 120
    static let maximumWaiting = 1000
    static let maximumWaitingPerSender = 8

    public init(
        inbox: VendorInbox, relays: [String], requiredWork: Int = 0,
        configuration: RelayClientConfiguration = .init(), logger: Logger = Logger(label: "proffer-vendor.nostr")
    ) {
        precondition(!relays.isEmpty, "a listener needs relays")
        (self.inbox, self.relays, self.requiredWork, self.logger) = (inbox, relays, requiredWork, logger)
        // Its own relays may ask who reads the wraps tagged to it (NIP-42): the vendor's Nostr key. Relays it only
        // writes answers to are not told who it is.
        pool = RelayPool(relays: relays, configuration: configuration, authKey: inbox.keys.nostr, logger: logger)
        outbox = RelayOutbox(configuration: configuration, logger: logger)
    }

    /// How many messages were ignored, by reason, since the listener started.
    public var ignored: [String: Int] { state.withLock { $0.ignored } }

    /// How many public intents the listener handed to the inbox.
    public var intentsReceived: Int { state.withLock { $0.intentsReceived } }

    var key: SchnorrKeyPair { inbox.keys.nostr }

    public func run() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        // Every sender of an intent stored before this run is a party to its conversation.
        let known = (try? await inbox.records.knownSenders()) ?? []
        state.withLock { $0.parties.formUnion(known) }
        await publishProfile(to: relays)
        let filters = [
            // What was missed while down: every post that may still be open, and the wraps of the last month.
            NostrFilter(
                kinds: [NostrKinds.note], tags: ["t": [PublicIntent.tag]], since: now - PublicIntent.longestLifetime),
            NostrFilter(kinds: [GiftWrap.wrapKind], tags: ["p": [key.publicKey.hex]], since: now - 30 * 86400),
        ]
        // The stream ends, and its connections with it, when the service group stops.
        await cancelWhenGracefulShutdown {
            await self.key.keepingSecretReadable {
                await withTaskGroup(of: Void.self) { group in
                    var inFlight = 0
                    for await event in self.pool.listen(filters) {
                        if inFlight >= Self.concurrency {
                            await group.next()
                            inFlight -= 1
                        }
                        inFlight += 1
                        group.addTask { await self.handle(event) }
                    }
                }
            }
        }
        await pool.close()
        await outbox.close()
    }

    /// Publishes the profile events (§6.1) to `relays`, once per relay and run.
    func publishProfile(to relays: [String]) async {
        let fresh = state.withLock { state in
            let fresh = relays.filter { !state.profileSentTo.contains($0) }
            state.profileSentTo.formUnion(fresh)
            return fresh
        }
        guard !fresh.isEmpty else { return }
        let events = inbox.profile.nostrEvents(signedBy: key, at: Int64(Date().timeIntervalSince1970))
        for event in events {
            for outcome in await outbox.publish(event, to: fresh) where !outcome.isAccepted {
                logger.warning("the profile was not published: \(outcome)")
            }
        }
    }

    func handle(_ event: NostrEvent) async {
        let now = Int64(Date().timeIntervalSince1970)
        if event.kind == NostrKinds.note {
            await handlePost(event, now: now)
        } else if event.kind == GiftWrap.wrapKind {
            await handleWrap(event, now: now)
        }
    }

    func ignore(_ reason: String) {
        logger.debug("ignored: \(reason)")
        state.withLock { $0.ignored[reason, default: 0] += 1 }
    }

    // MARK: - Posts

    func handlePost(_ post: NostrEvent, now: Int64) async {
        let intent: Message
        switch PublicIntent.intent(of: post, now: now, requiredWork: requiredWork) {
        case .failure(let why): return ignore("post: \(why)")
        case .success(let read): intent = read
        }
        guard let reply = intent.reply else { return ignore("post: no reply") }
        var replyRelays: [String] = []
        for relay in reply.relays {
            if relays.contains(relay) {
                replyRelays.append(relay)
            } else if await outbox.mayConnect(to: relay) {
                replyRelays.append(relay)
            }
        }
        guard !replyRelays.isEmpty else { return ignore("post: its relays are not reachable from here") }
        let sender = Data(post.author.bytes)
        let expiration = post.expiration ?? PublicIntent.expiration(of: intent, postedAt: post.createdAt)
        state.withLock {
            $0.conversations[sender] = Conversation(
                relays: replyRelays, postedAt: post.createdAt, expiration: expiration)
            $0.parties.insert(sender)
        }
        let replies = NostrReplies(
            key: key, recipient: post.author, postExpiration: expiration, profileRelay: relays[0])
        var inbound = InboundMessage(
            sender: sender, message: intent, canonical: post.content, sealedData: nil,
            receivedAt: Timestamp(secondsSince1970: now),
            evidence: String(decoding: NostrJSON.object(post), as: UTF8.self),
            replayToken: Data(post.id), replayUntil: max(expiration, now + 600), replies: replies)
        inbound.answersRepeats = false
        inbound.intentQuota = 1
        inbound.transport = .nostr
        state.withLock { $0.intentsReceived += 1 }
        switch await inbox.receive(inbound) {
        case .replies(let answers):
            // A public intent no item matches gets no answer: a decline from every listening vendor is noise.
            let offers = answers.compactMap { replies.made($0) }.filter { $0.kind == .offer }
            guard !offers.isEmpty else { return }
            await publishProfile(to: replyRelays)
            await deliver(offers.map(\.wrap), to: sender)
        case .refused(let error): ignore("post: \(error.code)")
        case .failed: break  // the inbox logged why
        }
    }

    // MARK: - Private messages

    func handleWrap(_ wrap: NostrEvent, now: Int64) async {
        let received: PrivateMessage.Received
        do {
            received = try PrivateMessage.read(wrap, with: key, now: now)
        } catch {
            return ignore("wrap: \(error)")
        }
        // Only a cast key whose post the vendor stored is read further: nothing of anyone else waits or is kept.
        let sender: SchnorrPublicKey
        switch received {
        case .data(_, _, let opened), .message(_, let opened): sender = opened.sender
        }
        guard state.withLock({ $0.parties.contains(Data(sender.bytes)) }) else {
            return ignore("wrap: from a key that sent no intent here")
        }
        switch received {
        case .data(let acceptID, let sealed, let opened):
            let waiting = state.withLock { $0.pairData(acceptID, sealed: sealed, sender: opened.sender, now: now) }
            if let (accept, acceptOpened) = waiting {
                await deliver(accept, opened: acceptOpened, sealed: sealed, now: now)
            }
        case .message(let message, let opened):
            guard [.counter, .accept, .decline, .withdraw, .forget].contains(message.kind) else {
                return ignore("wrap: a #\(message.kind.rawValue) from a person")
            }
            if message.kind == .accept, opened.rumor.onlyTagValue("data-hash") != nil {
                let data = state.withLock { $0.pairAccept(message, opened: opened, now: now) }
                if let data { await deliver(message, opened: opened, sealed: data, now: now) }
                return
            }
            await deliver(message, opened: opened, sealed: nil, now: now)
        }
    }

    /// Hands one checked message to the inbox, and its replies to the person.
    func deliver(_ message: Message, opened: GiftWrap.Opened, sealed: [UInt8]?, now: Int64) async {
        // The sender is a party: ``handleWrap(_:now:)`` read nothing further of anyone else.
        let sender = Data(opened.sender.bytes)
        let conversation = state.withLock { $0.conversations[sender] }
        if let conversation, opened.rumor.createdAt < conversation.postedAt - GiftWrap.allowedClockSkew {
            return ignore("wrap: dated before the post")
        }
        if let sealed, !PrivateMessage.dataHashMatches(accept: opened.rumor, sealed: sealed) {
            return ignore("wrap: data whose hash the accept does not name")
        }
        let keys: NIP44.MessageKeys
        do {
            keys = try opened.sealKeys(recipient: key)
        } catch {
            return ignore("wrap: \(error)")
        }
        let expiration = conversation?.expiration ?? now + 30 * 86400
        let replies = NostrReplies(
            key: key, recipient: opened.sender, postExpiration: expiration, profileRelay: relays[0])
        let inbound = InboundMessage(
            sender: sender, message: message, canonical: opened.rumor.content, sealedData: sealed,
            receivedAt: Timestamp(secondsSince1970: now),
            evidence: NostrEvidence(rumor: opened.rumor, seal: opened.seal, keys: keys, sealedData: sealed).json,
            replayToken: Data(opened.rumor.id), replayUntil: max(expiration, now + 30 * 86400), replies: replies)
        switch await inbox.receive(inbound) {
        case .replies(let answers):
            await deliver(answers.compactMap { replies.made($0)?.wrap }, to: sender)
        case .refused(let error):
            // §6.3: what §4 answers 422 is a decline naming the code; anything else is ignored.
            let declined: Set<ProtocolError.Code> = [.unknownRef, .expired, .termsUnsupported, .missingData]
            guard declined.contains(error.code) else { return ignore("wrap: \(error.code)") }
            var decline = Message(kind: .decline)
            decline.id = MessageID.random()
            decline.re = message.id
            decline.why = error.code.description
            let wrap = key.whileSecretReadable { replies.made(replies.signed(decline.canonicalForm))?.wrap }
            await deliver(wrap.map { [$0] } ?? [], to: sender)
        case .failed: break
        }
    }

    /// Publishes wraps to the person's relays (those of the intent's `reply`), or the vendor's own when the post was
    /// not seen.
    func deliver(_ wraps: [NostrEvent], to sender: Data) async {
        guard !wraps.isEmpty else { return }
        let targets = state.withLock { $0.conversations[sender]?.relays } ?? relays
        for wrap in wraps {
            let outcomes = await outbox.publish(wrap, to: targets)
            if !outcomes.contains(where: \.isAccepted) {
                logger.warning(
                    "an answer reached no relay: \(outcomes.map(\.description).joined(separator: "; "))")
            }
        }
    }
}

/// What the listener remembers while it runs.
struct ListenerState {
    var ignored: [String: Int] = [:]
    var intentsReceived = 0
    var profileSentTo: Set<String> = []
    /// Senders of intents stored here: the only keys whose messages are read further.
    var parties: Set<Data> = []
    /// Per cast key: where its answers go, and when its post was made.
    var conversations: [Data: Conversation] = [:]
    /// Accepts waiting for their data rumor, and data rumors waiting for their accept, by the accept rumor's id.
    var waitingAccepts: [String: (message: Message, opened: GiftWrap.Opened, since: Int64)] = [:]
    var waitingData: [String: (sealed: [UInt8], sender: SchnorrPublicKey, since: Int64)] = [:]

    /// The data waiting for this accept, if it came first; else the accept waits.
    mutating func pairAccept(_ message: Message, opened: GiftWrap.Opened, now: Int64) -> [UInt8]? {
        let id = opened.rumor.idHex
        if let data = waitingData[id], data.sender == opened.sender {
            waitingData[id] = nil
            return data.sealed
        }
        prune(now: now)
        Self.makeRoom(in: &waitingAccepts, for: opened.sender, sender: \.opened.sender, since: \.since)
        waitingAccepts[id] = (message, opened, now)
        return nil
    }

    /// The accept waiting for this data, if it came first; else the data waits.
    mutating func pairData(_ acceptID: String, sealed: [UInt8], sender: SchnorrPublicKey, now: Int64)
        -> (Message, GiftWrap.Opened)?
    {
        if let accept = waitingAccepts[acceptID], accept.opened.sender == sender {
            waitingAccepts[acceptID] = nil
            return (accept.message, accept.opened)
        }
        prune(now: now)
        Self.makeRoom(in: &waitingData, for: sender, sender: \.sender, since: \.since)
        waitingData[acceptID] = (sealed, sender, now)
        return nil
    }

    /// Drops what waits longest, of this sender when it has ``NostrListener/maximumWaitingPerSender`` waiting, of
    /// anyone when ``NostrListener/maximumWaiting`` wait: a flood pushes out its own, and one sender never fills the
    /// table for the others.
    static func makeRoom<Value>(
        in table: inout [String: Value], for sender: SchnorrPublicKey,
        sender senderOf: KeyPath<Value, SchnorrPublicKey>,
        since: KeyPath<Value, Int64>
    ) {
        let own = table.filter { $0.value[keyPath: senderOf] == sender }
        if own.count >= NostrListener.maximumWaitingPerSender,
            let oldest = own.min(by: { $0.value[keyPath: since] < $1.value[keyPath: since] })
        {
            table[oldest.key] = nil
        }
        if table.count >= NostrListener.maximumWaiting,
            let oldest = table.min(by: { $0.value[keyPath: since] < $1.value[keyPath: since] })
        {
            table[oldest.key] = nil
        }
    }

    mutating func prune(now: Int64) {
        let limit = now - NostrListener.pairingSeconds
        waitingAccepts = waitingAccepts.filter { $0.value.since >= limit }
        waitingData = waitingData.filter { $0.value.since >= limit }
    }
}

struct Conversation {
    let relays: [String]
    let postedAt: Int64
    let expiration: Int64
}

/// Replies as §6.3 private messages: sealed by the vendor's Nostr key, wrapped to the cast key; offers name where
/// the vendor's profile is. What it returns is the evidence the inbox keeps; the wrap to send is found by it.
final class NostrReplies: ReplySigner {
    let key: SchnorrKeyPair
    let recipient: SchnorrPublicKey
    let postExpiration: Int64
    let profileRelay: String
    private let wraps = Mutex<[String: (kind: MessageKind, wrap: NostrEvent)]>([:])

    init(key: SchnorrKeyPair, recipient: SchnorrPublicKey, postExpiration: Int64, profileRelay: String) {
        (self.key, self.recipient, self.postExpiration, self.profileRelay) = (
            key, recipient, postExpiration, profileRelay
        )
    }

    func signed(_ canonical: String) -> String {
        guard let kind = (try? Message.parse(canonical))?.kind else { return "" }
        let tags =
            kind == .offer
            ? [
                [
                    "a", "\(NostrKinds.applicationData):\(key.publicKey.hex):\(NostrKinds.profileIdentifier)",
                    profileRelay,
                ]
            ]
            : []
        let now = Int64(Date().timeIntervalSince1970)
        guard
            let wrapped = try? PrivateMessage.wrap(
                canonical, from: key, to: recipient, extraTags: tags, postExpiration: postExpiration, now: now),
            let keys = try? wrapped.sealKeys(sender: key)
        else { return "" }
        let evidence = NostrEvidence(rumor: wrapped.rumor, seal: wrapped.seal, keys: keys).json
        wraps.withLock { $0[evidence] = (kind, wrapped.wrap) }
        return evidence
    }

    /// The wrap made for `evidence`, and the kind of its message.
    func made(_ evidence: String) -> (kind: MessageKind, wrap: NostrEvent)? { wraps.withLock { $0[evidence] } }
}

/// Connections to the relays the vendor writes to: its own, and those of the intents it answers, each opened once and
/// kept, at most ``maximumRelays`` (the oldest closed first).
final class RelayOutbox: Sendable {
    static let maximumRelays = 256
    let configuration: RelayClientConfiguration
    let logger: Logger
    private let pools = Mutex<[(relay: String, pool: RelayPool)]>([])
    /// What ``mayConnect(to:)`` said of each relay, this run (at most ``maximumRelays`` × 16 kept).
    private let verdicts = Mutex<[String: Bool]>([:])

    /// ``mayConnect(to:)``, asked once per relay and run.
    func mayConnect(to relay: String) async -> Bool {
        if let known = verdicts.withLock({ $0[relay] }) { return known }
        let verdict = await Self.mayConnect(to: relay)
        verdicts.withLock { verdicts in
            if verdicts.count >= Self.maximumRelays * 16 { verdicts.removeAll() }
            verdicts[relay] = verdict
        }
        return verdict
    }

    init(configuration: RelayClientConfiguration, logger: Logger) {
        (self.configuration, self.logger) = (configuration, logger)
    }

    /// Publishes `event` to each of `relays`, within 10 s.
    func publish(_ event: NostrEvent, to relays: [String]) async -> [RelayPublishOutcome] {
        var closing: [RelayPool] = []
        let chosen: [RelayPool] = pools.withLock { pools in
            relays.map { relay in
                if let found = pools.first(where: { $0.relay == relay }) { return found.pool }
                let pool = RelayPool(relays: [relay], configuration: configuration, logger: logger)
                pools.append((relay, pool))
                if pools.count > Self.maximumRelays { closing.append(pools.removeFirst().pool) }
                return pool
            }
        }
        for pool in closing { await pool.close() }
        return await withTaskGroup(of: [RelayPublishOutcome].self) { group in
            for pool in chosen { group.addTask { await pool.publish(event, within: .seconds(10)) } }
            var outcomes: [RelayPublishOutcome] = []
            for await outcome in group { outcomes += outcome }
            return outcomes
        }
    }

    func close() async {
        for pool in pools.withLock({ $0.map(\.pool) }) { await pool.close() }
    }

    /// Whether the vendor connects to a relay it was not configured with, named in a post (§6.2): `wss://`, and its
    /// host resolves, as the system resolves it (numeric forms such as `127.1` or `0x7f000001` included), to public
    /// addresses only: never loopback, private, shared, link-local, multicast or reserved ones.
    static func mayConnect(to relay: String) async -> Bool {
        guard relay.hasPrefix("wss://"), NostrReply.isUsableRelay(relay), !NostrReply.isLoopback(relay),
            let host = URLComponents(string: relay)?.host?.lowercased(), !host.isEmpty
        else { return false }
        let addresses = await resolve(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
        return !addresses.isEmpty && addresses.allSatisfy(isPublic)
    }

    /// The addresses `host` resolves to (4 or 16 bytes each), from the system's resolver on a thread of its own.
    static func resolve(_ host: String) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, "443", &hints, &list) == 0 else { return continuation.resume(returning: []) }
                defer { freeaddrinfo(list) }
                var addresses: [[UInt8]] = []
                var entry = list
                while let current = entry {
                    if let address = current.pointee.ai_addr {
                        switch Int32(address.pointee.sa_family) {
                        case AF_INET:
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                                addresses.append(withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) })
                            }
                        case AF_INET6:
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                                addresses.append(withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) })
                            }
                        default: break
                        }
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    /// Whether an IPv4 (4 bytes) or IPv6 (16 bytes) address is reachable on the public internet.
    static func isPublic(_ address: [UInt8]) -> Bool {
        if address.count == 4 {
            let (a, b) = (address[0], address[1])
            return
                !(a == 0 || a == 10 || a == 127 || a >= 224 || (a == 100 && (64...127).contains(b))
                || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 192 && b == 0 && address[2] == 0) || (a == 198 && (18...19).contains(b)))
        }
        guard address.count == 16 else { return false }
        if address.allSatisfy({ $0 == 0 }) || address[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        // Addresses that carry an IPv4 address are as public as it: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
        // (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). Teredo (2001::/32) hides its own.
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF {
            return isPublic(Array(address[12...]))
        }
        if address[0..<12].allSatisfy({ $0 == 0 }) { return isPublic(Array(address[12...])) }
        if address[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] {
            return isPublic(Array(address[12...]))
        }
        if address[0] == 0x20 && address[1] == 0x02 { return isPublic(Array(address[2..<6])) }
        if address[0] == 0x20 && address[1] == 0x01 && address[2] == 0 && address[3] == 0 { return false }
        let first = address[0]
        if first == 0xFF || (first & 0xFE) == 0xFC { return false }  // multicast, unique local
        if first == 0xFE && (address[1] & 0x80) == 0x80 { return false }  // link-local, and the old site-local
        if first == 0x20 && address[1] == 0x01 && address[2] == 0x0D && address[3] == 0xB8 { return false }  // docs
        return true
    }
}
