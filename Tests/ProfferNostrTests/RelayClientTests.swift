import Foundation
import NIOSSL
import Synchronization
import Testing

@testable import ProfferCrypto
@testable import ProfferNostr
@testable import ProfferTestSupport

/// A relay of the tests' own that misbehaves as `mode` says (see hostile-relay.py), serving `events` where asked.
final class HostileRelay: Sendable {
    let server: BackgroundServer
    let folder: String
    var url: String { "ws://127.0.0.1:\(server.port)" }

    init(_ mode: String, events: [NostrEvent] = []) async throws {
        folder = "/tmp/proffer-hostile-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let eventsFile = folder + "/events.json"
        let list =
            "[" + events.map { String(decoding: NostrJSON.object($0), as: UTF8.self) }.joined(separator: ",") + "]"
        try Data(list.utf8).write(to: URL(fileURLWithPath: eventsFile))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "hostile-relay.py")
        let port = try BackgroundServer.freePort()
        server = try await BackgroundServer(
            "python3", [script.path, mode, String(port), eventsFile], port: port, logPath: folder + "/relay.log")
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// Events a listener got, collected from its task.
final class ListenedEvents: Sendable {
    let events = Mutex<[NostrEvent]>([])
}

@Suite("The relay client: deadlines kept and nothing forged taken, whatever a relay does")
struct RelayClientTests {
    let key: SchnorrKeyPair
    let events: [NostrEvent]

    init() throws {
        let key = try SchnorrKeyPair.generate()
        self.key = key
        events = (0..<3).map { NostrEvent.signed(kind: 1, content: "note \($0)", createdAt: now - Int64($0), by: key) }
    }

    /// Runs `body` and checks it returned within `limit`: its deadline plus room for a machine whose two cores other
    /// tests keep busy (everything here shares the concurrency pool with them). A relay that held the caller past its
    /// deadline would hold it for good: the silent relay never answers at all.
    func timed<T>(within limit: Duration, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        let result = try await body()
        let took = ContinuousClock.now - start
        #expect(took < limit, "took \(took), more than \(limit)")
        return result
    }

    @Test(
        "a silent, mute or dripping relay costs the deadline and no more",
        arguments: ["silent", "mute", "drip"])
    func slowRelays(mode: String) async throws {
        let relay = try await HostileRelay(mode)
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let outcomes = await timed(within: .seconds(30)) {
            await pool.publish(events[0], within: .seconds(3))
        }
        guard case .unreachable? = outcomes.first else {
            Issue.record("\(outcomes)")
            return
        }
        let fetched = await timed(within: .seconds(30)) {
            await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(3))
        }
        #expect(fetched.events.isEmpty)
        #expect(fetched.problems[relay.url] != .some(nil), "a relay that never said EOSE did not send all it had")
    }

