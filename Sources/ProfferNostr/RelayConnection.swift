import Logging
import NIOSSL
import ProfferCrypto
import WSClient

#if canImport(Glibc)
    import Glibc
#endif

/// How the relay client treats relays, all of which are untrusted.
public struct RelayClientConfiguration: Sendable {
    /// The largest WebSocket frame or message read: an event of 64 KiB with its envelope.
    public var maximumFrameBytes = 160 * 1024
    /// The most events, and bytes of events, one subscription takes from one relay; past either the subscription
    /// is closed as flooded. Enough for 10,000 junk gift wraps and the offers among them.
    public var maximumEventsPerSubscription = 50_000
    public var maximumBytesPerSubscription = 64 * 1024 * 1024
    /// The most messages a relay may send that break the protocol (malformed, forged, or events no subscription
    /// asked for) before its connection is dropped. Events that are well formed but refused for their content (too
    /// many tags, say) do not count: anyone can publish those, and they must not cut a listener off.
    public var maximumBadMessages = 50
    /// How often a connection pings the relay, so a connection that died silently is noticed.
    public var pingInterval: Duration = .seconds(30)
    /// TLS for `wss://`: the system's trust store and full certificate checks unless changed (tests add a CA).
    public var tls: TLSConfiguration = .makeClientConfiguration()

    public init() {}
}

/// One relay's answer to a published event.
public enum RelayPublishOutcome: Hashable, Sendable, CustomStringConvertible {
    case accepted(relay: String)
    /// The relay said `OK false`, with its reason (text from the relay: show it cleaned).
    case refused(relay: String, reason: String)
    /// Not connected, disconnected, or no `OK` within the deadline.
    case unreachable(relay: String, reason: String)

    public var relay: String {
        switch self {
        case .accepted(let relay), .refused(let relay, _), .unreachable(let relay, _): relay
        }
    }

    public var isAccepted: Bool { if case .accepted = self { true } else { false } }

    public var description: String {
        switch self {
        case .accepted(let relay): "\(relay): accepted"
        case .refused(let relay, let reason): "\(relay): refused (\(reason))"
        case .unreachable(let relay, let reason): "\(relay): unreachable (\(reason))"
        }
    }
}

/// What a subscription hears from one relay.
enum SubscriptionItem: Sendable {
    case event(NostrEvent)
    case endOfStoredEvents
    /// The relay closed the subscription, or the connection went; the reason says which.
    case ended(String)
}

