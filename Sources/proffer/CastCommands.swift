import ArgumentParser
import Foundation
import ProfferAgent
import ProfferNostr
import ProfferVault
import ProfferWire
import Synchronization

extension IntentCommand {
    struct Cast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Cast an intent in public, on Nostr relays, for vendors you do not know yet to answer in private.",
            discussion: """
                The intent gets an id of its own and a key made for it alone (derived from your vault's secret, so a \
                restored backup still reads its answers). Its post, the intent with a reply: field naming that key \
                and the relays, is published to --relay (else the setting nostr.relays) and printed: paste the line \
                anywhere else too. Anyone can read it; offers, counters and your data travel encrypted, and your \
                data only when you accept. Exits 0 when a relay took it, 69 when none did (run it again to retry \
                the same post).

                With --wait, it then shows the answers that arrive in that time; later ones are read by \
                `proffer inbox`.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent's id, or its start.", completion: VaultCompletion.intents) var id: String
        @Option(
            name: .customLong("relay"),
            help: ArgumentHelp("A relay to cast to (repeat for up to 3; default: nostr.relays).", valueName: "url"))
        var relays: [String] = []
        @Option(help: ArgumentHelp("Seconds each relay has to take the post.", valueName: "seconds"))
        var timeout: Int = 10
        @Option(help: ArgumentHelp("Then wait this long for answers, and show them.", valueName: "seconds"))
        var wait: Int?
        @Flag(help: "Write JSON.") var json = false

        struct Output: Encodable {
            let intent: String
            let publicID: String
            let line: String
            let relays: [RelayOutcome]
            let answers: [InboxListing]?
        }

        struct RelayOutcome: Encodable {
            let relay: String
            let outcome: String
            let reason: String?
        }

        func printRelays(_ outcomes: [RelayOutcome], again: Bool) {
            printTable(
                ["RELAY", "OUTCOME"],
                outcomes.map { relay in [relay.relay, relay.reason.map { "\(relay.outcome): \($0)" } ?? relay.outcome] }
            )
            if again { standardOutput.write(line: "(cast before: the same post was published again)") }
        }

        func validate() throws {
            guard (1...600).contains(timeout) else { throw ValidationError("--timeout is 1 to 600 seconds") }
            if let wait, !(1...600).contains(wait) { throw ValidationError("--wait is 1 to 600 seconds") }
        }

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let outcome = try await agent.cast(intentID: id, relays: relays, timeout: .seconds(timeout))
            let relayOutcomes = outcome.relays.map { relay in
                switch relay {
                case .accepted(let url): RelayOutcome(relay: url, outcome: "accepted", reason: nil)
                case .refused(let url, let reason):
                    RelayOutcome(relay: url, outcome: "refused", reason: VendorText.clean(reason))
                case .unreachable(let url, let reason):
                    RelayOutcome(relay: url, outcome: "unreachable", reason: VendorText.clean(reason))
                }
            }
            var answers: [InboxReport]?
            if let wait, outcome.reachedAny {
                if !json {
                    standardOutput.write(line: outcome.line)
                    printRelays(relayOutcomes, again: outcome.again)
                    standardOutput.write(line: "answers in the next \(wait) s:")
                    standardOutput.flush()
                }
                answers = try await Inbox.collect(agent, for: outcome.intent.id, during: .seconds(wait), quiet: json)
                if !json, answers?.first?.newOffers.isEmpty != false, answers?.first?.declines.isEmpty != false {
                    standardOutput.write(line: "  none yet: `proffer inbox` reads later ones")
                }
            }
            if json {
                try printJSON(
                    Output(
                        intent: outcome.intent.id.description,
                        publicID: outcome.intent.cast?.publicID.description ?? "", line: outcome.line,
                        relays: relayOutcomes, answers: answers.map { $0.map(InboxListing.init) }))
            } else if answers == nil {
                standardOutput.write(line: outcome.line)
                printRelays(relayOutcomes, again: outcome.again)
            }
            guard outcome.reachedAny else {
                printError(
                    "no relay took the post: check the relays (`proffer pref show nostr.relays`) and run "
                        + "`proffer intent cast \(id)` again")
                throw ExitCode(69)
            }
        }
    }
}

/// One intent's answers, as `inbox --json` writes them.
struct InboxListing: Encodable {
    let intent: String
    let newOffers: [Offer]
    let declines: [Decline]
    let settledDeals: [Deal]
    let otherAnswers: [String]
    let ignored: [String: Int]
    let relayProblems: [String: String]

    struct Offer: Encodable {
        let offer: String
        let vendor: String
        let price: String
        let item: String?
    }
    struct Decline: Encodable {
        let vendor: String
        let why: String
    }
    struct Deal: Encodable {
        let deal: String
        let vendor: String
        let state: String
    }

    init(_ report: InboxReport) {
        intent = report.intentID.description
        newOffers = report.newOffers.map {
            Offer(
                offer: $0.name, vendor: $0.vendor, price: $0.message.price?.description ?? "",
                item: $0.message.item.map(VendorText.clean))
        }
        declines = report.declines.map { Decline(vendor: $0.vendor, why: $0.why) }
        settledDeals = report.settledDeals.map {
            Deal(deal: $0.id.description, vendor: $0.vendor, state: $0.state.rawValue)
        }
        otherAnswers = report.otherAnswers
        ignored = report.ignored
        relayProblems = report.relayProblems.mapValues(VendorText.clean)
    }
}

struct Inbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the private answers to your public intents: offers, declines, confirms.",
        discussion: """
            Fetches what vendors sent to the keys of your open public intents (and of those with a deal not yet \
            settled) from their relays, checks each message, and stores what holds: offers (shown by `proffer \
            offer list`), declines, and confirms of accepts and forgets that came after their command gave up \
            waiting. Says per intent what it found, from which vendors, and how many messages it ignored and why. \
            Offers from vendors you have not pinned are marked; such a vendor gets nothing from you until you \
            pin it (`proffer vendor pin NAME`, or `proffer offer accept OFFER --pin`).

