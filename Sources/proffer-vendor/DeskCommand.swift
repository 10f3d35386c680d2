import ArgumentParser
import Foundation
import Logging
import ProfferVendorKit
import ProfferWire

extension ProfferVendor {
    struct Desk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The vendor's desk: see the demand your vendor received, and what it did with it.",
            subcommands: [Intents.self])
    }
}

/// Where the desk reads the vendor's records: the same `--data` and `--database` as `serve`.
struct DeskRecordOptions: ParsableArguments {
    @Option(help: "The vendor's folder (as serve --data); its records unless --database is given.")
    var data: String

    @Option(
        help: ArgumentHelp(
            "The vendor's PostgreSQL records (as serve --database). Default: $PROFFER_VENDOR_DATABASE, else vendor.db "
                + "in --data.",
            valueName: "url"))
    var database: String?

    /// The intents received since `since`, from the records, while the vendor may be running.
    func intents(since: Int64) async throws -> [DeskIntent] {
        guard let url = database ?? ProcessInfo.processInfo.environment["PROFFER_VENDOR_DATABASE"] else {
            return try SQLiteRecords.deskIntents(folder: data, since: since)
        }
        var logger = Logger(label: "proffer-vendor.desk")
        logger.logLevel = .error
        let records = PostgresRecords(location: try PostgresLocation(url: url), logger: logger)
        return try await withThrowingTaskGroup(of: [DeskIntent]?.self) { group in
            group.addTask {
                try await records.run()
                return nil
            }
            group.addTask { try await records.deskIntents(since: since) }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let intents = next { return intents }
            }
            return []
        }
    }
}

extension ProfferVendor.Desk {
    struct Intents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every intent received, with what the vendor did: held, answered, or unmatched and why.",
            discussion: """
                Lists each intent with its category, price range, quantity, region, terms, how it came (http, or \
                nostr for a public intent) and what the vendor did: held for you to price by hand (an item with \
                "answer": "hold", or worth more than the catalog's hold_above), answered (with its offers), or unmatched with \
                the reason (kind, category, region, currency, stock, price, terms or fields: no item matches every \
                field). Grouped by what was done; within each group the most valuable (quantity × max) and the most \
                urgent (by:) come first. #fix intents are complaints and repair requests, and say so. Reads the \
                records while the vendor runs, and changes nothing.
                """)

        @OptionGroup var records: DeskRecordOptions

        @Option(help: ArgumentHelp("Only intents received in this last span, such as 7d or 12h.", valueName: "span"))
        var since: String?

        @Option(help: ArgumentHelp("Only intents in this state: held, answered or unmatched.", valueName: "state"))
        var state: String?

        @Flag(help: "Write JSON.") var json = false

        func validate() throws {
            if let since, TimeSpan(since) == nil { throw ValidationError("--since \"\(since)\" is not like 7d or 12h") }
            if let state, !["held", "answered", "unmatched"].contains(state) {
                throw ValidationError("--state is held, answered or unmatched")
            }
        }

        func run() async throws {
            let now = Int64(Date().timeIntervalSince1970)
            let since = self.since.flatMap(TimeSpan.init).map { now - Int64($0.seconds) } ?? 0
            let found: [DeskIntent]
            do {
                found = try await records.intents(since: since)
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
            let rows = DeskRow.ordered(found.compactMap(DeskRow.init)).filter { state == nil || $0.state == state }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                Console.output(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            guard !rows.isEmpty else {
                return Console.output(
                    since > 0 || state != nil ? "no intents match" : "no intents received yet")
            }
            DeskTable.print(
                ["RECEIVED", "INTENT", "KIND", "CATEGORY", "PRICE", "QTY", "REGION", "TERMS", "BY", "VIA", "DONE"],
                rows.map(\.cells))
        }
    }
}

/// One intent as the desk shows it: what was asked, how, and what the vendor did.
struct DeskRow: Encodable {
    let id: String
    let received: Date
    let kind: String
    /// A `#fix`: a complaint or a repair request.
    let complaint: Bool
    let category: String
    let min: String?
    let max: String?
    let qty: Int
    let regions: [String]
    let terms: [String]
    let by: String?
    let transport: String
    /// `held`, `answered` or `unmatched` (`unknown` for intents kept before the vendor recorded it).
    let state: String
    /// Why an unmatched intent got no offer.
    let reason: String?
    let offers: [String]
    /// Quantity × max, in thousandths of the max's currency (0 without a max): how much the intent is worth.
    let value: Int64
    let message: String

    init?(_ intent: DeskIntent) {
        guard let message = try? Message.parse(intent.canonical), let category = message.category else { return nil }
        id = intent.id
        received = Date(timeIntervalSince1970: TimeInterval(intent.receivedAt))
        kind = message.kind.rawValue
        complaint = message.kind == .fix
        self.category = category.description
        (min, max) = (message.min?.description, message.max?.description)
        qty = message.qty?.value ?? 1
        regions = message.regions.map { $0.map(\.description) } ?? []
        terms = message.terms.map { $0.map(\.description) } ?? []
        by = message.by?.description
        transport = intent.transport.rawValue
        state = intent.handling?.state ?? "unknown"
        reason = intent.handling?.reason
        offers = intent.offerIDs
        value = Int64(qty) * (message.max?.thousandths ?? 0)
        self.message = intent.canonical.withoutHiddenText
    }

    /// Held first (they wait for the vendor), then answered, then unmatched; within each, the most valuable, then the most urgent, then the newest.
    static func ordered(_ rows: [DeskRow]) -> [DeskRow] {
        let rank = ["held": 0, "answered": 1, "unmatched": 2, "unknown": 3]
        return rows.sorted { a, b in
            if a.state != b.state { return rank[a.state, default: 3] < rank[b.state, default: 3] }
            if a.value != b.value { return a.value > b.value }
            if a.by != b.by { return (a.by ?? "~") < (b.by ?? "~") }
            return a.received > b.received
        }
    }

    var cells: [String] {
        let price: String
        switch (min, max) {
        case (let low?, let high?): price = "\(low)–\(high)"
        case (nil, let high?): price = "≤ \(high)"
        case (let low?, nil): price = "≥ \(low)"
        case (nil, nil): price = "-"
        }
        let done =
            state == "answered"
            ? "answered: \(offers.count) offer\(offers.count == 1 ? "" : "s")"
            : state == "unmatched"
                ? "unmatched: \(reason ?? "?")"
                : state == "held"
                    ? (transport == "http" ? "held (declined over http: it cannot be answered later)" : "held") : "-"
        return [
            DeskTable.shortDate(received), id, complaint ? "fix (complaint)" : kind, category, price, String(qty),
            regions.joined(separator: ",").nonEmptyOrDash, terms.joined(separator: ",").nonEmptyOrDash, by ?? "-",
            transport, done,
        ]
    }
}

enum DeskTable {
    /// Columns aligned by their widest cell, two spaces apart.
    static func print(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows.map { $0.map(\.withoutHiddenText) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = Swift.max(widths[index], cell.count) }
        }
        for row in all {
            var line = ""
            for (index, cell) in row.enumerated() {
                line +=
                    index == row.count - 1
                    ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }
            Console.output(line)
        }
    }

    static func shortDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }
}

extension String {
    var nonEmptyOrDash: String { isEmpty ? "-" : self }
}
