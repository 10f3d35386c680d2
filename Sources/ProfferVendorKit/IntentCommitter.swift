import ServiceLifecycle

/// Writes intents in groups: those that arrive while a transaction commits are stored together in the next one, so
/// under load one commit serves many requests instead of one each. Each caller still waits until its own intent is
/// committed.
///
/// It runs as a service in the server's service group; intents submitted before it runs wait for it, and those still
/// waiting when it stops are answered with an error, never dropped silently.
public actor IntentCommitter: Service {
    private let records: any VendorRecords
    private var waiting: [(intent: IntentToStore, reply: CheckedContinuation<IntentStorage, any Error>)] = []
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private var stopped = false

    public init(records: any VendorRecords) {
        self.records = records
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Stores `intent` in the next group commit and returns what became of it.
    public func store(_ intent: IntentToStore) async throws -> IntentStorage {
        guard !stopped else { throw CommitterStopped() }
        return try await withCheckedThrowingContinuation { reply in
            waiting.append((intent, reply))
            wake.yield()
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await commitWaiting()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        stop()
    }

    private func commitWaiting() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            do {
                // The actor is free while this awaits: intents arriving meanwhile gather for the next commit.
                let outcomes = try await records.storeIntents(batch.map(\.intent))
                for (waiter, outcome) in zip(batch, outcomes) { waiter.reply.resume(returning: outcome) }
            } catch {
                for waiter in batch { waiter.reply.resume(throwing: error) }
            }
        }
    }

    private func stop() {
        stopped = true
        for waiter in waiting { waiter.reply.resume(throwing: CommitterStopped()) }
        waiting = []
    }
}

/// The server is stopping: an intent that arrives now is not stored.
struct CommitterStopped: Error {}