            --follow stays connected and prints each answer as it arrives, until interrupted.
            """)
    @OptionGroup var vault: VaultOptions
    @Option(help: ArgumentHelp("Seconds to wait for the relays.", valueName: "seconds")) var timeout = 10
    @Flag(help: "Stay connected and print each answer as it arrives, until interrupted.") var follow = false
    @Flag(help: "Write JSON (with --follow, one JSON object per line).") var json = false

    func validate() throws {
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout is 1 to 600 seconds") }
    }

    func run() async throws {
        let agent = Agent(vault: try vault.openVault())
        let intents = try agent.readablePublicIntents()
        guard !intents.isEmpty else {
            if json { return try printJSON([InboxListing]()) }
            return standardOutput.write(
                line: "no public intents to read answers for: cast one with `proffer intent cast ID`")
        }
        if follow {
            if standardErrorIsTerminal { printError("following \(intents.count) public intent(s); Ctrl-C to stop") }
            let asJSON = json
            try await agent.followInbox { report in
                if asJSON {
                    if let data = try? JSONEncoder.lines.encode(InboxListing(report)) {
                        standardOutput.write(line: String(decoding: data, as: UTF8.self))
                    }
                } else {
                    Inbox.show([report], agent: agent)
                }
                standardOutput.flush()
            }
            return
        }
        let reports = try await agent.readInbox(timeout: .seconds(timeout))
        if json { return try printJSON(reports.map(InboxListing.init)) }
        Inbox.show(reports, agent: agent)
        let failing = Set(reports.flatMap(\.relayProblems.keys))
        if !reports.isEmpty,
            reports.allSatisfy({ report in
                let castRelays = (try? agent.vault.intent(id: report.intentID.description).cast?.relays) ?? nil
                return castRelays.map { Set($0).isSubset(of: failing) } ?? false
            })
        {
            throw ExitCode(69)
        }
    }

    /// Reads one intent's answers for `duration`, as `intent cast --wait` shows them: each as it arrives (unless
    /// `quiet`), and all of them merged at the end.
    static func collect(_ agent: Agent, for intentID: MessageID, during duration: Duration, quiet: Bool) async throws
        -> [InboxReport]
    {
        let merged = Mutex(InboxReport(intentID: intentID))
        try await agent.followInbox(only: intentID, until: .now + duration) { report in
            if !quiet {
                Inbox.show([report], agent: agent, heading: false)
                standardOutput.flush()
            }
            merged.withLock { $0.add(report) }
        }
        return [merged.withLock { $0 }]
    }

    static func show(_ reports: [InboxReport], agent: Agent, heading: Bool = true) {
        let vendors = (try? agent.vault.vendors()) ?? []
        for report in reports {
            var lines: [String] = []
            let byVendor = Dictionary(grouping: report.newOffers, by: \.vendor)
            for (vendor, offers) in byVendor.sorted(by: { $0.key < $1.key }) {
                let unpinned = vendors.first { $0.name == vendor }.map { !$0.isPinned } ?? false
                lines.append(
                    "  \(offers.count) new offer\(offers.count == 1 ? "" : "s") from \(vendor)"
                        + (unpinned ? " (not pinned)" : "") + ": "
                        + offers.map { "\($0.name) \($0.message.price?.description ?? "")" }.joined(separator: ", "))
            }
            for decline in report.declines { lines.append("  \(decline.vendor) makes no offer: \(decline.why)") }
            for deal in report.settledDeals {
                lines.append("  deal \(deal.id) with \(deal.vendor) is now \(deal.state.rawValue)")
            }
            for other in report.otherAnswers { lines.append("  \(other)") }
            if !report.ignored.isEmpty {
                let total = report.ignored.values.reduce(0, +)
                lines.append(
                    "  ignored \(total) of the messages read (the last two days' are read each time): "
                        + report.ignored.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
                            separator: "; "))
            }
            for (relay, problem) in report.relayProblems.sorted(by: { $0.key < $1.key }) {
                lines.append("  relay \(relay) failed: \(VendorText.clean(problem))")
            }
            if lines.isEmpty { lines.append("  nothing new") }
            if heading { standardOutput.write(line: "intent \(report.intentID):") }
            for line in lines { standardOutput.write(line: line) }
        }
    }
}

extension JSONEncoder {
    /// One JSON object per line, keys sorted.
    static var lines: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
