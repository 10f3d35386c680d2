import ArgumentParser
import Foundation
import ProfferAgent
import ProfferNostr
import ProfferVault
import ProfferWire

struct IntentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent", abstract: "Keep buying intents: what you want, on your terms.",
        subcommands: [New.self, List.self, Show.self, Publish.self, Cast.self, Withdraw.self, Remove.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an intent, fill in your defaults, store it as a draft and print its canonical form.",
            discussion: """
                What the intent leaves out is filled from your settings: terms from terms.default, in: from \
                region.default, and amounts without a currency (max:500) take currency.default. The printed \
                canonical form is exactly what vendors will get, except its id: each vendor gets its own. A by: or \
                exp: date that has passed is refused.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent, such as '#buy camera.mirrorless max:1200EUR in:DE terms:sd-base'.") var message:
            String
        @Option(help: "The persona it is for: its data and key are used when you accept an offer.") var persona =
            Persona.defaultName

        func run() throws {
            let opened = try vault.openVault()
            let defaults = try IntentDefaults(vault: opened, persona: persona)
            var parsed = try IntentCommand.parse(defaults.writingCurrency(into: message), defaults: defaults)
            // A reply names a cast key, which only a public intent has; sent over HTTP it would link the two.
            if parsed.reply != nil {
                throw CLIError(
                    .usage,
                    "reply: is not written by hand: an intent sent to your vendors has none, and a public intent "
                        + "gets its own when it is cast. Remove the reply: field")
            }
            defaults.fill(&parsed)
            for (attribute, field) in parsed.likelyMisspelledAttributes {
                printError(
                    "warning: \(attribute): is kept as an attribute for vendors to read; did you mean the field \(field):?"
                )
            }
            // The categories vendors have made offers in, from intents that got offers: a near miss is likely a typo.
            let answered = Set(try opened.offers().map(\.intentID))
            let offered = Set(try opened.intents().filter { answered.contains($0.id) }.compactMap(\.message.category))
            for warning in try IntentCommand.vocabularyWarnings(
                for: parsed, vendors: opened.vendors(), offeredIn: offered.map(\.description), written: message)
            {
                printError("warning: " + warning)
            }
            let intent = try opened.addIntent(parsed, persona: persona)
            standardOutput.write(line: intent.canonical)
        }
    }

    /// What in an intent no one will understand, said before it is stored: terms not in the registry (never agreed to
    /// by anyone), and a category no pinned vendor serves (with the nearest one that is served).
    static func vocabularyWarnings(
        for intent: Message, vendors: [Vendor], offeredIn: [String], written: String? = nil
    ) -> [String] {
        var warnings: [String] = []
        // `max:1.200EUR` is one euro twenty: a dot is always a decimal point here.
        for token in (written ?? "").split(separator: " ") {
            guard let colon = token.firstIndex(of: ":") else { continue }
            let key = token[..<colon].lowercased()
            let value = token[token.index(after: colon)...]
            let parts = value.split(separator: ".", omittingEmptySubsequences: false)
            guard ["max", "min", "price"].contains(key), parts.count == 2, (1...3).contains(parts[0].count),
                parts[1].count == 6, parts[1].prefix(3).allSatisfy(\.isNumber),
                parts[1].suffix(3).allSatisfy(\.isLetter),
                let money = Money(String(value))
            else { continue }
            warnings.append(
                "\(key):\(value) is read as \(money) (the dot is a decimal point); for \(parts[0])\(parts[1].prefix(3)) "
                    + "write \(key):\(parts[0])\(parts[1].prefix(3))\(parts[1].suffix(3).uppercased())")
        }
        let registered = TermsDefinition.registry.map(\.id.description)
        for term in intent.terms.map(Array.init) ?? [] where TermsDefinition.lookup(term) == nil {
            let nearest = Suggestions.nearest(to: term.description, among: registered)
            warnings.append(
                "terms \(term) are not registered: no vendor will agree to them"
                    + (nearest.map { " (did you mean \($0)?)" } ?? "") + "; see `proffer msg terms`")
        }
        if let category = intent.category, !vendors.isEmpty,
            !vendors.contains(where: { vendor in
                vendor.categories.contains { category.isWithin($0) || $0.isWithin(category) }
            })
        {
            let served = Set(vendors.flatMap { $0.categories.map(\.description) }).sorted()
            let nearest = Suggestions.nearest(to: category.description, among: served)
            warnings.append(
                "none of your vendors serves \(category)"
                    + (nearest.map { " (did you mean \($0)?)" } ?? "")
                    + "; they serve \(served.joined(separator: ", ")) (see `proffer vendor categories`)")
        } else if let category = intent.category, !offeredIn.contains(category.description),
            let nearest = Suggestions.nearest(to: category.description, among: offeredIn)
        {
            warnings.append("no vendor has made an offer in \(category) yet: did you mean \(nearest)?")
        }
        return warnings
    }

    /// Parses an intent, naming `currency.default` when an amount lacks a currency and none is set.
    static func parse(_ text: String, defaults: IntentDefaults) throws -> Message {
        let result = Result { () throws(MessageError) in try Message.parse(text) }
        if case .failure(let error) = result, error.code == .badMoney, defaults.currency == nil {
            throw CLIError(
                .invalidData,
                "\(error.description). To write amounts without a currency, set one: "
                    + "`proffer pref set currency.default EUR`")
        }
        return try result.get()
    }

    /// An intent as listings show it.
    struct Listing: Encodable {
        let id: String
        let state: String
        let persona: String
        let created: Date
        let lapses: Date?
        let message: String
        let sentTo: [String]
        /// Where and how it was cast in public, if it was.
        let cast: CastListing?

        struct CastListing: Encodable {
            let publicID: String
            let relays: [String]
            let postID: String
            let posted: Date
            let expires: Date
            /// The post's text, as anyone reads it.
            let line: String
        }

        init(_ intent: StoredIntent) {
            (id, state, persona, created) = (
                intent.id.description, intent.state.rawValue, intent.persona, intent.createdAt
            )
            (lapses, message, sentTo) = (intent.lapsesAt, intent.canonical, intent.sentTo ?? [])
            cast = intent.cast.map { cast in
                CastListing(
                    publicID: cast.publicID.description, relays: cast.relays, postID: cast.postID,
                    posted: cast.postedAt, expires: cast.expiresAt, line: IntentCommand.postLine(cast) ?? "")
            }
        }
    }

    /// The text of a public intent's post, as kept.
    static func postLine(_ cast: PublicCast) -> String? {
        (try? NostrJSON.event(from: Array(cast.post.utf8)))?.content
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List intents, oldest first. Those past their by: or exp: show as expired.")
        @OptionGroup var vault: VaultOptions
        @Option(help: "Only intents in this state: draft, published, withdrawn, expired or fulfilled.") var state:
            IntentState?
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let intents = try vault.openVault(.readOnly).intents(state: state)
            if json { return try printJSON(intents.map(Listing.init)) }
            if intents.isEmpty {
                return standardOutput.write(
                    line: state.map { "no \($0.rawValue) intents" } ?? "no intents yet: `proffer intent new '#buy …'`")
            }
            printTable(
                ["ID", "STATE", "PERSONA", "CREATED", "MESSAGE"],
                intents.map {
                    [
                        $0.id.description, $0.state.rawValue + ($0.cast == nil ? "" : " (public)"), $0.persona,
                        $0.createdAt.shortText, $0.canonical,
                    ]
                })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one intent and what it means.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent's id, or its start.", completion: VaultCompletion.intents) var id: String
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let intent = try vault.openVault(.readOnly).intent(id: id)
            if json { return try printJSON(Listing(intent)) }
            printTable(
                ["FIELD", "VALUE"],
                [
                    ["id", intent.id.description], ["state", intent.state.rawValue], ["persona", intent.persona],
                    ["message", intent.canonical], ["meaning", intent.message.explanation],
                    ["lapses", intent.lapsesAt?.shortText ?? "-"],
                    ["sent to", (intent.sentTo ?? []).joined(separator: ", ").nonEmpty ?? "-"],
                    ["created", intent.createdAt.shortText], ["updated", intent.updatedAt.shortText],
                ]
                    + (intent.cast.map { cast in
                        [
                            ["public id", cast.publicID.description],
                            ["cast to", cast.relays.joined(separator: ", ")],
                            ["post", IntentCommand.postLine(cast) ?? "-"], ["post id", cast.postID],
                            ["post expires", cast.expiresAt.shortText],
                        ]
                    } ?? []))
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an intent to every matching vendor at once and store their verified offers.",
            discussion: """
                Each vendor gets the intent under its own id, signed with the intent's persona's key toward it. \
                Vendors whose profile lacks the intent's terms or category are skipped, each with the reason. Each \
                vendor has --timeout seconds for its whole answer; every vendor's outcome is printed even when one \
                times out. Exits 0 when at least one vendor answered, 69 when none could be reached.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The intent's id, or its start.", completion: VaultCompletion.intents) var id: String
        @Option(name: .customLong("vendor"), help: "Send only to this vendor (repeatable).") var vendors: [String] = []
        @Flag(help: "Write each vendor's outcome as JSON.") var json = false

        struct Outcome: Encodable {
            let vendor: String
            let outcome: String
            let offers: Int
            let detail: String?
        }

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let showProgress = standardErrorIsTerminal && !json
            let outcomes = try await agent.publish(
                intentID: id, vendorNames: vendors, timeout: network.duration(vault: agent.vault)
            ) { outcome in
                if showProgress { printError("  \(outcome.vendor): \(outcome.result.summary)") }
            }
            let offers = outcomes.reduce(0) { total, outcome in
                if case .answered(let count) = outcome.result { total + count } else { total }
            }
            let answered = outcomes.filter {
                switch $0.result {
                case .answered, .declined: true
                default: false
                }
            }
            if json {
                try printJSON(
                    outcomes.map { outcome in
                        switch outcome.result {
                        case .answered(let count):
                            Outcome(vendor: outcome.vendor, outcome: "answered", offers: count, detail: nil)
                        case .skipped(let reason):
                            Outcome(vendor: outcome.vendor, outcome: "skipped", offers: 0, detail: reason)
                        case .declined(let why):
                            Outcome(vendor: outcome.vendor, outcome: "declined", offers: 0, detail: why)
                        case .failed(let error):
                            Outcome(
                                vendor: outcome.vendor, outcome: error.code.description, offers: 0,
                                detail: error.message)
                        }
                    })
            } else {
                printTable(["VENDOR", "OUTCOME"], outcomes.map { [$0.vendor, $0.result.summary] })
                standardOutput.write(
                    line:
                        "\(offers) offer\(offers == 1 ? "" : "s") from \(answered.count) of \(outcomes.count) vendors; "
                        + "see `proffer offer list \(id)`")
            }
            let sent = outcomes.filter { if case .skipped = $0.result { false } else { true } }
            if answered.isEmpty { throw ExitCode(sent.isEmpty ? 1 : 69) }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw an intent, and tell every vendor it was sent to.",
            discussion: """
                Vendors that could not be told are kept; run it again to tell them. A withdrawn intent that every \
                vendor heard about sends nothing. A public intent's post is also deleted from its relays (NIP-09: \
                relays are asked, and most comply; copies elsewhere stay), and every vendor that answered it is told.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The intent's id, or its start.", completion: VaultCompletion.intents) var id: String

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let deleted = try await agent.deletePost(intentID: id, timeout: network.duration(vault: agent.vault))
            if let deleted {
                printTable(
                    ["RELAY", "POST DELETION"],
                    deleted.map { [$0.relay, $0.isAccepted ? "accepted" : VendorText.clean($0.description)] })
            }
            let outcomes: [WithdrawOutcome]
            do {
                outcomes = try await agent.withdraw(intentID: id, timeout: network.duration(vault: agent.vault))
            } catch let error as AgentError where deleted != nil && error.code == .refused {
                // Already withdrawn and every vendor told: deleting the post again was what was left.
                return standardOutput.write(line: VendorText.clean(error.message))
            }
            standardOutput.write(line: "withdrew intent \(try agent.vault.intent(id: id).id)")
            printTable(["VENDOR", "TOLD"], outcomes.map { [$0.vendor, $0.error.map { "no: \($0)" } ?? "yes"] })
            let untold = Agent.untold(outcomes)
            if !untold.isEmpty {
                standardOutput.write(
                    line: "run `proffer intent withdraw \(id)` again later to tell " + untold.joined(separator: ", "))
                throw ExitCode(69)
            }
        }
    }
}

extension IntentCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a draft: an intent no vendor was sent.",
            discussion:
                "A published intent stays as the record of what you sent; `proffer intent withdraw ID` tells vendors.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The intent's id, or its start.", completion: VaultCompletion.intents) var id: String

        func run() throws {
            let opened = try vault.openVault()
            let intent = try opened.intent(id: id)
            try opened.removeDraft(id: intent.id.description)
            standardOutput.write(line: "removed draft \(intent.id)")
        }
    }
}

extension PublishOutcome.Result {
    var summary: String {
        switch self {
        case .answered(let offers): "answered: \(offers) offer\(offers == 1 ? "" : "s")"
        case .skipped(let reason): "skipped: \(reason)"
        case .declined(let why): "no offer: \(why)"
        case .failed(let error): "failed: \(error)"
        }
    }
}

extension IntentState: ExpressibleByArgument {}

extension String {
    /// `nil` for the empty string, for "or a dash" displays.
    var nonEmpty: String? { isEmpty ? nil : self }
}

var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
