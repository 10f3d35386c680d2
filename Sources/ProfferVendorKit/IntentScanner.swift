import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

/// Finds intents in any text stream (PROTOCOL.md §6.2, "In free text"), so a vendor needs no one platform: one post
/// per line, as plain text or as a JSON line whose `content` or `text` member holds the post (most channels' exports).
/// Reads in chunks, in constant memory; a line longer than ``maximumLineBytes`` is skipped and counted.
public struct IntentScanner {
    /// An intent found, parsed, at its line.
    public struct Found: Sendable {
        /// The 1-based line of the input it was found on.
        public let line: Int
        public let message: Message
        /// Whether the catalog has an item that answers it (false without a catalog).
        public let answerable: Bool
    }

    /// What a scan read and found.
    public struct Tally: Sendable, Encodable {
        public var lines = 0
        public var intents = 0
        /// Intents found that do not parse, by error code.
        public var unparsed: [String: Int] = [:]
        public var answerable = 0
        /// Lines longer than ``maximumLineBytes``, skipped.
        public var tooLong = 0
    }

    public static let maximumLineBytes = 1 << 20

    public private(set) var tally = Tally()
    private let catalog: Catalog?
    private var partial: [UInt8] = []
    private var skippingLongLine = false

    public init(catalog: Catalog? = nil) { self.catalog = catalog }

    /// Scans every line `chunk` completes, calling `found` for each intent that parses, in order.
    public mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>, _ found: (Found) -> Void) {
        var start = 0
        while start < chunk.count {
            guard let newline = Self.newline(in: chunk, from: start) else { break }
            let piece = UnsafeBufferPointer(rebasing: chunk[start..<newline])
            if skippingLongLine {
                skippingLongLine = false
            } else if partial.isEmpty {
                scanLine(piece, found)
            } else {
                partial.append(contentsOf: piece)
                let line = partial
                partial.removeAll(keepingCapacity: true)
                line.withUnsafeBufferPointer { scanLine($0, found) }
            }
            start = newline + 1
        }
        guard start < chunk.count, !skippingLongLine else { return }
        partial.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
        if partial.count > Self.maximumLineBytes {
            // Counted now; the rest of it, up to its newline, is skipped.
            tally.lines += 1
            tally.tooLong += 1
            partial.removeAll(keepingCapacity: true)
            skippingLongLine = true
        }
    }

    /// Scans the last line when the input did not end with a newline.
    public mutating func finish(_ found: (Found) -> Void) {
        guard !partial.isEmpty else { return }
        let line = partial
        partial.removeAll()
        line.withUnsafeBufferPointer { scanLine($0, found) }
    }

    private mutating func scanLine(_ raw: UnsafeBufferPointer<UInt8>, _ found: (Found) -> Void) {
        tally.lines += 1
        var line = raw
        if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        // Nearly every line holds no "#" at all: that is the whole cost of reading it.
        guard let base = line.baseAddress, memchr(base, 0x23, line.count) != nil else { return }
        let number = tally.lines
        if Self.isJSON(line) {
            guard let text = Self.postText(ofJSONLine: line) else { return }
            for result in FreeText.intents(in: text) { record(result, line: number, found) }
        } else {
            for (_, result) in FreeText.intents(in: line) { record(result, line: number, found) }
        }
    }

    private mutating func record(_ result: Result<Message, MessageError>, line: Int, _ found: (Found) -> Void) {
        tally.intents += 1
        switch result {
        case .success(let message):
            let answerable = catalog.map { !$0.matches(message).isEmpty } ?? false
            if answerable { tally.answerable += 1 }
            found(Found(line: line, message: message, answerable: answerable))
        case .failure(let error):
            tally.unparsed[error.code.description, default: 0] += 1
        }
    }

    private static func newline(in chunk: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = chunk.baseAddress, let hit = memchr(base + start, 0x0A, chunk.count - start) else {
            return nil
        }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether a line is a JSON object (its first byte after spaces is `{`).
    private static func isJSON(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.first { $0 != 0x20 && $0 != 0x09 } == UInt8(ascii: "{")
    }

    /// The post in a JSON line: its `content` member, else its `text` member, when a string.
    private static func postText(ofJSONLine line: UnsafeBufferPointer<UInt8>) -> String? {
        guard case .object(let members)? = try? StrictJSON.parse(line) else { return nil }
        for name in ["content", "text"] {
            if let value = members.first(where: { $0.0 == name })?.1, case .string(let text) = value { return text }
        }
        return nil
    }
}
