import ArgumentParser
import Foundation
import ProfferAgent
import ProfferEnvelope
import ProfferVault
import ProfferWire

struct OfferCommand: ParsableCommand {
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
        /// `open` (acceptable), `unpinned` (open, from a vendor found over Nostr and not pinned: never ranked),
        /// `unacceptable` (expired, or lacking the intent's terms) or `closed`.
        let section: String
        /// 1 for the best of an intent's comparable offers; absent when not ranked.
        let rank: Int?
        let price: String?
        let eta: String?
        let item: String?
        let qty: Int
        let terms: [String]
        let extraTerms: [String]
        let needs: [String]
        /// For each needed category, how the intent's persona shares it: `always`, `ask`, `never`, or `missing` (no
        /// value set), so you see before accepting whether you can.
        let sharing: [String: String]
        let expires: Date?
        var remarks: [String]
        let message: String
        /// For a vendor found over Nostr and not pinned yet: its profile's name, fingerprint and where it was found.
        var unpinnedVendor: UnpinnedVendor?

        struct UnpinnedVendor: Encodable {
            let profileName: String
            let fingerprint: String
            let foundOn: String
        }

        /// Marks the offer as coming from a vendor not pinned, when it does.
        mutating func mark(_ vendors: [String: Vendor]) {
            guard let vendor = vendors[vendor], !vendor.isPinned, let key = vendor.signingKey else { return }
            let marked = UnpinnedVendor(
                profileName: VendorText.clean(vendor.profileName ?? vendor.name), fingerprint: fingerprint(of: key),
                foundOn: vendor.foundOn ?? "")
            unpinnedVendor = marked
            remarks.append(
                "vendor not pinned: \(marked.profileName), \(marked.fingerprint), found on \(marked.foundOn)")
        }

        init(_ review: OfferReview, section: String, rank: Int?, sharing rule: (DataCategory) -> String) {
            let offer = review.offer
            let message = offer.message
            (name, id, vendor, intent, state) = (
                offer.name, offer.id.description, offer.vendor, offer.intentID.description, offer.state.rawValue
            )
            (self.section, self.rank) = (section, rank)
            price = message.price?.description
            eta = message.eta?.description
            item = (message.item ?? message.sku?.description).map(VendorText.clean)
            qty = message.qty?.value ?? 1
            terms = message.terms.map { $0.map(\.description) } ?? []
            extraTerms = review.extraTerms.map(\.description)
            needs = message.needs.map { $0.map(\.rawValue) } ?? []
            sharing = Dictionary(
                uniqueKeysWithValues: (message.needs.map(Array.init) ?? []).map { ($0.rawValue, rule($0)) })
            expires = offer.expiresAt
            remarks = review.remarks
            self.message = VendorText.clean(offer.canonical)
        }

