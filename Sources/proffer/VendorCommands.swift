import ArgumentParser
import Foundation
import ProfferAgent
import ProfferAudit
import ProfferCrypto
import ProfferEnvelope
import ProfferVault
import ProfferWire

struct VendorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vendor", abstract: "Manage the vendors you deal with and the keys pinned for them.",
        subcommands: [
            Add.self, List.self, Show.self, Categories.self, Note.self, Pin.self, Repin.self, SetURL.self, Remove.self,
        ])

    /// How the agent reaches a vendor, for listings.
    static func transport(_ vendor: Vendor) -> String {
        if vendor.isNostrOnly {
            return vendor.isPinned ? "nostr" : "nostr (not pinned; found on \(vendor.foundOn ?? "a relay"))"
        }
        if vendor.baseURL.lowercased().hasPrefix("https:") { return "https" }
        return vendor.allowsHTTP ? "http (allowed)" : "http (this machine)"
    }

    /// A vendor as `--json` shows it.
    struct Listing: Encodable {
        let name: String
        let profileName: String?
        let url: String
        let transport: String
        let fingerprint: String?
        let terms: [String]
        let categories: [String]
        let added: Date
        let profileTime: String?
        /// Where it answers public intents: its Nostr key (npub) and relays, when its profile names them.
        let nostr: String?
        let relays: [String]?

        init(_ vendor: Vendor) {
            (name, profileName, url, transport) = (
                vendor.name, vendor.profileName, vendor.baseURL, VendorCommand.transport(vendor)
            )
            fingerprint = vendor.signingKey.map { ProfferEnvelope.fingerprint(of: $0) }
            terms = vendor.terms.map(\.description)
            categories = vendor.categories.map(\.description)
            (added, profileTime) = (vendor.addedAt, vendor.profileTime)
            nostr = vendor.nostrKey.map { Bech32.encode(prefix: "npub", data: $0.bytes) }
            relays = vendor.relays
        }
    }

    struct Categories: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the product categories your vendors serve: the words an intent's category can use.",
            discussion: """
                Each category your pinned vendors serve, the vendors that serve it, and the subcategories they have \
                made you offers in so far. An intent reaches a vendor when its category is within one the vendor \
                serves: camera.mirrorless is within camera. `proffer msg categories` lists the personal data \
                categories instead (needs: and give:).
                """)
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        /// One served category, as listed.
        struct Row: Encodable {
            let category: String
            let vendors: [String]
            let offeredIn: [String]
        }

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let rows = Categories.rows(
                vendors: try opened.vendors(), offers: try opened.offers(), intents: try opened.intents())
            if json { return try printJSON(rows) }
            if rows.isEmpty {
                return standardOutput.write(line: "no vendors yet: add one with `proffer vendor add URL`")
            }
            printTable(
                ["CATEGORY", "VENDORS", "OFFERED IN"],
                rows.map { [$0.category, $0.vendors.joined(separator: ","), $0.offeredIn.joined(separator: ",")] })
        }

        /// The categories served, sorted, each with its vendors and the subcategories offered in within it.
        static func rows(vendors: [Vendor], offers: [StoredOffer], intents: [StoredIntent]) -> [Row] {
            var served: [String: (category: IntentCategory, vendors: Set<String>, offeredIn: Set<String>)] = [:]
            for vendor in vendors {
                let offeredIn = vendor.categoriesOffered(offers: offers, intents: intents)
                for category in vendor.categories {
                    var entry = served[category.description] ?? (category, [], [])
                    entry.vendors.insert(vendor.name)
                    for offered in offeredIn where offered.isWithin(category) && offered != category {
                        entry.offeredIn.insert(offered.description)
                    }
                    served[category.description] = entry
                }
            }
            return served.keys.sorted().map { key in
                let entry = served[key]!
                return Row(category: key, vendors: entry.vendors.sorted(), offeredIn: entry.offeredIn.sorted())
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a vendor: fetch its profile, verify its self-signature, show its fingerprint, pin its keys.",
            discussion: """
                The URL must be https, or http to this machine (localhost, 127.0.0.1, ::1): over plain http anyone \
                on the way could present their own keys now and read every later disclosure. --allow-http accepts \
                that risk for one vendor, and vendor list shows it.

                On a terminal you are asked to confirm the fingerprint; compare it with one the vendor publishes \
                elsewhere. Scripts pass --yes. The same vendor (same URL or key) is not added twice.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The vendor's base URL, such as https://shop.example/proffer.") var url: String
        @Option(help: "The name to know it by (default: from its profile, e.g. lumen-cameras).") var name: String?
        @Flag(help: "Allow plain http to a host that is not this machine.") var allowHTTP = false
        @Flag(help: "Pin the key without asking.") var yes = false
        @Flag(help: "Write the added vendor as JSON.") var json = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let profile = try await agent.fetchProfile(
                url: url, allowHTTP: allowHTTP, timeout: network.duration(vault: agent.vault))
            if !yes {
                printError("\(VendorText.clean(profile.name)) at \(url)")
                printError("  fingerprint  \(fingerprint(of: profile.signingKey))")
                printError("  terms        \(profile.terms.map(VendorText.clean).joined(separator: ", "))")
                guard try confirm("Pin this key?", orPass: "--yes") else {
                    throw CLIError.declined("nothing was added")
                }
            }
            let vendor = try agent.pin(profile, url: url, name: name, allowHTTP: allowHTTP)
            if json { return try printJSON(Listing(vendor)) }
            standardOutput.write(line: "added vendor \(vendor.name)")
            printTable(
                ["FIELD", "VALUE"],
                [
                    ["name", vendor.profileName ?? vendor.name], ["url", vendor.baseURL],
                    ["transport", VendorCommand.transport(vendor)],
                    ["fingerprint", vendor.signingKey.map(fingerprint(of:)) ?? "none"],
                    ["terms", vendor.terms.map(\.description).joined(separator: ", ")],
                    ["categories", vendor.categories.map(\.description).joined(separator: ", ")],
                ])
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List vendors, with how each is reached.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let vendors = try vault.openVault(.readOnly).vendors()
            if json { return try printJSON(vendors.map(Listing.init)) }
            if vendors.isEmpty {
                return standardOutput.write(line: "no vendors yet: add one with `proffer vendor add URL`")
            }
            printTable(
                ["NAME", "URL", "TRANSPORT", "FINGERPRINT", "TERMS", "ADDED"],
                vendors.map {
                    [
                        $0.name, $0.baseURL, VendorCommand.transport($0), $0.signingKey.map(fingerprint(of:)) ?? "-",
                        $0.terms.map(\.description).joined(separator: ","), $0.addedAt.shortText,
                    ]
                })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a vendor: its keys, what it holds about you now, its record of kept promises, your notes.",
            discussion: """
                For each deal: the data disclosed, the persona, the terms, when, whether a forget was asked for and \
                whether the vendor confirmed it. The record counts deals confirmed, deliveries on time (marked with \
                `proffer deal received`) and forgets confirmed. A vendor removed from the vault is shown from its \
                deals, as "NAME (removed)", never merged with a later vendor given the same name.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name.", completion: VaultCompletion.vendors) var name: String
        @Flag(
            help:
                "Write JSON: {vendor (null once removed), deals, holdings, record, notes, keyChange, earlierVendorDeals}."
        )
        var json = false

        /// One deal as `vendor show` lists it.
        struct DealLine: Encodable {
            let id: String
            let state: String
            let persona: String
            let item: String?
            let disclosed: [String]
            let terms: [String]
            let date: Date
            let due: Date?
            let received: Date?
            let forgetAsked: Date?
            let forgetConfirmed: Date?

            init(_ facts: DealFacts) {
                let deal = facts.deal
                (id, state, persona, item) = (deal.id.description, deal.state.rawValue, deal.persona, deal.item)
                (disclosed, terms, date) = (
                    deal.disclosed.map(\.rawValue), deal.terms.map(\.description), deal.createdAt
                )
                (due, received, forgetAsked, forgetConfirmed) = (
                    facts.dueAt, deal.receivedAt, facts.forgetAskedAt, facts.forgottenAt
                )
            }
        }

        struct Report: Encodable {
            let vendor: Listing?
            let deals: [DealLine]
            let holdings: [Holding]
            let record: PromiseRecord
            let notes: [VendorNote]
            let keyChange: PresentedKeyChange?
            /// Deals with an earlier vendor of the same name, removed since: another party than this one.
            let earlierVendorDeals: [DealLine]

            enum Keys: String, CodingKey {
                case vendor, deals, holdings, record, notes, keyChange, earlierVendorDeals
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                // Written even when null, so scripts can tell a removed vendor from a missing key.
                try container.encode(vendor, forKey: .vendor)
                try container.encode(deals, forKey: .deals)
                try container.encode(holdings, forKey: .holdings)
                try container.encode(record, forKey: .record)
                try container.encode(notes, forKey: .notes)
                try container.encode(keyChange, forKey: .keyChange)
                try container.encode(earlierVendorDeals, forKey: .earlierVendorDeals)
            }
        }

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let facts = try AuditFacts(vault: opened)
            let removedName = RemovedName.original(in: name)
            let asked = removedName ?? name
            let vendor = removedName == nil ? facts.vendor(named: asked) : nil
            // Deals with a vendor since removed, even when another vendor now has its name, are shown as removed.
            let shown = vendor?.name ?? RemovedName.of(asked)
            let deals = facts.deals(with: shown)
            let earlier = vendor == nil ? [] : facts.deals(with: RemovedName.of(asked))
            // A vendor neither in the vault nor named by a deal: the vault's error names the vendors there are.
            if vendor == nil && deals.isEmpty { _ = try opened.vendor(named: asked) }
            let lines = deals.map(DealLine.init)
            let report = Report(
                vendor: vendor.map(Listing.init), deals: lines, holdings: facts.holdings(vendor: shown),
                record: facts.promiseRecord(vendor: shown), notes: vendor?.notes ?? [], keyChange: vendor?.keyChange,
                earlierVendorDeals: earlier.map(DealLine.init))
            if json { return try printJSON(report) }
            if let vendor {
                let offeredIn = vendor.categoriesOffered(offers: facts.offers, intents: facts.intents).map(
                    \.description
                )
                .sorted()
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["name", vendor.name], ["profile name", vendor.profileName ?? "-"], ["url", vendor.baseURL],
                        ["transport", VendorCommand.transport(vendor)],
                        ["fingerprint", vendor.signingKey.map(fingerprint(of:)) ?? "not pinned"],
                        ["profile dated", vendor.profileTime ?? "-"],
                        ["terms", vendor.terms.map(\.description).joined(separator: ",")],
                        ["categories", vendor.categories.map(\.description).joined(separator: ",")],
                        ["offered in", offeredIn.isEmpty ? "-" : offeredIn.joined(separator: ",")],
                        ["nostr", report.vendor?.nostr ?? "-"],
                        ["relays", vendor.relays?.joined(separator: ", ") ?? "-"],
                        ["added", vendor.addedAt.shortText],
                        ["record", report.record.summary],
                    ] + (vendor.keyChange.map { [["key change", "\($0.at.shortText): \($0.what)"]] } ?? []))
            } else {
                standardOutput.write(line: "\(name) was removed from the vault; its deals remain:")
                standardOutput.write(line: "record: \(report.record.summary)")
            }
            standardOutput.write(line: "")
            let lost = facts.lostDeals.filter { $0.vendor.lowercased() == asked.lowercased() }
            if lines.isEmpty && lost.isEmpty {
                standardOutput.write(line: "no deals with \(name): it holds nothing you disclosed through proffer")
            } else if !lines.isEmpty {
                printTable(
                    ["DEAL", "STATE", "PERSONA", "DISCLOSED", "TERMS", "DATE", "FORGET"],
                    lines.map { line in
                        let forget =
                            line.forgetConfirmed.map { "confirmed \($0.dayText)" }
                            ?? line.forgetAsked.map { "asked \($0.dayText), not confirmed" } ?? "-"
                        return [
                            line.id, line.state, line.persona,
                            line.disclosed.isEmpty ? "nothing" : line.disclosed.joined(separator: ","),
                            line.terms.joined(separator: ","), line.date.shortText, forget,
                        ]
                    })
            }
            if !lost.isEmpty {
                if !lines.isEmpty { standardOutput.write(line: "") }
                standardOutput.write(
                    line:
                        "Deals known from the audit log alone (their records were lost, in a salvaged or damaged vault):"
                )
                printTable(
                    ["DEAL", "STATE", "PERSONA", "DISCLOSED", "TERMS", "DATE", "FORGET"],
                    lost.map { deal in
                        [
                            deal.id.description, "record lost", deal.persona,
                            deal.categories.map(\.rawValue).joined(separator: ","),
                            deal.terms.map(\.description).joined(separator: ","), deal.disclosedAt.shortText,
                            deal.forgottenAt.map { "confirmed \($0.dayText)" }
                                ?? "`proffer deal forget \(deal.id)`",
                        ]
                    })
            }
            if !earlier.isEmpty {
                standardOutput.write(line: "")
                standardOutput.write(
                    line: "\(earlier.count) deal\(earlier.count == 1 ? " was" : "s were") made with an earlier vendor "
                        + "named \(asked), removed since: `proffer vendor show \"\(RemovedName.of(asked))\"`")
            }
            if !report.notes.isEmpty {
                standardOutput.write(line: "")
                printTable(["NOTED", "YOUR NOTE"], report.notes.map { [$0.at.shortText, $0.text] })
            }
        }
    }

    struct Note: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep a note of your own on a vendor (a late delivery, a broken promise), sealed in the vault.",
            discussion:
                "Notes are listed by `proffer vendor show` and in the audit report. One line, up to 1,000 characters.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name.", completion: VaultCompletion.vendors) var name: String
        @Argument(help: "The note.") var text: String

        func run() throws {
            let vendor = try vault.openVault().addVendorNote(text, toVendor: name)
            let count = vendor.notes?.count ?? 0
            standardOutput.write(line: "noted on \(vendor.name) (\(count) note\(count == 1 ? "" : "s") in all)")
        }
    }

    struct SetURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-url", abstract: "Move a vendor to a new URL, once the profile there shows the same keys.",
            discussion: """
                The vendor keeps its name, its deals and your key toward it. Refused when the profile at the new URL \
                presents other keys than those pinned: then it is another vendor, or its keys changed (`proffer \
                vendor repin NAME --url URL`, if it told you so).
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The vendor's name.", completion: VaultCompletion.vendors) var name: String
        @Argument(help: "Its new base URL.") var url: String
        @Flag(help: "Allow plain http to a host that is not this machine.") var allowHTTP = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let moved = try await agent.moveVendor(
                named: name, to: url, allowHTTP: allowHTTP, timeout: network.duration(vault: agent.vault))
            standardOutput.write(line: "vendor \(moved.name) is now at \(moved.baseURL) (same keys)")
        }
    }

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin a vendor found over Nostr: its keys become the ones every later message is checked against.",
            discussion: """
                A vendor that answered a public intent is kept unpinned, with the profile it published on Nostr, and \
                gets nothing from you (no counter, decline or accept) until you pin it. This shows its profile's \
                name, fingerprint and the relay it was found on, and pins it once you agree (--yes on a script); \
                compare the fingerprint with one the vendor publishes elsewhere. `offer accept OFFER --pin` does the \
                same before accepting.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name, as `vendor list` shows it.", completion: VaultCompletion.vendors) var name:
            String
        @Flag(help: "Pin without asking.") var yes = false

        func run() throws {
            let agent = Agent(vault: try vault.openVault())
            guard !(try agent.vault.vendor(named: name)).isPinned else {
                return standardOutput.write(line: "\(name) is pinned already")
            }
            try Pin.pin(name, agent: agent, withoutAsking: yes, flag: "--yes")
        }

        /// Shows a vendor found over Nostr and pins it on the person's word; nothing when it is pinned already.
        static func pin(_ name: String, agent: Agent, withoutAsking: Bool, flag: String) throws {
            let vendor = try agent.vault.vendor(named: name)
            guard !vendor.isPinned else { return }
            standardOutput.write(line: "\(vendor.name) is a vendor you have not pinned. Its profile, found over Nostr:")
            printTable(
                ["FIELD", "VALUE"],
                [
                    ["name", VendorText.clean(vendor.profileName ?? vendor.name)],
                    ["fingerprint", vendor.signingKey.map { fingerprint(of: $0) } ?? "-"],
                    ["nostr", vendor.baseURL], ["found on", vendor.foundOn ?? "-"],
                    ["terms", vendor.terms.map(\.description).joined(separator: ", ")],
                ])
            if !withoutAsking {
                guard try confirm("Pin this vendor's keys, as `vendor add` would?", orPass: flag) else {
                    throw CLIError.declined("nothing was sent, and the vendor stays unpinned")
                }
            }
            _ = try agent.pinFound(vendorNamed: vendor.name)
            standardOutput.write(line: "pinned \(vendor.name)")
        }
    }

    struct Repin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept the keys a vendor now presents. Do this only when the vendor told you its keys changed.",
            discussion: """
                Shows the pinned and the presented fingerprints and asks before pinning (scripts pass --yes). \
                Compare the new fingerprint with one the vendor gave you another way: someone between you and the \
                vendor could present their own keys. With --url, the profile is fetched there, and pinning it also \
                moves the vendor there (a vendor that moved and changed its keys).
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The vendor's name.", completion: VaultCompletion.vendors) var name: String
        @Option(help: "Fetch the profile at this new base URL, and move the vendor there once pinned.") var url: String?
        @Flag(help: "Pin the presented keys without asking.") var yes = false
        @Flag(help: "Allow plain http to this vendor from now on (a vendor added over http before https was required).")
        var allowHTTP = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            let (vendor, profile) = try await agent.presentedProfile(
                of: name, at: url, allowHTTP: allowHTTP, timeout: network.duration(vault: agent.vault))
            let pinned = vendor.signingKey.map(fingerprint(of:)) ?? "none"
            let presented = fingerprint(of: profile.signingKey)
            let sameKeys = vendor.signingKey == profile.signingKey && vendor.boxKey == profile.boxKey
            if !yes && !sameKeys {
                printError("\(vendor.name) at \(vendor.baseURL)")
                printError("  pinned     \(pinned)")
                printError(
                    "  presented  \(presented)\(vendor.boxKey == profile.boxKey ? "" : " (and a new key for sealed data)")"
                )
                guard try confirm("Pin the presented keys?", orPass: "--yes") else {
                    throw CLIError.declined("nothing was changed")
                }
            }
            try agent.repin(vendor, to: profile)
            standardOutput.write(
                line: sameKeys
                    ? "\(vendor.name) presents the pinned keys \(presented); its profile was pinned again"
                        + (url.map { "; it is now at \($0)" } ?? "")
                    : "re-pinned \(vendor.name): \(pinned) → \(presented)" + (url.map { "; it is now at \($0)" } ?? ""))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a vendor.",
            discussion: """
                Refused while the vendor may hold data you disclosed (a deal not forgotten): ask it to forget first \
                with `proffer deal forget DEAL`; and while it holds published intents open: withdraw them first with \
                `proffer intent withdraw ID`. Once it is removed nothing can reach it; --force removes it anyway and \
                lists what stays there. Your notes on it go with it; its deals and intents keep it in their history, \
                shown as "NAME (removed)".
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The vendor's name.", completion: VaultCompletion.vendors) var name: String
        @Flag(help: "Remove it even though it may hold your data or open intents.") var force = false

        func run() throws {
            let removal = try vault.openVault().removeVendor(named: name, force: force)
            standardOutput.write(line: "removed vendor \(name)")
            if !removal.openIntents.isEmpty {
                printError(
                    "warning: \(name) holds intents \(removal.openIntents.map(\.description).joined(separator: ", ")) "
                        + "open until they lapse; it cannot be told they are withdrawn now")
            }
            for held in removal.holding {
                printError(
                    "warning: \(held.vendor) may still hold your \(held.categories.map(\.rawValue).joined(separator: ", ")) "
                        + "(deal \(held.deal), \(held.state)); a forget reaches it only once you add it again")
            }
        }
    }
}
