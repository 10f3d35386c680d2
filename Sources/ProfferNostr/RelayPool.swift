import Logging
import ProfferCrypto

/// What fetching from several relays gave: the events (each checked, once however many relays sent it) and how each
/// relay did.
public struct RelayFetchResult: Sendable {
    /// Events matching the filters, id and signature checked, deduplicated, newest first.
    public let events: [NostrEvent]
    /// Per relay: `nil` when it sent all it had (`EOSE`), else why it stopped (unreachable, closed, flooded, the
    /// deadline).
    public let problems: [String: String?]
}

/// Several relays used at once, each over its own connection: publish to all, fetch from all, listen to all. Relays
/// are untrusted: one that lies, floods, drips or disconnects costs time within the deadline, never correctness.
public final class RelayPool: Sendable {
    public let relays: [String]
    private let connections: [RelayConnection]
    private let configuration: RelayClientConfiguration

    /// - Parameter authKey: The key to answer NIP-42 `AUTH` with (the key the connections read for), if any.
    public init(
        relays: [String], configuration: RelayClientConfiguration = .init(), authKey: SchnorrKeyPair? = nil,
        logger: Logger = Logger(label: "proffer.nostr")
    ) {
        let unique = relays.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        self.relays = unique
        self.configuration = configuration
        connections = unique.map {
            RelayConnection(url: $0, configuration: configuration, authKey: authKey, logger: logger)
        }
    }

    /// Publishes `event` to every relay at once, each answering within `timeout`.
    public func publish(_ event: NostrEvent, within timeout: Duration) async -> [RelayPublishOutcome] {
        let deadline = ContinuousClock.now + timeout
        return await withTaskGroup(of: RelayPublishOutcome.self) { group in
            for connection in connections {
                group.addTask { await connection.publish(event, by: deadline) }
            }
            var outcomes: [RelayPublishOutcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.relay < $1.relay }
        }
    }

    /// The stored events matching `filters` from every relay, until each says it sent all (`EOSE`) or `timeout`.
    public func fetch(_ filters: [NostrFilter], within timeout: Duration) async -> RelayFetchResult {
        let deadline = ContinuousClock.now + timeout
        let perRelay = await withTaskGroup(of: (String, [NostrEvent], String?).self) { group in
            for connection in connections {
                group.addTask { await Self.fetch(filters, from: connection, by: deadline) }
            }
            var results: [(String, [NostrEvent], String?)] = []
            for await result in group { results.append(result) }
            return results
        }
        var seen = Set<[UInt8]>()
        var events: [NostrEvent] = []
        var problems: [String: String?] = [:]
        for (relay, relayEvents, problem) in perRelay {
            problems[relay] = .some(problem)
            for event in relayEvents where seen.insert(event.id).inserted { events.append(event) }
        }
        events.sort { $0.createdAt > $1.createdAt }
        return RelayFetchResult(events: events, problems: problems)
    }

    /// Like ``fetch(_:within:)`` for one filter, paging back with `until` for as long as older events keep coming:
    /// relays cap how many events one request returns (often a few thousand), so a flood of newer events must not hide
    /// older ones. Stops at `maximumEvents`, at the filter's `since`, or at the deadline.
    public func fetchPaging(_ filter: NostrFilter, within timeout: Duration, maximumEvents: Int = 50_000) async
        -> RelayFetchResult
    {
        let deadline = ContinuousClock.now + timeout
        var seen = Set<[UInt8]>()
        var events: [NostrEvent] = []
        var problems: [String: String?] = [:]
        var page = filter
        while ContinuousClock.now < deadline, events.count < maximumEvents {
            let result = await fetch([page], within: deadline - .now)
            for (relay, problem) in result.problems where problems[relay] == nil || problem != nil {
                problems[relay] = problem
            }
            let fresh = result.events.filter { seen.insert($0.id).inserted }
            events += fresh
            guard let oldest = result.events.map(\.createdAt).min() else { break }
            if let since = filter.since, oldest <= since { break }
            if fresh.isEmpty {
                // Only events read before: the end, or a run sharing one second that fills a relay's page. The run
                // is stepped over once (what shares that second beyond the page is lost), then paging goes on.
                guard page.until == oldest, oldest > 0 else { break }
                page.until = oldest - 1
            } else {
                page.until = oldest
            }
        }
        events.sort { $0.createdAt > $1.createdAt }
        return RelayFetchResult(events: events, problems: problems)
    }