/// One WebSocket connection to one relay: sends client messages, routes what the relay answers to whoever waits for
/// it, answers `AUTH` with the key it reads for, and never lets a relay's silence hold a caller past its deadline:
/// every wait here ends at its deadline whatever the connection does.
actor RelayConnection {
    let url: String
    private let configuration: RelayClientConfiguration
    private let authKey: SchnorrKeyPair?
    private let logger: Logger

    private enum State {
        case idle
        case connecting(Task<Void, Never>)
        case open(WebSocketOutboundWriter, Task<Void, Never>)
        case closed(String)
    }

    private var state: State = .idle
    /// What a waiter gets: the connection opened (or failed), or a relay's `OK` (nil when none came).
    private enum Answer: Sendable {
        case opened(Result<Void, NostrError>)
        case ok((accepted: Bool, message: String)?)
    }

    /// Callers waiting: for the connection under the key "open", for an `OK` under "ok:" and the event id.
    private var waiters = Waiters<Answer>()
    private static let openKey = "open"
    private struct Subscription {
        let filters: [NostrFilter]
        var events = 0
        var bytes = 0
        let sink: AsyncStream<SubscriptionItem>.Continuation
    }

    private var subscriptions: [String: Subscription] = [:]
    /// Subscriptions waiting to be asked again once authenticated (at most once each).
    private var reauthenticating: Set<String> = []
    /// Whether this connection already answered an `AUTH` unasked: once per connection, so a relay cannot make it
    /// sign without end.
    private var answeredChallenge = false
    private var nextWaiter = 0
    /// Which socket is current: what an earlier one reports after it was replaced is ignored.
    private var generation = 0
    private var badMessages = 0
    private var challenge: String?
    private var authenticated = false

    init(url: String, configuration: RelayClientConfiguration, authKey: SchnorrKeyPair?, logger: Logger) {
        (self.url, self.configuration, self.authKey, self.logger) = (url, configuration, authKey, logger)
    }

    var isOpen: Bool { if case .open = state { true } else { false } }

    // MARK: Connecting

    /// Opens the connection unless it is open, waiting at most until `deadline`.
    func open(by deadline: ContinuousClock.Instant) async throws(NostrError) {
        switch state {
        case .open: return
        case .idle, .closed: start()
        case .connecting: break
        }
        let answer = await wait(
            key: Self.openKey, until: deadline,
            timeoutValue: .opened(.failure(NostrError("no connection before the deadline"))))
        guard case .opened(let result) = answer else { return }
        if case .failure = result, case .connecting(let task) = state {
            // A socket stuck in its handshake is let go, so the next call starts afresh.
            task.cancel()
            didClose("no connection before the deadline", generation: generation)
            generation += 1
        }
        try result.get()
    }

    private func start() {
        let url = url
        let configuration = configuration
        let logger = logger
        // The task holds the connection until the socket closes; the connection holds the task to cancel it.
        let connection = self
        generation += 1
        let current = generation
        let task = Task {
            let client = WebSocketClient(
                url: url,
                configuration: .init(
                    maxFrameSize: configuration.maximumFrameBytes,
                    autoPing: .enabled(timePeriod: configuration.pingInterval), validateUTF8: true),
                tlsConfiguration: configuration.tls, logger: logger
            ) { inbound, outbound, _ in
                guard await connection.didOpen(outbound, generation: current) else { return }
                for try await message in inbound.messages(maxSize: configuration.maximumFrameBytes) {
                    guard case .text(let text) = message else { continue }
                    guard await connection.receive(Array(text.utf8), generation: current) else { break }
                }
            }
            let reason: String
            do {
                try await client.run()
                reason = "the relay closed the connection"
            } catch {
                reason = Self.describe(error)
            }
            await connection.didClose(reason, generation: current)
        }
        state = .connecting(task)
    }

    /// False when this socket was replaced or closed meanwhile: it is then let go.
    private func didOpen(_ outbound: WebSocketOutboundWriter, generation: Int) -> Bool {
        guard generation == self.generation, case .connecting(let task) = state else { return false }
        state = .open(outbound, task)
        (badMessages, answeredChallenge, authenticated) = (0, false, false)
        waiters.resumeAll(key: Self.openKey, with: .opened(.success(())))
        return true
    }

    private func didClose(_ reason: String, generation: Int) {
        guard generation == self.generation else { return }
        state = .closed(reason)
        authenticated = false
        challenge = nil
        waiters.resumeAll(key: Self.openKey, with: .opened(.failure(NostrError(reason))))
        waiters.resumeAll(with: .ok(nil))
        for subscription in subscriptions.values {
            subscription.sink.yield(.ended(reason))
            subscription.sink.finish()
        }
        subscriptions.removeAll()
        reauthenticating.removeAll()
    }

    /// Closes the connection; waiters are released at once.
    func close() {
        switch state {
        case .open(let outbound, let task):
            Task { try? await outbound.close(.normalClosure, reason: nil) }
            task.cancel()
        case .connecting(let task):
            task.cancel()
        case .idle, .closed:
            break
        }
        didClose("closed by this client", generation: generation)
        generation += 1
    }

    // MARK: Sending

    private func send(_ message: ClientMessage) async throws(NostrError) {
        guard case .open(let outbound, _) = state else { throw NostrError("not connected") }
        do {
            try await outbound.write(.text(message.text))
        } catch {
            throw NostrError("the message could not be sent: \(Self.describe(error))")
        }
    }

    /// Publishes `event` and waits for the relay's `OK` until `deadline`. A relay that wants authentication first
    /// (`auth-required:`) is answered, when there is a key to answer with, and the event sent once more.
    func publish(_ event: NostrEvent, by deadline: ContinuousClock.Instant) async -> RelayPublishOutcome {
        do {
            try await open(by: deadline)
            var answer = try await sendAndAwaitOK(.event(event), id: event.idHex, by: deadline)
            // NIP-42 says `auth-required:`; some relays say `restricted:` for the same want.
            let wantsAuthentication = ["auth-required:", "restricted:"].contains { answer.message.hasPrefix($0) }
            if !answer.accepted, wantsAuthentication, try await authenticate(by: deadline) {
                answer = try await sendAndAwaitOK(.event(event), id: event.idHex, by: deadline)
            }
            return answer.accepted ? .accepted(relay: url) : .refused(relay: url, reason: answer.message)
        } catch {
            return .unreachable(relay: url, reason: error.description)
        }
    }

    private func sendAndAwaitOK(_ message: ClientMessage, id: String, by deadline: ContinuousClock.Instant)
        async throws(NostrError) -> (accepted: Bool, message: String)
    {
        try await send(message)
        guard case .ok(let ok) = await wait(key: "ok:" + id, until: deadline, timeoutValue: .ok(nil)), let answer = ok
        else {
            if case .closed(let reason) = state { throw NostrError(reason) }
            throw NostrError("no OK before the deadline")
        }
        return answer
    }

    /// Answers the relay's last `AUTH` challenge with the key this connection reads for; false when there is no key
    /// or no challenge, or the relay refused it. A relay that never answers an `AUTH` with an `OK` (some do not) is
    /// taken to have accepted it after a short wait.
    private func authenticate(by deadline: ContinuousClock.Instant) async throws(NostrError) -> Bool {
        guard let authKey, let challenge else { return false }
        let event = NostrKinds.authentication(
            relay: url, challenge: challenge, by: authKey, at: Int64(Clock.unixNow))
        do {
            let answer = try await sendAndAwaitOK(.auth(event), id: event.idHex, by: min(deadline, .now + .seconds(1)))
            authenticated = answer.accepted
        } catch {
            guard isOpen else { throw error }
            authenticated = true
        }
        return authenticated
    }

    /// Starts a subscription; what the relay sends for it (checked against `filters`) arrives on the stream.
    func subscribe(_ filters: [NostrFilter], id: String) async throws(NostrError) -> AsyncStream<SubscriptionItem> {
        let (stream, sink) = AsyncStream<SubscriptionItem>.makeStream(bufferingPolicy: .unbounded)
        subscriptions[id] = Subscription(filters: filters, sink: sink)
        do {
            try await send(.request(subscription: id, filters: filters))
        } catch {
            subscriptions.removeValue(forKey: id)
            throw error
        }
        return stream
    }

    /// Ends a subscription here and asks the relay to close it.
    func unsubscribe(_ id: String) async {
        guard let subscription = subscriptions.removeValue(forKey: id) else { return }
        subscription.sink.finish()
        try? await send(.close(subscription: id))
    }

    /// Asks again for a subscription the relay closed for want of authentication, once authenticated; ends it
    /// when authentication is refused.
    private func resubscribeAfterAuthentication(_ id: String) async {
        defer { reauthenticating.remove(id) }
        guard let subscription = subscriptions[id] else { return }
        guard (try? await authenticate(by: .now + .seconds(10))) == true else {
            subscriptions.removeValue(forKey: id)
            subscription.sink.yield(.ended("the relay wants authentication, and refused this key's"))
            subscription.sink.finish()
            return
        }
        try? await send(.request(subscription: id, filters: subscription.filters))
    }

    // MARK: Receiving

    /// Handles one frame from the relay; false when the connection is to be dropped (a relay that keeps breaking
    /// the protocol).
    private func receive(_ bytes: [UInt8], generation: Int) async -> Bool {
        guard generation == self.generation else { return false }
        let message: RelayMessage
        do {
            // An event for no subscription of this connection is not even checked: it costs only its reading.
            message = try RelayMessage.parse(bytes) { subscriptions[$0] != nil }
        } catch  where error == .unknownSubscription || error == .refusedContent {
            // Well formed, for nobody here or refused for its content (too large, too many tags): anyone can
            // publish such events, so they do not count against the relay.
            return true
        } catch {
            return countBadMessage()
        }
        switch message {
        case .event(let id, let event):
            guard var subscription = subscriptions[id] else { return true }
            // A relay that lies sends events nobody asked for: they are dropped, and count against it.
            guard subscription.filters.contains(where: { $0.matches(event) }) else { return countBadMessage() }
            subscription.events += 1
            subscription.bytes += bytes.count
            if subscription.events > configuration.maximumEventsPerSubscription
                || subscription.bytes > configuration.maximumBytesPerSubscription
            {
                subscription.sink.yield(
                    .ended(
                        "the relay sent more than \(configuration.maximumEventsPerSubscription) events or "
                            + "\(configuration.maximumBytesPerSubscription / 1_048_576) MiB"))
                subscription.sink.finish()
                subscriptions.removeValue(forKey: id)
                try? await send(.close(subscription: id))
                return true
            }
            subscriptions[id] = subscription
            subscription.sink.yield(.event(event))
        case .ok(let eventID, let accepted, let text):
            if eventID.isEmpty && !accepted {
                // A relay that refuses without saying which event (some do): every event waiting here is refused.
                waiters.resumeAll(keyPrefix: "ok:", with: .ok((accepted, text)))
            } else {
                waiters.resumeAll(key: "ok:" + eventID, with: .ok((accepted, text)))
            }
        case .endOfStoredEvents(let id):
            subscriptions[id]?.sink.yield(.endOfStoredEvents)
        case .closed(let id, let text):
            if text.hasPrefix("auth-required:"), authKey != nil, challenge != nil, subscriptions[id] != nil {
                if reauthenticating.insert(id).inserted { Task { await self.resubscribeAfterAuthentication(id) } }
                return true
            }
            if let subscription = subscriptions.removeValue(forKey: id) {
                subscription.sink.yield(.ended("the relay closed the subscription: \(text)"))
                subscription.sink.finish()
            }
        case .notice(let text):
            logger.debug("relay notice", metadata: ["relay": "\(url)", "notice": "\(text.prefix(200))"])
        case .auth(let newChallenge):
            challenge = newChallenge
            authenticated = false
            // Asked: answered once, at once, with the key this connection reads for, so what follows is not refused
            // first; a later challenge is answered when the relay refuses something for want of it.
            if let authKey, !answeredChallenge {
                answeredChallenge = true
                let event = NostrKinds.authentication(
                    relay: url, challenge: newChallenge, by: authKey, at: Int64(Clock.unixNow))
                try? await send(.auth(event))
            }
        }
        return true
    }

    /// Counts a message that breaks the protocol; false once the relay sent too many.
    private func countBadMessage() -> Bool {
        badMessages += 1
        logger.debug("ignored a message that breaks the protocol", metadata: ["relay": "\(url)"])
        return badMessages <= configuration.maximumBadMessages
    }

    // MARK: Waiting

    /// Suspends until the waiter under `key` is resumed, `deadline` passes, or the task is cancelled (then
    /// `timeoutValue`). Each waiter is resumed exactly once: whoever removes it from ``waiters`` resumes it.
    private func wait(key: String, until deadline: ContinuousClock.Instant, timeoutValue: Answer) async -> Answer {
        nextWaiter += 1
        let id = nextWaiter
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.resume(id, with: timeoutValue)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters.add(id, key: key, continuation)
            }
        } onCancel: {
            Task { await self.resume(id, with: timeoutValue) }
        }
    }

    private func resume(_ id: Int, with value: Answer) {
        waiters.resume(id: id, with: value)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NostrError { return error.description }
        if let error = error as? WebSocketClientError { return "\(error)" }
        if let error = error as? NIOSSLError { return "TLS failed: \(error)" }
        return "\(error)"
    }
}

/// Continuations waiting for something, each resumed exactly once: by the event it waits for, or its deadline.
struct Waiters<Value: Sendable> {
    private var pending: [Int: (key: String, continuation: CheckedContinuation<Value, Never>)] = [:]

    mutating func add(_ id: Int, key: String, _ continuation: CheckedContinuation<Value, Never>) {
        pending[id] = (key, continuation)
    }

    mutating func resume(id: Int, with value: Value) {
        pending.removeValue(forKey: id)?.continuation.resume(returning: value)
    }

    mutating func resumeAll(key: String, with value: Value) {
        for (id, waiter) in pending where waiter.key == key { resume(id: id, with: value) }
    }

    mutating func resumeAll(keyPrefix: String, with value: Value) {
        for (id, waiter) in pending where waiter.key.hasPrefix(keyPrefix) { resume(id: id, with: value) }
    }

    mutating func resumeAll(with value: Value) {
        let all = pending
        pending.removeAll()
        for waiter in all.values { waiter.continuation.resume(returning: value) }
    }
}

/// The time now in Unix seconds, as Nostr dates events.
enum Clock {
    static var unixNow: Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec
    }
}