        var row: [String] {
            [
                name, intent, rank.map(String.init) ?? "-", price ?? "-", eta ?? "-", String(qty), item ?? "-",
                terms.joined(separator: ","),
                needs.isEmpty ? "-" : needs.map { "\($0) (\(sharing[$0] ?? "?"))" }.joined(separator: ", "),
                expires?.shortText ?? "-", ([state] + remarks).joined(separator: "; "),
            ]
        }
    }

    static let header = [
        "OFFER", "INTENT", "RANK", "PRICE", "ETA", "QTY", "ITEM", "TERMS", "NEEDS", "EXPIRES", "STATE",
    ]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open offers, best first: by price in the intent's currency, then by delivery time.",
            discussion: """
                Only prices in one currency are compared: each intent's offers are ranked in the currency of its \
                max:/min:, else currency.default, else the one most offers use; offers in another currency follow \
                unranked. Expired offers, and offers lacking your terms, are listed apart and never ranked. An offer \
                that adds terms to yours says so; accepting it needs --agree-terms.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "Only offers answering this intent (its id, or its start).") var intent: String?
        @Flag(help: "Include offers that are no longer open (countered, accepted, declined, withdrawn).") var all =
            false
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let intents = try opened.intents()
            let only = try intent.map { try opened.intent(id: $0).id }
            let offers = try opened.offers(intentID: only?.description)
            let currency = try opened.preference(
                key: AgentSetting.defaultCurrency.rawValue, persona: Persona.defaultName
            ).flatMap { CurrencyCode($0.value) }
            let vendors = Dictionary(try opened.vendors().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            // Offers of vendors found over Nostr and not pinned are shown apart, never ranked with the rest (§6.3).
            let isUnpinned = { (offer: StoredOffer) in vendors[offer.vendor]?.isPinned == false }
            let ranking = OfferRanking(
                offers: offers.filter { !isUnpinned($0) }, intents: intents, defaultCurrency: currency)
            let unpinnedRanking = OfferRanking(
                offers: offers.filter(isUnpinned), intents: intents, defaultCurrency: currency)
            // How each intent's persona shares each category: what an accept would do with it, or that it is missing.
            var rules: [String: String] = [:]
            for preference in try opened.preferences() where preference.dataCategory != nil {
                rules[preference.persona.lowercased() + "/" + preference.key] = preference.share?.rawValue ?? "ask"
            }
            let personas = Dictionary(intents.map { ($0.id, $0.persona.lowercased()) }, uniquingKeysWith: { a, _ in a })
            func sharing(_ review: OfferReview) -> (DataCategory) -> String {
                let persona = personas[review.offer.intentID] ?? Persona.defaultName
                return { rules[persona + "/" + $0.rawValue] ?? "missing" }
            }
            func listing(_ review: OfferReview, _ section: String, _ rank: Int?) -> Listing {
                var row = Listing(review, section: section, rank: rank, sharing: sharing(review))
                row.mark(vendors)
                return row
            }
            let open = ranking.open.map { listing($0.review, "open", $0.rank) }
            let unpinned = unpinnedRanking.open.map { listing($0.review, "unpinned", nil) }
            let unacceptable = (ranking.unacceptable + unpinnedRanking.unacceptable).map {
                listing($0, "unacceptable", nil)
            }
            let closed = all ? (ranking.closed + unpinnedRanking.closed).map { listing($0, "closed", nil) } : []
            if json { return try printJSON(open + unpinned + unacceptable + closed) }
            if open.isEmpty && unpinned.isEmpty && unacceptable.isEmpty && closed.isEmpty {
                // Suggest publishing only what was never published, by its real id.
                let drafts = intents.filter { $0.state == .draft && (only == nil || $0.id == only) }
                let hint =
                    drafts.count == 1
                    ? "; publish it with `proffer intent publish \(drafts[0].id)`"
                    : drafts.isEmpty
                        ? only == nil ? "; write one with `proffer intent new MESSAGE`" : ""
                        : "; publish a draft with `proffer intent publish ID` (`proffer intent list --state draft`)"
                standardOutput.write(
                    line: "no open offers\(only.map { " for \($0)" } ?? "")\(hint)"
                        + (all || ranking.closed.isEmpty ? "" : " (--all shows \(ranking.closed.count) closed)"))
                return OfferCommand.printNoOffers(intents.filter { only == nil || $0.id == only })
            }
            defer { OfferCommand.printNoOffers(intents.filter { only == nil || $0.id == only }) }
            if !open.isEmpty {
                printTable(OfferCommand.header, open.map(\.row))
                // Named only for intents with a ranked offer: a lone offer in another currency ranks nothing.
                let currencies = Set(
                    ranking.open.filter { $0.rank != nil }.compactMap { ranking.currencies[$0.review.offer.intentID] }
                        .map(\.description)
                ).sorted()
                if !currencies.isEmpty {
                    standardOutput.write(
                        line: "ranked by price in \(currencies.joined(separator: ", ")); offers priced otherwise are "
                            + "not ranked")
                }
            }
            if !unpinned.isEmpty {
                if !open.isEmpty { standardOutput.write(line: "") }
                standardOutput.write(
                    line: "from vendors you have not pinned, found over Nostr (not ranked; pin one to deal with it):")
                printTable(
                    ["OFFER", "INTENT", "PRICE", "ETA", "QTY", "ITEM", "PROFILE NAME", "FINGERPRINT", "FOUND ON"],
                    unpinned.map { row in
                        [
                            row.name, row.intent, row.price ?? "-", row.eta ?? "-", String(row.qty), row.item ?? "-",
                            row.unpinnedVendor?.profileName ?? "-", row.unpinnedVendor?.fingerprint ?? "-",
                            row.unpinnedVendor?.foundOn ?? "-",
                        ]
                    })
            }
            for (title, rows) in [("expired, or lacking your terms:", unacceptable), ("no longer open:", closed)]
            where !rows.isEmpty {
                standardOutput.write(line: "")
                standardOutput.write(line: title)
                printTable(OfferCommand.header, rows.map(\.row))
            }
        }
    }

    struct Counter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose another price, quantity or delivery time; the vendor answers with an offer or a no.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(
            help: "The offer, as listed (e.g. lumen-cameras/v9a1b2c3), its id, or the start of either.",
            completion: VaultCompletion.openOffers)
        var offer: String
        @Option(help: "The price you propose per unit, such as 1100EUR (1100 is in the offer's currency).") var price:
            String?
        @Option(help: "The quantity you want.") var qty: Int?
        @Option(help: "The delivery time you want, such as 2d.") var eta: String?

        func validate() throws {
            if let qty, Quantity(qty) == nil { throw ValidationError("--qty is 1 to 1000000") }
            if let eta, TimeSpan(eta) == nil { throw ValidationError("--eta \"\(eta)\" is not like 3d or 48h") }
            if price == nil && qty == nil && eta == nil { throw ValidationError("give --price, --qty or --eta") }
        }

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            var money: Money?
            if let price {
                // A bare amount is in the offer's currency: a counter in another one is declined anyway.
                let defaults = try IntentDefaults(vault: agent.vault, persona: Persona.defaultName)
                let currency = try agent.vault.offer(named: offer).message.price?.currency ?? defaults.currency
                let written =
                    IntentDefaults.isBareAmount(Substring(price))
                    ? price + (currency?.description ?? "") : price
                guard let parsed = Money(written) else {
                    throw CLIError(
                        .usage,
                        "--price \"\(price)\" is not like 1100EUR"
                            + (defaults.currency == nil ? " (or set currency.default to write 1100)" : ""))
                }
                money = parsed
            }
            let countered = try agent.vault.offer(named: offer).name
            let outcome = try await agent.counter(
                offerName: offer, price: money, qty: qty.flatMap(Quantity.init), eta: eta.flatMap(TimeSpan.init),
                timeout: network.duration(vault: agent.vault))
            switch outcome {
            case .newOffer(let newOffer):
                let message = newOffer.message
                standardOutput.write(
                    line: "new offer \(newOffer.name): \(priceText(message.price, quantity: message.qty?.value)) "
                        + "eta \(message.eta?.description ?? "-") (replaces \(countered))")
                // The vendor answers with what it will do, which may not be what was asked: say where it differs.
                var unmet: [String] = []
                if let money, message.price != money { unmet.append("price \(money)") }
                if let qty, (message.qty?.value ?? 1) != qty { unmet.append("qty \(qty)") }
                if let eta, message.eta?.description != TimeSpan(eta)?.description { unmet.append("eta \(eta)") }
                if !unmet.isEmpty {
                    standardOutput.write(
                        line: "  not what you asked: you proposed \(unmet.joined(separator: ", ")); accept, counter "
                            + "again or decline it")
                }
            case .declined(let why):
                standardOutput.write(line: "the vendor declined the counter: \(why); the offer still stands")
            }
        }
    }

    struct Accept: AsyncParsableCommand {
        /// Pins the offer's vendor when it was found over Nostr and is not pinned yet: shown, then on the person's
        /// yes (or `--pin`), as `vendor add` pins (PROTOCOL.md §6.3).
        func pinIfAsked(_ agent: Agent) throws {
            let found = try agent.vault.offer(named: offer)
            try VendorCommand.Pin.pin(found.vendor, agent: agent, withoutAsking: pin, flag: "--pin")
        }

        static let configuration = CommandConfiguration(
            abstract: "Accept an offer: shows exactly what goes to whom under which terms, then seals and sends it.",
            discussion: """
                The intent's persona decides: its data is sent, under its sharing rules, signed with its key. Rules: \
                always is sent; ask needs your yes (or --yes); never refuses and names the rule to change.

                The accept is signed under exactly your intent's terms. An offer that adds terms is refused unless \
                you name each added term with --agree-terms; --yes never implies that. Offers that have expired or \
                lack your terms are refused. An intent that already has a deal needs --another for a second one.

                The deal is recorded as sending, with its audit entry, before the data leaves; then confirmed, \
                declined, or unconfirmed (not delivered, or no valid answer: `proffer deal retry DEAL` sends it again).
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(
            help: "The offer, as listed (e.g. lumen-cameras/v9a1b2c3), its id, or the start of either.",
            completion: VaultCompletion.openOffers)
        var offer: String
        @Flag(help: "Consent in advance to sending data whose rule is ask.") var yes = false
        @Option(
            name: .customLong("agree-terms"), parsing: .upToNextOption,
            help: ArgumentHelp("Terms the offer adds that you agree to, each by id.", valueName: "id"))
        var agreedTerms: [String] = []
        @Flag(help: "Make a deal although the intent already has one.") var another = false
        @Flag(help: "Pin the vendor of an offer to a public intent, found over Nostr, without asking.") var pin = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            try pinIfAsked(agent)
            let agreed = try agreedTerms.flatMap { $0.split(separator: ",") }.map { text in
                guard let id = TermsID(String(text)) else {
                    throw CLIError(.usage, "--agree-terms \"\(text)\" is not a terms id: see `proffer msg terms`")
                }
                return id
            }
            let plan = try agent.planAcceptance(offerName: offer, agreedTerms: agreed, another: another)
            let message = plan.offer.message
            standardOutput.write(
                line:
                    "Accepting \(plan.offer.name): \(VendorText.clean(message.item ?? message.sku?.description ?? "-")), "
                    + "\(priceText(message.price, quantity: message.qty?.value))"
                    + "\(message.eta.map { ", eta \($0)" } ?? "")")
            let terms = plan.terms.map(\.description).joined(separator: ", ")
            if !plan.extraTerms.isEmpty {
                standardOutput.write(
                    line: "You agreed to the added terms \(plan.extraTerms.map(\.description).joined(separator: ", "))."
                )
            }
            if plan.items.isEmpty {
                standardOutput.write(line: "No personal data is sent. Terms: \(terms.nonEmpty ?? "none").")
            } else {
                standardOutput.write(
                    line: "This sends persona \(plan.persona)'s data to \(plan.vendor.profileName ?? plan.vendor.name) "
                        + "(\(plan.vendor.name)), sealed to its pinned key, under the terms \(terms.nonEmpty ?? "none"):"
                )
                var rows: [[String]] = []
                for item in plan.items {
                    let value = try agent.vault.preference(key: item.category.rawValue, persona: plan.persona)?.value
                    rows.append(["  " + item.category.rawValue, value ?? "", "(rule: \(item.rule.rawValue))"])
                }
                printTable(["  DATA", "VALUE", "RULE"], rows)
            }
            var consented = yes
            if plan.needsConsent && !yes {
                consented = try confirm("Send it?", orPass: "--yes")
                guard consented else { throw CLIError.declined("nothing was sent") }
            }
            let deal = try await agent.accept(plan, consented: consented, timeout: network.duration(vault: agent.vault))
            switch deal.state {
            case .confirmed:
                standardOutput.write(
                    line: "deal \(deal.id) confirmed by \(deal.vendor); see `proffer deal show \(deal.id)`")
            case .declined:
                throw CLIError(
                    "\(deal.vendor) declined: \(deal.problem ?? "no reason given") (recorded as deal \(deal.id))")
            case .forgetPending, .forgotten:
                // Another process asked for a forget while this accept was on its way: the vendor declines the
                // accept when it comes (PROTOCOL.md §4.1), so there is nothing to retry.
                throw CLIError(
                    "deal \(deal.id) is \(deal.state.rawValue): a forget was sent while this accept was on its way, and "
                        + "the vendor does not keep an accept it was asked to forget; see `proffer deal show \(deal.id)`"
                )
            case .sending, .unconfirmed:
                throw AgentError.unconfirmed(deal)
            }
        }
    }

    /// Says why vendors made no offer for these intents, as each said (a line per intent and vendor).
    static func printNoOffers(_ intents: [StoredIntent]) {
        let rows = intents.filter { $0.state == .published }.flatMap { intent in
            (intent.declinedBy ?? [:]).sorted { $0.key < $1.key }.map { vendor, why in
                [intent.id.description, vendor, VendorText.clean(why)]
            }
        }
        guard !rows.isEmpty else { return }
        standardOutput.write(line: "")
        standardOutput.write(line: "vendors that made no offer, and why:")
        printTable(["INTENT", "VENDOR", "WHY"], rows)
    }

    struct Decline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decline an offer and tell the vendor; the offer stays open if the vendor cannot be told.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The offer, as listed, its id, or the start of either.", completion: VaultCompletion.openOffers)
        var offer: String
        @Option(help: "A reason for the vendor (short plain text).") var why: String?

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            try await agent.decline(offerName: offer, why: why, timeout: network.duration(vault: agent.vault))
            standardOutput.write(line: "declined \(try agent.vault.offer(named: offer).name)")
        }
    }
}
