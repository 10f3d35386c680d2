import ArgumentParser
import Foundation
import ProfferAgent
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

/// Options shared by the commands that talk to vendors.
struct NetworkOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Seconds to wait for each vendor (default: the publish.timeout setting, else 10).", valueName: "seconds"))
    var timeout: Int?

    func duration(vault: Vault) -> Duration {
        if let timeout { return .seconds(max(1, min(timeout, 600))) }
        let setting = try? vault.preference(key: AgentSetting.publishTimeout.rawValue, persona: Persona.defaultName)
        return .seconds(setting.flatMap { Int($0.value) } ?? 10)
    }

    func validate() throws {
        if let timeout, !(1...600).contains(timeout) { throw ValidationError("--timeout is 1 to 600 seconds") }
    }
}

/// Runs `body` with an agent over the unlocked vault.
func withAgent(
    _ options: VaultOptions, persona: String = Persona.defaultName, _ body: (Agent) async throws -> Void
) async throws {
    try await runReportingErrorsAsync {
        try await body(Agent(vault: try options.openVault(), persona: persona))
    }
}

/// Like ``runReportingErrors(_:)``, for commands that talk to vendors: an unavailable vendor exits 69.
func runReportingErrorsAsync(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as AgentError {
        printError("error: \(error)")
        throw ExitCode(error.isUnavailable ? 69 : 1)
    } catch let error as ExitCode {
        throw error
    } catch {
        try runReportingErrors { throw error }
    }
}

var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

// MARK: - Vendors

extension VendorCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a vendor: fetch its profile, verify its self-signature, pin its keys, show the fingerprint.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The vendor's base URL, such as https://shop.example/proffer.") var url: String
        @Option(help: "The name to know it by (default: from its profile, e.g. lumen-cameras).") var name: String?

        func run() async throws {
            try await withAgent(vault) { agent in
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil
                else { throw CLIError("\"\(url)\" is not a vendor URL: write it like https://shop.example/proffer") }
                let vendor = try await agent.addVendor(
                    url: url, name: name, timeout: network.duration(vault: agent.vault))
                StandardOutput().write(
                    line: "added vendor \(vendor.name) (\"\(vendor.profileName ?? vendor.name)\") at \(vendor.baseURL)")
                StandardOutput().write(line: "pinned key  \(vendor.signingKey.map(fingerprint(of:)) ?? "none")")
                StandardOutput().write(line: "terms       \(vendor.terms.map(\.description).joined(separator: ", "))")
                StandardOutput().write(
                    line: "categories  \(vendor.categories.map(\.description).joined(separator: ", "))")
            }
        }
    }

    struct Repin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept the key a vendor now presents. Do this only when the vendor told you its key changed.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The vendor's name.") var name: String

        func run() async throws {
            try await withAgent(vault) { agent in
                let (previous, current) = try await agent.repin(
                    vendorName: name, timeout: network.duration(vault: agent.vault))
                if previous == current {
                    StandardOutput().write(line: "\(name) still presents the pinned key \(current); nothing changed")
                } else {
                    StandardOutput().write(line: "re-pinned \(name): \(previous) → \(current)")
                }
            }
        }
    }
}

// MARK: - Intents

