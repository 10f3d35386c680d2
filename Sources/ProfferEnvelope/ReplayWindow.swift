import Synchronization

/// Remembers which `(from, nonce)` pairs were seen, so a replayed envelope is refused (`replay`), in memory that
/// stays bounded under any load.
///
/// An entry is kept until its envelope would be refused as `stale` anyway (its `ts` plus the allowed clock skew), which
/// covers the spec's 600-second window: a copy that arrives later fails the earlier `stale` check. When `capacity`
/// fresh entries are held, nothing more can be admitted without forgetting a pair that could still be replayed, so
/// the window refuses with `busy` instead: it fails closed (schema/envelope.md).
public final class ReplayWindow: Sendable {
    public let capacity: Int
    private let state: Mutex<State>

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
    }

    struct State {
        var expiries: [Key: Int64] = [:]
        /// A binary min-heap of (expiry, key): the next entry to forget is always at the top.
        var heap: [(expiry: Int64, key: Key)] = []

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
            while let first = heap.first, first.expiry < now {
                let entry = popMinimum()
                if expiries[entry.key] == entry.expiry { expiries[entry.key] = nil }
            }
        }
    }

    /// - Parameter capacity: How many fresh pairs are remembered at most; at about 100 bytes each, the default
    ///   bounds the window near 100 MB while admitting over 1,700 envelopes a second for the whole window.
    public init(capacity: Int = 1_000_000) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(State())
    }

    /// How many pairs are remembered now.
    public var count: Int { state.withLock { $0.expiries.count } }

    /// Records the pair, or refuses it when it was seen while still fresh.
    ///
    /// - Parameters:
    ///   - freshUntil: When a copy of this envelope becomes `stale` (its `ts` plus the allowed skew).
    ///   - now: The receiver's clock.
    /// - Throws: ``ProtocolError`` `replay`, or `busy` when the window is full of fresh pairs.
    public func admit(sender: [UInt8], nonce: [UInt8], freshUntil: Timestamp, now: Timestamp) throws(ProtocolError) {
        let key = Key(sender: sender, nonce: nonce)
        let admitted: Bool? = state.withLock { state in
            state.forgetExpired(now: now.secondsSince1970)
            if state.expiries[key] != nil { return false }
            guard state.expiries.count < capacity else { return nil }
            state.expiries[key] = freshUntil.secondsSince1970
            state.push((freshUntil.secondsSince1970, key))
            return true
        }
        switch admitted {
        case .some(true): return
        case .some(false): throw ProtocolError(.replay, "this envelope (sender and nonce) was already received")
        case nil: throw ProtocolError(.busy, "too many envelopes in the last few minutes; retry later")
        }
    }
}