    private static func fetch(
        _ filters: [NostrFilter], from connection: RelayConnection, by deadline: ContinuousClock.Instant
    )
        async -> (String, [NostrEvent], String?)
    {
        let relay = connection.url
        let id = SubscriptionID.make()
        let stream: AsyncStream<SubscriptionItem>
        do {
            try await connection.open(by: deadline)
            stream = try await connection.subscribe(filters, id: id)
        } catch {
            return (relay, [], error.description)
        }
        // The stream ends at EOSE, when the relay ends it, or at the deadline, whichever comes first.
        let collected = await withTaskGroup(of: ([NostrEvent], String?)?.self) { group in
            group.addTask {
                var events: [NostrEvent] = []
                for await item in stream {
                    switch item {
                    case .event(let event): events.append(event)
                    case .endOfStoredEvents: return (events, nil)
                    case .ended(let reason): return (events, reason)
                    }
                }
                return (events, "the subscription ended")
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await connection.unsubscribe(id)
        return (
            relay, collected?.0 ?? [], collected == nil ? "not all stored events before the deadline" : collected?.1
        )
    }

    /// Events matching `filters` from every relay as they arrive, each once, until the consumer stops reading. A
    /// relay that drops the connection is asked again after a wait that doubles each time (1 s up to 60 s), from the
    /// time of the last event it sent, less `replayMargin` (gift wraps are backdated).
    public func listen(_ filters: [NostrFilter], replayMargin: Int64 = GiftWrap.backdating) -> AsyncStream<NostrEvent> {
        let (stream, sink) = AsyncStream<NostrEvent>.makeStream(bufferingPolicy: .bufferingOldest(10_000))
        let seen = SeenEvents()
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for connection in connections {
                    group.addTask {
                        await Self.listen(filters, on: connection, replayMargin: replayMargin) { event in
                            guard await seen.insert(event.id) else { return }
                            // A reader too slow for the flood loses events here: forget them as seen, so another
                            // relay's copy, or a later asking, still delivers them.
                            if case .dropped = sink.yield(event) { await seen.remove(event.id) }
                        }
                    }
                }
            }
            sink.finish()
        }
        sink.onTermination = { _ in task.cancel() }
        return stream
    }

    private static func listen(
        _ filters: [NostrFilter], on connection: RelayConnection, replayMargin: Int64,
        deliver: @Sendable (NostrEvent) async -> Void
    ) async {
        var backoff: Duration = .seconds(1)
        var latest: Int64?
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let id = SubscriptionID.make()
            let asked = filters.map { filter in
                var filter = filter
                if let latest { filter.since = max(filter.since ?? 0, latest - replayMargin) }
                return filter
            }
            do {
                try await connection.open(by: .now + .seconds(20))
                let stream = try await connection.subscribe(asked, id: id)
                for await item in stream {
                    guard case .event(let event) = item else { continue }
                    // An event's own date is the relay's or its author's word: never later than now.
                    let dated = min(event.createdAt, Int64(Clock.unixNow))
                    latest = max(latest ?? dated, dated)
                    await deliver(event)
                }
            } catch {
                // Unreachable: wait and try again.
            }
            await connection.unsubscribe(id)
            guard !Task.isCancelled else { break }
            // The wait grows while the relay keeps failing quickly (down, or flooding), and starts again after a
            // subscription that lasted.
            if ContinuousClock.now - started > .seconds(120) { backoff = .seconds(1) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(60))
        }
    }

    /// Closes every connection.
    public func close() async {
        for connection in connections { await connection.close() }
    }
}

/// Event ids already delivered by a listener: the latest 100,000, so a flood cannot grow it without end.
private actor SeenEvents {
    private static let capacity = 100_000
    private var ids = Set<[UInt8]>()
    private var order: [[UInt8]] = []
    private var oldest = 0

    func insert(_ id: [UInt8]) -> Bool {
        guard ids.insert(id).inserted else { return false }
        order.append(id)
        if ids.count > Self.capacity {
            ids.remove(order[oldest])
            oldest += 1
            if oldest > Self.capacity {
                order.removeFirst(oldest)
                oldest = 0
            }
        }
        return true
    }

    func remove(_ id: [UInt8]) { ids.remove(id) }
}

/// Random subscription ids, so two subscriptions never collide on one connection.
enum SubscriptionID {
    static func make() -> String { Hex.encode(SecureRandom.bytes(8)) }
}