    @Test(
        "a relay that sends bad JSON, wrong ids, forged signatures or events nobody asked for gives nothing forged",
        arguments: ["badjson", "wrongid", "forgedsig", "unasked"])
    func lyingRelays(mode: String) async throws {
        let stranger = try SchnorrKeyPair.generate()
        let unasked = NostrEvent.signed(kind: 1, content: "not asked for", createdAt: now, by: stranger)
        let relay = try await HostileRelay(mode, events: events + [unasked])
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let fetched = await timed(within: .seconds(75)) {
            await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(60))
        }
        #expect(fetched.events.allSatisfy { $0.isAuthentic && $0.author == key.publicKey })
        switch mode {
        case "unasked": #expect(Set(fetched.events) == Set(events), "the honest events, and not the one not asked for")
        default: #expect(fetched.events.isEmpty, "\(fetched.events)")
        }
    }

    @Test("events anyone may publish but Proffer refuses (a tag of 65 strings) do not cut the relay off")
    func refusedContentIsNotHeldAgainstTheRelay() async throws {
        let junk = (0..<80).map {
            NostrEvent.signed(
                kind: 1, tags: [Array(repeating: "x", count: 65)], content: "junk \($0)", createdAt: now, by: key)
        }
        let relay = try await HostileRelay("unasked", events: junk + events)
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let fetched = await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(60))
        #expect(Set(fetched.events) == Set(events), "\(fetched.problems)")
        #expect(fetched.problems[relay.url] == .some(nil))
    }

    @Test("a flooding relay: 10,000 events are cut at the subscription's limit, quickly, and nothing crashes")
    func flood() async throws {
        let relay = try await HostileRelay("flood", events: events)
        var configuration = RelayClientConfiguration()
        configuration.maximumEventsPerSubscription = 500
        let pool = RelayPool(relays: [relay.url], configuration: configuration)
        defer { Task { await pool.close() } }
        let fetched = await timed(within: .seconds(75)) {
            await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(60))
        }
        #expect(fetched.events == [events[0]], "one event however many times it came")
        let problem = fetched.problems[relay.url] ?? nil
        #expect(problem?.contains("more than 500 events") == true, "\(String(describing: problem))")
    }

    @Test("a relay that disconnects, refuses, or sends a frame too large is reported as such, within the deadline")
    func refusingRelays() async throws {
        for mode in ["disconnect", "okfalse", "bigframe"] {
            let relay = try await HostileRelay(mode)
            let pool = RelayPool(relays: [relay.url])
            let outcomes = await timed(within: .seconds(30)) { await pool.publish(events[0], within: .seconds(3)) }
            switch (mode, outcomes.first) {
            case ("okfalse", .refused(_, let reason)?): #expect(reason == "blocked: not today")
            case ("disconnect", .unreachable?), ("bigframe", .unreachable?): break
            default: Issue.record("\(mode): \(outcomes)")
            }
            await pool.close()
        }
    }

    @Test("several relays at once: one good, one gone, one lying: each has its outcome, the good one its events")
    func severalRelays() async throws {
        let good = try await NostrTestRelay.shared()
        let liar = try await HostileRelay("forgedsig", events: events)
        let gone = "ws://127.0.0.1:\(try BackgroundServer.freePort())"
        let pool = RelayPool(relays: [good.url, liar.url, gone, good.url])
        defer { Task { await pool.close() } }
        #expect(pool.relays.count == 3, "the same relay named twice is used once")
        for event in events {
            let outcomes = await timed(within: .seconds(75)) { await pool.publish(event, within: .seconds(60)) }
            #expect(outcomes.count == 3)
            #expect(outcomes.first { $0.relay == good.url }?.isAccepted == true, "\(outcomes)")
            #expect(outcomes.first { $0.relay == liar.url }?.isAccepted == true, "it says OK to anything: \(outcomes)")
            guard case .unreachable? = outcomes.first(where: { $0.relay == gone }) else {
                Issue.record("\(outcomes)")
                return
            }
        }
        let fetched = await pool.fetch([NostrFilter(authors: [key.publicKey.hex])], within: .seconds(60))
        #expect(Set(fetched.events) == Set(events))
        #expect(fetched.problems[good.url] == .some(nil))
        #expect(fetched.problems[gone] != .some(nil))
    }

    @Test("listening: live events arrive once each, and a relay that goes away is asked again after it comes back")
    func listening() async throws {
        let relay = try await NostrTestRelay()
        let pool = RelayPool(relays: [relay.url])
        defer { Task { await pool.close() } }
        let stream = pool.listen([NostrFilter(authors: [key.publicKey.hex])])
        let received = ListenedEvents()
        let consumer = Task { for await event in stream { received.events.withLock { $0.append(event) } } }
        defer { consumer.cancel() }
        /// Waits until `count` events arrived, for at most `seconds`.
        func arrived(_ count: Int, within seconds: Int) async throws -> [NostrEvent] {
            for _ in 0..<(seconds * 10) where received.events.withLock({ $0.count }) < count {
                try await Task.sleep(for: .milliseconds(100))
            }
            return received.events.withLock { $0 }
        }
        let publisher = RelayPool(relays: [relay.url])
        defer { Task { await publisher.close() } }
        try await Task.sleep(for: .milliseconds(500))
        for event in events + events { _ = await publisher.publish(event, within: .seconds(60)) }
        #expect(Set(try await arrived(3, within: 20)) == Set(events))
        // The relay goes away and comes back: the listener asks again, and what was published meanwhile arrives.
        relay.stop()
        try await Task.sleep(for: .seconds(1))
        try await relay.start()
        let later = NostrEvent.signed(kind: 1, content: "after the restart", createdAt: now, by: key)
        let fresh = RelayPool(relays: [relay.url])
        defer { Task { await fresh.close() } }
        #expect(await fresh.publish(later, within: .seconds(60)).allSatisfy(\.isAccepted))
        let all = try await arrived(4, within: 30)
        #expect(all.count == 4 && all.last == later, "\(all)")
    }

    @Test("NIP-42: a relay that wants authentication is answered with the key the connection reads for")
    func authentication() async throws {
        let relay = try await NostrTestRelay(writers: [key.publicKey.hex])
        let anonymous = RelayPool(relays: [relay.url])
        defer { Task { await anonymous.close() } }
        let refused = await anonymous.publish(events[0], within: .seconds(60))
        #expect(!(refused.first?.isAccepted ?? true), "\(refused) \(relay.log)")
        let authenticated = RelayPool(relays: [relay.url], authKey: key)
        defer { Task { await authenticated.close() } }
        let outcomes = await authenticated.publish(events[0], within: .seconds(60))
        #expect(outcomes.first?.isAccepted == true, "\(outcomes) \(relay.log)")
    }
}
