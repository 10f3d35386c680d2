import ArgumentParser
import Foundation
import ProfferAgent
import ProfferAudit
import ProfferEnvelope
import ProfferNostr
import ProfferVault
import ProfferWire

struct DealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deal",
        abstract:
            "See your deals (both signed envelopes), retry them, ask vendors to forget, and write consent records.",
        discussion: """
            States: sending (the accept was leaving when proffer stopped: whether it arrived is unknown), \
            unconfirmed (not delivered, or no valid answer), confirmed, declined, forget-pending (a forget was asked \
            for and not confirmed yet), forgotten (the vendor confirmed it deleted your data).
            """,
        subcommands: [List.self, Show.self, Retry.self, Forget.self, Received.self, Receipt.self])

    /// A deal as listings show it.
    struct Listing: Encodable {
        let id: String
        let vendor: String
        let persona: String
        let intent: String
        let offer: String
        let item: String?
        let price: String?
        let quantity: Int
        /// The unit price times the quantity.
        let total: String?
        let state: String
        let disclosed: [String]
        let terms: [String]
        let date: Date
        let problem: String?

        /// - Parameter vendors: The vendors in the vault: a deal's vendor not among them shows as `NAME (removed)`.
        init(_ deal: StoredDeal, vendors: [Vendor]) {
            let vendor = vendors.contains(where: deal.wasMade(with:)) ? deal.vendor : RemovedName.of(deal.vendor)
            (id, self.vendor, persona) = (deal.id.description, vendor, deal.persona)
            (intent, offer, item, price) = (
                deal.intentID.description, deal.offerID.description, deal.item, deal.price?.description
            )
            quantity = deal.quantity ?? 1
            total = deal.price?.times(deal.quantity ?? 1)?.description
            (state, disclosed, terms) = (
                deal.state.rawValue, deal.disclosed.map(\.rawValue), deal.terms.map(\.description)
            )
            (date, problem) = (deal.createdAt, deal.problem)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deals, oldest first.")
        @OptionGroup var vault: VaultOptions
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let vendors = try opened.vendors()
            let deals = try opened.deals().map { Listing($0, vendors: vendors) }
            if json { return try printJSON(deals) }
            if deals.isEmpty { return standardOutput.write(line: "no deals yet") }
            printTable(
                ["DEAL", "VENDOR", "PERSONA", "ITEM", "PRICE", "STATE", "DISCLOSED", "TERMS", "DATE"],
                deals.map {
                    [
                        $0.id, $0.vendor, $0.persona, $0.item ?? "-",
                        priceText($0.price.flatMap(Money.init), quantity: $0.quantity),
                        $0.state, $0.disclosed.isEmpty ? "-" : $0.disclosed.joined(separator: ","),
                        $0.terms.joined(separator: ","), $0.date.shortText,
                    ]
                })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one deal with both signed envelopes.")
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The deal's id (its accept's id), or its start.", completion: VaultCompletion.deals) var id:
            String
        @Flag(help: "Write JSON, with the envelopes.") var json = false

        func run() throws {
            let deal = try vault.openVault(.readOnly).deal(id: id)
            if json { return try printJSON(deal) }
            func message(_ envelope: String?) -> String {
                envelope.flatMap(KeptMessage.init).map { VendorText.clean($0.canonical) } ?? "-"
            }
            printTable(
                ["FIELD", "VALUE"],
                [
                    ["deal", deal.id.description], ["vendor", deal.vendor], ["persona", deal.persona],
                    ["item", deal.item ?? "-"], ["price", priceText(deal.price, quantity: deal.quantity)],
                    ["offer", deal.offerID.description], ["intent", deal.intentID.description],
                    ["state", deal.state.rawValue], ["problem", deal.problem ?? "-"],
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
            standardOutput.write(line: "")
            standardOutput.write(line: "accept envelope:  \(VendorText.clean(deal.acceptEnvelope))")
            standardOutput.write(line: "vendor envelope:  \(deal.replyEnvelope.map(VendorText.clean) ?? "-")")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an unconfirmed deal's accept again, with the same ids and the very data first sealed.",
            discussion: """
                The sharing rules as they stand now decide: a category whose rule is now never is not sent again, \
                and one whose rule is ask needs your yes again (or --yes).
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The deal's id, or its start.", completion: VaultCompletion.deals) var id: String
        @Flag(help: "Consent in advance to sending again data whose rule is ask.") var yes = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            var consented = yes
            let asked = try agent.sharingRules(for: try agent.vault.deal(id: id)).filter { $0.rule == .ask }
            if !asked.isEmpty && !yes {
                consented = try confirm(
                    "Send your \(asked.map(\.category.rawValue).joined(separator: ", ")) again?", orPass: "--yes")
                guard consented else { throw CLIError.declined("nothing was sent") }
            }
            let deal = try await agent.retry(
                dealID: id, consented: consented, timeout: network.duration(vault: agent.vault))
            switch deal.state {
            case .confirmed: standardOutput.write(line: "deal \(deal.id) confirmed by \(deal.vendor)")
            case .declined:
                throw CLIError("\(deal.vendor) declined deal \(deal.id): \(deal.problem ?? "no reason given")")
            default: throw AgentError.unconfirmed(deal)
            }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the vendor to delete what you disclosed under a deal.",
            discussion: """
                The deal is forget-pending until the vendor confirms; run this again to retry. The audit log records \
                the request once it reached the vendor, and the deletion once the vendor confirmed it.
                """)
        @OptionGroup var vault: VaultOptions
        @OptionGroup var network: NetworkOptions
        @Argument(help: "The deal's id, or its start.", completion: VaultCompletion.deals) var id: String
        @Flag(help: "Answer yes when asked whether to forget a deal whose goods have not arrived yet.") var yes = false

        func run() async throws {
            let agent = Agent(vault: try vault.openVault())
            // Asked again for what is done: said so, and no error.
            if let done = try? agent.vault.deal(id: id), done.state == .forgotten {
                return standardOutput.write(
                    line: "\(done.vendor) already confirmed it deleted what deal \(done.id) disclosed: nothing to do")
            }
            // Forgetting before delivery deletes the address the vendor delivers to: a habit that loses the goods.
            if !yes, let pending = try undelivered(in: agent.vault) {
                printError(pending)
                guard try confirm("Forget it now anyway?", orPass: "--yes") else {
                    throw CLIError.declined("nothing was sent")
                }
            }
            let deal: StoredDeal
            do {
                deal = try await agent.forget(dealID: id, timeout: network.duration(vault: agent.vault))
            } catch let error as AgentError where error.code != .refused {
                throw AgentError.forgetPending(try agent.vault.deal(id: id), because: error.message)
            }
            if deal.state == .forgotten {
                standardOutput.write(
                    line: "\(deal.vendor) confirmed it deleted "
                        + "\(deal.disclosed.isEmpty ? "what it had" : deal.disclosed.map(\.rawValue).joined(separator: ", ")) "
                        + "of deal \(deal.id)")
            } else {
                throw AgentError.forgetPending(deal, because: deal.problem ?? "the vendor has not confirmed it")
            }
        }

        /// Why forgetting the deal now may lose what it bought, or `nil`: confirmed, not marked arrived, and its
        /// delivery not due yet.
        func undelivered(in opened: Vault) throws -> String? {
            let facts = try AuditFacts(vault: opened)
            guard let deal = facts.deals.first(where: { $0.deal.id.description.hasPrefix(id.lowercased()) }),
                deal.deal.state == .confirmed, deal.deal.receivedAt == nil, !deal.deal.disclosed.isEmpty
            else { return nil }
            if let due = deal.dueAt, due <= facts.now { return nil }
            return "deal \(deal.deal.id)'s goods are not marked arrived"
                + (deal.dueAt.map { " (due \($0.dayText))" } ?? "")
                + ": forgetting now deletes your \(deal.deal.disclosed.map(\.rawValue).joined(separator: ", ")) at "
                + "\(deal.vendorName) before it delivers. Once it arrives: `proffer deal received \(deal.deal.id)`"
        }
    }

    struct Received: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Say that what a deal bought arrived, so `proffer due` stops asking and the vendor's record counts it.",
            discussion: """
                The vendor's record (`proffer vendor show`) counts a delivery on or before its eta (from the \
                vendor's confirmation, else its offer) as on time.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The deal's id, or its start.", completion: VaultCompletion.deals) var id: String
        @Option(help: ArgumentHelp("The day it arrived, in UTC (default: today).", valueName: "YYYY-MM-DD")) var on:
            String?

        func run() throws {
            var day = Date()
            if let on {
                guard let date = CalendarDate(on) else {
                    throw CLIError(.usage, "\"\(on)\" is not a date: write it as YYYY-MM-DD")
                }
                // Noon keeps the day the same in every time zone near UTC; today is now, which has passed.
                let noon = date.endOfDay.addingTimeInterval(-43_200)
                day = date.description == Date().dayText ? Date() : noon
            }
            let deal = try vault.openVault().markReceived(dealID: id, on: day)
            standardOutput.write(line: "deal \(deal.id) with \(deal.vendor) marked received on \(day.dayText)")
        }
    }

    struct Receipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a deal's consent record: ISO/IEC TS 27560 in JSON-LD with W3C DPV, or the deal's JSON.",
            discussion: """
                The record names the data categories by their DPV IRIs, the terms by their IEEE 7012 IRIs, the vendor \
                as controller (name, URL, key fingerprint), you by the pairwise key that vendor knows (never your \
                name), the status (given; withdrawn once the vendor confirmed a forget), and carries the signed \
                envelopes as evidence. schema/consent-record.md says which field comes from what.
                """)
        @OptionGroup var vault: VaultOptions
        @Argument(help: "The deal's id, or its start.", completion: VaultCompletion.deals) var id: String
        @Option(help: "iso27560 (default) or json.") var format: ReceiptFormat = .iso27560
        @Option(help: ArgumentHelp("Write to this file (0600) instead of standard output.", valueName: "file"))
        var output: String?
        @Flag(help: "Replace the file given to --output if it exists.") var force = false

        func run() throws {
            let opened = try vault.openVault(.readOnly)
            let deal = try opened.deal(id: id)
            let bytes: [UInt8]
            switch format {
            case .json:
                bytes = Array(try encodeJSON(deal, pretty: true))
            case .iso27560:
                let facts = try AuditFacts(vault: opened)
                guard let dealFacts = facts.deals.first(where: { $0.deal.id == deal.id }) else {
                    throw CLIError("deal \(deal.id) did not open: see `proffer vault check`")
                }
                bytes = Array(try ConsentRecord.json(of: dealFacts))
            }
            if let output {
                try writePrivateFile(output, bytes + [0x0A], vault: opened, options: vault, overwrite: force)
                printError("wrote the consent record of deal \(deal.id) to \(output)")
            } else {
                standardOutput.write { writer in
                    bytes.withUnsafeBufferPointer { writer.append($0) }
                    writer.append(0x0A)
                }
            }
        }
    }
}