extension IntentCommand {
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an intent to every matching vendor at once and store their verified offers.",
            discussion: """
                Vendors whose profile lacks the intent's terms or category are skipped, each with the reason. \
                Exits 0 when at least one vendor answered, 69 when none could be reached.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The intent's id.") var id: String
        @Option(name: .customLong("vendor"), help: "Send only to this vendor (repeatable).") var vendors: [String] = []

        func run() async throws {
            try await withAgent(vault) { agent in
                let showProgress = standardErrorIsTerminal
                let outcomes = try await agent.publish(
                    intentID: id, vendorNames: vendors, timeout: network.duration(vault: agent.vault)
                ) { outcome in
                    if showProgress { printError("  \(outcome.vendor): \(outcome.result.summary)") }
                }
                printTable(["VENDOR", "OUTCOME"], outcomes.map { [$0.vendor, $0.result.summary] })
                let answered = outcomes.filter { if case .answered = $0.result { true } else { false } }
                let offers = answered.reduce(0) { total, outcome in
                    if case .answered(let count) = outcome.result { total + count } else { total }
                }
                StandardOutput().write(
                    line:
                        "\(offers) offer\(offers == 1 ? "" : "s") from \(answered.count) of \(outcomes.count) vendors; "
                        + "see `proffer offer list \(id)`")
                let sent = outcomes.filter { if case .skipped = $0.result { false } else { true } }
                if answered.isEmpty {
                    throw ExitCode(sent.isEmpty ? 1 : 69)
                }
            }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw an intent, and tell every vendor it was sent to.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The intent's id.") var id: String

        func run() async throws {
            try await withAgent(vault) { agent in
                let outcomes = try await agent.withdraw(intentID: id, timeout: network.duration(vault: agent.vault))
                StandardOutput().write(line: "withdrew intent \(id)")
                printTable(
                    ["VENDOR", "TOLD"], outcomes.map { [$0.0, $0.1.map { "no: \($0)" } ?? "yes"] })
            }
        }
    }
}

extension PublishOutcome.Result {
    var summary: String {
        switch self {
        case .answered(let offers): "answered: \(offers) offer\(offers == 1 ? "" : "s")"
        case .skipped(let reason): "skipped: \(reason)"
        case .failed(let error): "failed: \(error)"
        }
    }
}

// MARK: - Offers

struct OfferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offer", abstract: "See, counter, accept or decline vendors' offers.",
        subcommands: [List.self, Counter.self, Accept.self, Decline.self])

    /// One row of `offer list`.
    struct Listing: Encodable {
        let name: String
        let id: String
        let vendor: String
        let intent: String
        let state: String
        let price: String?
        let eta: String?
        let item: String?
        let qty: Int
        let terms: [String]
        let needs: [String]
        let expires: Date?
        /// Why the agent will not accept it, if it will not.
        let problem: String?
        let message: String

        var row: [String] {
            let stateText: String = problem.map { "\(state) (\($0))" } ?? state
            let needsText: String = needs.isEmpty ? "-" : needs.joined(separator: ",")
            return [
                name, price ?? "-", eta ?? "-", String(qty), item ?? "-", terms.joined(separator: ","), needsText,
                expires?.shortText ?? "-", stateText,
            ]
        }

        init(_ offer: StoredOffer, intentTerms: [String]) {
            let message = offer.message
            (name, id, vendor, intent, state) = (
                offer.name, offer.id.description, offer.vendor, offer.intentID.description, offer.state.rawValue
            )
            price = message.price?.description
            eta = message.eta?.description
            item = message.item
            qty = message.qty?.value ?? 1
            let offeredTerms = message.terms.map { $0.map(\.description) } ?? []
            terms = offeredTerms
            needs = message.needs.map { $0.map(\.rawValue) } ?? []
            expires = offer.expiresAt
            self.message = offer.canonical
            let missing = intentTerms.filter { !offeredTerms.contains($0) }
            if !missing.isEmpty {
                problem = "terms lack \(missing.joined(separator: ","))"
            } else if offer.state == .open, let expiry = offer.expiresAt, expiry < Date() {
                problem = "expired"
            } else {
                problem = nil
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List offers, best first: by price, then by delivery time.",
            discussion: "Shows each offer's terms and the personal data it needs. Open offers come first.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "Only offers answering this intent.") var intent: String?
        @Flag(help: "Include offers that are no longer open (countered, accepted, declined, withdrawn).") var all =
            false
        @Flag(help: "Write JSON.") var json = false

        func run() async throws {
            try runReportingErrors {
                let opened = try vault.openVault(.readOnly)
                var intentTerms: [MessageID: [String]] = [:]
                for intent in try opened.intents() {
                    intentTerms[intent.id] = intent.message.terms.map { $0.map(\.description) } ?? []
                }
                let listings = try opened.offers(intentID: intent)
                    .filter { all || $0.state == .open }
                    .map { Listing($0, intentTerms: intentTerms[$0.intentID] ?? []) }
                    .sorted(by: OfferCommand.ranking)
                if json { return try printJSON(listings) }
                if listings.isEmpty {
                    return StandardOutput().write(
                        line: "no offers\(intent.map { " for \($0)" } ?? ""); publish with `proffer intent publish ID`")
                }
                printTable(
                    ["OFFER", "PRICE", "ETA", "QTY", "ITEM", "TERMS", "NEEDS", "EXPIRES", "STATE"],
                    listings.map(\.row))
            }
        }
    }

    /// Open offers first, then by unit price (in thousandths), then by delivery time.
    static func ranking(_ lhs: Listing, _ rhs: Listing) -> Bool {
        func key(_ listing: Listing) -> (Int, Int64, Int) {
            let message = try? Message.parse(listing.message)
            return (
                listing.state == "open" && listing.problem == nil ? 0 : 1, message?.price?.thousandths ?? .max,
                message?.eta?.seconds ?? .max
            )
        }
        return key(lhs) < key(rhs)
    }

    struct Counter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose another price, quantity or delivery time; the vendor answers with an offer or a no.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The offer, as listed (e.g. lumen-cameras/v9a1b2c3) or its id.") var offer: String
        @Option(help: "The price you propose per unit, such as 1100EUR.") var price: String?
        @Option(help: "The quantity you want.") var qty: Int?
        @Option(help: "The delivery time you want, such as 2d.") var eta: String?

        func validate() throws {
            if let price, Money(price) == nil { throw ValidationError("--price \"\(price)\" is not like 1100EUR") }
            if let qty, Quantity(qty) == nil { throw ValidationError("--qty is 1 to 1000000") }
            if let eta, TimeSpan(eta) == nil { throw ValidationError("--eta \"\(eta)\" is not like 3d or 48h") }
            if price == nil && qty == nil && eta == nil { throw ValidationError("give --price, --qty or --eta") }
        }

        func run() async throws {
            try await withAgent(vault) { agent in
                let outcome = try await agent.counter(
                    offerName: offer, price: price.flatMap(Money.init), qty: qty.flatMap(Quantity.init),
                    eta: eta.flatMap(TimeSpan.init), timeout: network.duration(vault: agent.vault))
                switch outcome {
                case .newOffer(let newOffer):
                    let message = newOffer.message
                    StandardOutput().write(
                        line: "new offer \(newOffer.name): \(message.price?.description ?? "-") "
                            + "eta \(message.eta?.description ?? "-") (replaces \(offer))")
                case .declined(let why):
                    StandardOutput().write(line: "the vendor declined the counter: \(why); the offer still stands")
                }
            }
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept an offer: shows exactly what goes to whom under which terms, then seals and sends it.",
            discussion: """
                Sharing rules decide: always is sent; ask needs your yes (or --yes); never refuses and names the rule \
                to change. The disclosure is recorded in the audit chain the moment the data leaves. Offers that \
                have expired or whose terms do not include your intent's terms are refused.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The offer, as listed (e.g. lumen-cameras/v9a1b2c3) or its id.") var offer: String
        @Flag(help: "Consent in advance to sending data whose rule is ask.") var yes = false

