import Synchronization

/// Remembers which `(from, nonce)` pairs were seen, so a replayed envelope is refused (`replay`), in memory that
/// stays bounded under any load.
///
/// An entry is kept until its envelope would be refused as `stale` anyway (its `ts` plus the allowed clock skew), which
/// covers the spec's 600-second window: a copy that arrives later fails the earlier `stale` check.
///
/// Two bounds keep one sender from crowding out the others: each sender may hold at most `perSender` fresh pairs
/// (past that its envelopes are refused with `too-many`, and only its own), and all senders together at most
/// `capacity`. What happens at `capacity` depends on whether this window is the only one (schema/envelope.md): it
/// refuses with `busy` (fails closed), or, in front of a durable window that catches every replay anyway, it forgets
/// its oldest pair, so a flood of fresh keys cannot make the receiver busy for everyone.
public final class ReplayWindow: Sendable {
    public let capacity: Int
    public let perSender: Int
    public let whenFull: WhenFull
    private let state: Mutex<State>

    /// What a full window does with one more fresh pair.
    public enum WhenFull: Sendable {
        /// Refuse it (`busy`): the right answer when nothing else remembers pairs.
        case refuse
        /// Forget the pair nearest its expiry: only for a window backed by a durable one.
        case forgetOldest
    }

    struct SenderKey: Hashable {
        var words: (UInt64, UInt64, UInt64, UInt64)

        static func == (lhs: SenderKey, rhs: SenderKey) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
        }
    }

    struct Key: Hashable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        init(sender: [UInt8], nonce: [UInt8]) {
            var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyBytes(from: sender.prefix(32))
                UnsafeMutableRawBufferPointer(rebasing: raw[32...]).copyBytes(from: nonce.prefix(16))
            }
            self.words = words
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4 && lhs.words.5 == rhs.words.5
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.4)
            hasher.combine(words.5)
        }

        var sender: SenderKey { SenderKey(words: (words.0, words.1, words.2, words.3)) }
    }

    struct State {
        var expiries: [Key: Int64] = [:]
        /// A binary min-heap of (expiry, key): the next entry to forget is always at the top.
        var heap: [(expiry: Int64, key: Key)] = []
        /// How many fresh pairs each sender holds.
        var perSender: [SenderKey: Int] = [:]

        mutating func insert(_ key: Key, expiry: Int64) {
            expiries[key] = expiry
            perSender[key.sender, default: 0] += 1
            push((expiry, key))
        }

        /// Removes the entry at the top of the heap; `false` when it was outdated (its pair is kept, or gone).
        mutating func removeMinimum() -> Bool {
            let entry = popMinimum()
            guard expiries[entry.key] == entry.expiry else { return false }
            expiries[entry.key] = nil
            let sender = entry.key.sender
            let remaining = (perSender[sender] ?? 1) - 1
            perSender[sender] = remaining > 0 ? remaining : nil
            return true
        }

        mutating func push(_ entry: (expiry: Int64, key: Key)) {
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].expiry < heap[parent].expiry else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        mutating func popMinimum() -> (expiry: Int64, key: Key) {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    let right = left + 1
                    var smallest = parent
                    if left < heap.count, heap[left].expiry < heap[smallest].expiry { smallest = left }
                    if right < heap.count, heap[right].expiry < heap[smallest].expiry { smallest = right }
                    guard smallest != parent else { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return top
        }

        mutating func forgetExpired(now: Int64) {
            while let first = heap.first, first.expiry < now { _ = removeMinimum() }
        }

        mutating func forgetOldest() {
            while !heap.isEmpty, !removeMinimum() {}
        }
    }

    /// - Parameters:
    ///   - capacity: How many fresh pairs are remembered at most; at about 100 bytes each, the default bounds the
    ///     window near 100 MB while admitting over 1,700 envelopes a second for the whole window.
    ///   - perSender: How many fresh pairs one sender may hold: far more than a person's agent sends in ten minutes.
    ///   - whenFull: What to do at `capacity`.
    public init(capacity: Int = 1_000_000, perSender: Int = 1_000, whenFull: WhenFull = .refuse) {
        precondition(capacity > 0 && perSender > 0)
        self.capacity = capacity
        self.perSender = perSender
        self.whenFull = whenFull
        state = Mutex(State())
    }

    /// How many pairs are remembered now.
    public var count: Int { state.withLock { $0.expiries.count } }

    /// Records the pair, or refuses it when it was seen while still fresh.
    ///
    /// - Parameters:
    ///   - freshUntil: When a copy of this envelope becomes `stale` (its `ts` plus the allowed skew).
    ///   - now: The receiver's clock.
    /// - Throws: ``ProtocolError`` `replay`; `too-many` when this sender holds `perSender` fresh pairs; `busy` when
    ///   the window is full of fresh pairs and refuses when full.
    public func admit(sender: [UInt8], nonce: [UInt8], freshUntil: Timestamp, now: Timestamp) throws(ProtocolError) {
        let key = Key(sender: sender, nonce: nonce)
        let refusal: ProtocolError? = state.withLock { state in
            state.forgetExpired(now: now.secondsSince1970)
            if state.expiries[key] != nil {
                return ProtocolError(.replay, "this envelope (sender and nonce) was already received")
            }
            guard state.perSender[key.sender, default: 0] < perSender else {
                return ProtocolError(
                    .tooMany, "this key sent \(perSender) envelopes in the last few minutes; wait before sending more")
            }
            if state.expiries.count >= capacity {
                guard whenFull == .forgetOldest else {
                    return ProtocolError(.busy, "too many envelopes in the last few minutes; retry later")
                }
                state.forgetOldest()
            }
            state.insert(key, expiry: freshUntil.secondsSince1970)
            return nil
        }
        if let refusal { throw refusal }
    }
}
