import ProfferCrypto
import ProfferWire

/// A subscription filter (NIP-01): every condition given must hold.
public struct NostrFilter: Hashable, Sendable {
    public var ids: [String]?
    public var authors: [String]?
    public var kinds: [Int]?
    /// Tag conditions by single-letter name (`p` for `#p`), each any of its values.
    public var tags: [String: [String]]
    public var since: Int64?
    public var until: Int64?
    public var limit: Int?

    public init(
        ids: [String]? = nil, authors: [String]? = nil, kinds: [Int]? = nil, tags: [String: [String]] = [:],
        since: Int64? = nil, until: Int64? = nil, limit: Int? = nil
    ) {
        (self.ids, self.authors, self.kinds, self.tags) = (ids, authors, kinds, tags)
        (self.since, self.until, self.limit) = (since, until, limit)
    }

    /// Whether `event` meets the filter: a relay's answer is checked against what was asked, not trusted.
    public func matches(_ event: NostrEvent) -> Bool {
        if let ids, !ids.contains(event.idHex) { return false }
        if let authors, !authors.contains(event.author.hex) { return false }
        if let kinds, !kinds.contains(event.kind) { return false }
        for (name, values) in tags where !event.tagValues(name).contains(where: values.contains) { return false }
        if let since, event.createdAt < since { return false }
        if let until, event.createdAt > until { return false }
        return true
    }

    func appendJSON(to output: inout [UInt8]) {
        var members: [[UInt8]] = []
        func list(_ name: String, _ values: [String]) {
            var member = Array("\"\(name)\":".utf8)
            NostrJSON.appendStrings(values, to: &member, escaping: .json)
            members.append(member)
        }
        if let ids { list("ids", ids) }
        if let authors { list("authors", authors) }
        if let kinds { members.append(Array("\"kinds\":[\(kinds.map(String.init).joined(separator: ","))]".utf8)) }
        for (name, values) in tags.sorted(by: { $0.key < $1.key }) { list("#" + name, values) }
        if let since { members.append(Array("\"since\":\(since)".utf8)) }
        if let until { members.append(Array("\"until\":\(until)".utf8)) }
        if let limit { members.append(Array("\"limit\":\(limit)".utf8)) }
        output.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: member)
        }
        output.append(UInt8(ascii: "}"))
    }
}

/// What a client sends a relay (NIP-01, NIP-42).
public enum ClientMessage: Sendable {
    case event(NostrEvent)
    case request(subscription: String, filters: [NostrFilter])
    case close(subscription: String)
    case auth(NostrEvent)

    /// The message as the JSON text a WebSocket frame carries.
    public var text: String {
        var output: [UInt8] = []
        switch self {
        case .event(let event):
            output.append(contentsOf: "[\"EVENT\",".utf8)
            NostrJSON.appendObject(event, to: &output)
        case .auth(let event):
            output.append(contentsOf: "[\"AUTH\",".utf8)
            NostrJSON.appendObject(event, to: &output)
        case .request(let subscription, let filters):
            output.append(contentsOf: "[\"REQ\",".utf8)
            NostrJSON.appendString(subscription, to: &output, escaping: .json)
            for filter in filters {
                output.append(UInt8(ascii: ","))
                filter.appendJSON(to: &output)
            }
        case .close(let subscription):
            output.append(contentsOf: "[\"CLOSE\",".utf8)
            NostrJSON.appendString(subscription, to: &output, escaping: .json)
        }
        output.append(UInt8(ascii: "]"))
        return String(decoding: output, as: UTF8.self)
    }
}

/// What a relay sends a client (NIP-01, NIP-42), read strictly: anything else is refused.
public enum RelayMessage: Sendable {
    /// An event for a subscription, already checked: its id and signature hold.
    case event(subscription: String, NostrEvent)
    case ok(eventID: String, accepted: Bool, message: String)
    case endOfStoredEvents(subscription: String)
    case closed(subscription: String, message: String)
    case notice(String)
    case auth(challenge: String)

    /// The longest text a relay's message may carry in a reason, a subscription id or a challenge.
    static let maximumTextBytes = 2048

    /// Reads a relay's frame; an event in it is refused unless its id and signature hold.
    ///
    /// - Parameter isSubscribed: Whether a subscription id is one of the reader's: an event for another is refused
    ///   (``NostrError/unknownSubscription``) before it is checked, which costs a signature verification.
    public static func parse(_ bytes: [UInt8], isSubscribed: (String) -> Bool = { _ in true }) throws(NostrError)
        -> RelayMessage
    {
        let value: JSONValue
        do { value = try StrictJSON.parse(bytes) } catch { throw NostrError("not valid JSON: \(error)") }
        guard case .array(let items) = value, case .string(let type)? = items.first else {
            throw NostrError("not a JSON array starting with a message type")
        }
        func text(_ index: Int) throws(NostrError) -> String {
            guard index < items.count, case .string(let value) = items[index] else {
                throw NostrError("\(type) lacks a string at position \(index)")
            }
            guard value.utf8.count <= maximumTextBytes else { throw NostrError("\(type) carries a text too long") }
            return value
        }
        switch type {
        case "EVENT":
            guard items.count == 3 else { throw NostrError("EVENT has \(items.count) items, not 3") }
            let subscription = try text(1)
            guard isSubscribed(subscription) else { throw NostrError.unknownSubscription }
            // The event's own JSON is the frame less its envelope, `["EVENT","<id>",` and `]`.
            guard bytes.count - subscription.utf8.count - 13 <= NostrJSON.maximumEventBytes else {
                throw NostrError.refusedContent
            }
            return .event(subscription: subscription, try NostrJSON.event(from: items[2]))
        case "OK":
            guard items.count == 4, case .bool(let accepted) = items[2] else {
                throw NostrError("OK is not [\"OK\", id, true|false, message]")
            }
            return .ok(eventID: try text(1), accepted: accepted, message: try text(3))
        case "EOSE":
            return .endOfStoredEvents(subscription: try text(1))
        case "CLOSED":
            return .closed(subscription: try text(1), message: items.count > 2 ? try text(2) : "")
        case "NOTICE":
            return .notice(try text(1))
        case "AUTH":
            return .auth(challenge: try text(1))
        default:
            throw NostrError("unknown message type")
        }
    }
}