        func run() async throws {
            try await withAgent(vault) { agent in
                let plan = try agent.planAcceptance(offerName: offer)
                let message = plan.offer.message
                let output = StandardOutput()
                output.write(
                    line: "Accepting \(plan.offer.name): \(message.item ?? message.sku?.description ?? "-"), "
                        + "\(message.price?.description ?? "-")\(message.eta.map { ", eta \($0)" } ?? "")")
                if plan.items.isEmpty {
                    output.write(
                        line:
                            "No personal data is sent. Terms: \(plan.terms.map(\.description).joined(separator: ", "))."
                    )
                } else {
                    output.write(
                        line: "This sends to \(plan.vendor.profileName ?? plan.vendor.name) (\(plan.vendor.name)), "
                            + "sealed to its key, under the terms \(plan.terms.map(\.description).joined(separator: ", ")):"
                    )
                    output.flush()
                    var rows: [[String]] = []
                    for item in plan.items {
                        let value = try agent.vault.preference(key: item.category.rawValue, persona: agent.persona)?
                            .value
                        rows.append(["  " + item.category.rawValue, value ?? "", "(rule: \(item.rule.rawValue))"])
                    }
                    printTable(["  DATA", "VALUE", "RULE"], rows)
                }
                output.flush()
                var consented = yes
                if plan.needsConsent && !yes {
                    guard isatty(STDIN_FILENO) == 1 else {
                        throw CLIError(
                            "some data has the rule ask and there is no terminal to ask on: pass --yes to consent")
                    }
                    FileHandle.standardError.write(Data("Send it? [y/N] ".utf8))
                    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
                    consented = answer == "y" || answer == "yes"
                    guard consented else {
                        output.write(line: "nothing was sent")
                        throw ExitCode(1)
                    }
                }
                let deal = try await agent.accept(
                    plan, consented: consented, timeout: network.duration(vault: agent.vault))
                switch deal.state {
                case .confirmed:
                    output.write(
                        line: "deal \(deal.id) confirmed by \(deal.vendor); see `proffer deal show \(deal.id)`")
                case .declined:
                    let why =
                        deal.replyEnvelope.flatMap { try? Envelope.decode(json: Array($0.utf8)) }
                        .flatMap { try? Message.parse($0.envelope.msg).why } ?? "no reason given"
                    output.write(line: "\(deal.vendor) declined: \(why) (recorded as deal \(deal.id))")
                    throw ExitCode(1)
                default:
                    output.write(line: "deal \(deal.id) is \(deal.state.rawValue)")
                }
            }
        }
    }

    struct Decline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decline an offer and tell the vendor.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The offer, as listed or its id.") var offer: String
        @Option(help: "A reason for the vendor (short plain text).") var why: String?

        func run() async throws {
            try await withAgent(vault) { agent in
                try await agent.decline(offerName: offer, why: why, timeout: network.duration(vault: agent.vault))
                StandardOutput().write(line: "declined \(offer)")
            }
        }
    }
}

