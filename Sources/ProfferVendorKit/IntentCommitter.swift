import ServiceLifecycle

/// Writes intents in groups: those that arrive while a transaction commits are stored together in the next one, so
/// under load one commit serves many requests instead of one each. Each caller still waits until its own intent is
/// committed.
///
/// SQLite has one writer, so one group is written at a time. PostgreSQL takes several transactions at once, and waits
/// on the network for each statement, so several groups are written at once (``VendorRecords/concurrentWrites``).
///
/// It runs as a service in the server's service group; intents submitted before it runs wait for it, and those still
/// waiting when it stops are answered with an error, never dropped silently.
public actor IntentCommitter: Service {
    private let records: any VendorRecords
    private var waiting: [(intent: IntentToStore, reply: CheckedContinuation<IntentStorage, any Error>)] = []
    private var writing = 0
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
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await _ in wakeups {
                    // The actor is free while groups are written: intents arriving meanwhile gather for the next.
                    while let batch = takeBatch() {
                        group.addTask { await self.commit(batch) }
                    }
                }
            } onGracefulShutdown: {
                self.wake.finish()
            }
        }
        stop()
    }

    /// The intents waiting, when a write may start now.
    private func takeBatch() -> [(intent: IntentToStore, reply: CheckedContinuation<IntentStorage, any Error>)]? {
        guard !waiting.isEmpty, writing < records.concurrentWrites else { return nil }
        let batch = waiting
        waiting = []
        writing += 1
        return batch
    }

    private func commit(
        _ batch: [(intent: IntentToStore, reply: CheckedContinuation<IntentStorage, any Error>)]
    ) async {
        do {
            let outcomes = try await records.storeIntents(batch.map(\.intent))
            for (waiter, outcome) in zip(batch, outcomes) { waiter.reply.resume(returning: outcome) }
        } catch {
            for waiter in batch { waiter.reply.resume(throwing: error) }
        }
        // Before the next group, and off the actor: the senders just answered send their next requests meanwhile,
        // and those are verified, signed and queued. A failure is tried again after the next group.
        try? await records.finishGroupCommit()
        writing -= 1
        if !waiting.isEmpty { wake.yield() }
    }

    private func stop() {
        stopped = true
        for waiter in waiting { waiter.reply.resume(throwing: CommitterStopped()) }
        waiting = []
    }
}

/// The server is stopping: an intent that arrives now is not stored.
struct CommitterStopped: Error {}