// MARK: - Deals

struct DealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deal", abstract: "See your deals (both signed envelopes) and ask vendors to forget your data.",
        subcommands: [List.self, Show.self, Forget.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deals, oldest first.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() async throws {
            try runReportingErrors {
                let deals = try vault.openVault(.readOnly).deals()
                if json { return try printJSON(deals) }
                if deals.isEmpty { return StandardOutput().write(line: "no deals yet") }
                printTable(
                    ["DEAL", "VENDOR", "OFFER", "STATE", "DISCLOSED", "TERMS", "DATE"],
                    deals.map {
                        [
                            $0.id.description, $0.vendor, $0.offerID.description, $0.state.rawValue,
                            $0.disclosed.isEmpty ? "-" : $0.disclosed.map(\.rawValue).joined(separator: ","),
                            $0.terms.map(\.description).joined(separator: ","), $0.createdAt.shortText,
                        ]
                    })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one deal with both signed envelopes.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The deal's id (its accept's id).") var id: String
        @Flag(help: "Write JSON.") var json = false

        func run() async throws {
            try runReportingErrors {
                let deal = try vault.openVault(.readOnly).deal(id: id)
                if json { return try printJSON(deal) }
                func message(_ envelope: String?) -> String {
                    envelope.flatMap { try? Envelope.decode(json: Array($0.utf8)).envelope.msg } ?? "-"
                }
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["deal", deal.id.description], ["vendor", deal.vendor], ["persona", deal.persona],
                        ["offer", deal.offerID.description], ["intent", deal.intentID.description],
                        ["state", deal.state.rawValue],
                        [
                            "disclosed",
                            deal.disclosed.isEmpty ? "nothing" : deal.disclosed.map(\.rawValue).joined(separator: ", "),
                        ],
                        ["terms", deal.terms.map(\.description).joined(separator: ", ")],
                        ["date", deal.createdAt.shortText],
                        ["you sent", message(deal.acceptEnvelope)], ["vendor replied", message(deal.replyEnvelope)],
                        ["forget sent", message(deal.forgetEnvelope)],
                        ["forget reply", message(deal.forgetReplyEnvelope)],
                    ])
                StandardOutput().write(line: "")
                StandardOutput().write(line: "accept envelope:  \(deal.acceptEnvelope)")
                StandardOutput().write(line: "vendor envelope:  \(deal.replyEnvelope ?? "-")")
            }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the vendor to delete what you disclosed under a deal; recorded in the audit chain.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The deal's id.") var id: String

        func run() async throws {
            try await withAgent(vault) { agent in
                let deal = try await agent.forget(dealID: id, timeout: network.duration(vault: agent.vault))
                StandardOutput().write(
                    line: deal.state == .forgotten
                        ? "\(deal.vendor) confirmed it deleted \(deal.disclosed.map(\.rawValue).joined(separator: ", ")) of deal \(deal.id)"
                        : "asked \(deal.vendor) to forget deal \(deal.id); it has not confirmed yet")
            }
        }
    }
}
