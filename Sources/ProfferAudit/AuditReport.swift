import Foundation
import Mustache
import ProfferVault
import ProfferWire

/// The audit report: one self-contained HTML page (inline CSS, no script, no font, no image, nothing fetched) that
/// shows the chain's state, a timeline, who holds what now, the terms and their meaning, and forgets never confirmed.
///
/// Rendered from a Mustache template, which HTML-escapes every value: a vendor called `<script>` shows as text.
public enum AuditReport {
    /// A piece of personal data as it stands now, shown only with `--with-values`.
    public struct Value: Sendable {
        public let persona: String
        public let category: DataCategory
        public let value: String

        public init(persona: String, category: DataCategory, value: String) {
            (self.persona, self.category, self.value) = (persona, category, value)
        }
    }

    /// The page for `facts`.
    ///
    /// - Parameter values: The current values of disclosed categories, or `nil` to leave every value out.
    public static func html(_ facts: AuditFacts, values: [Value]? = nil) -> String {
        template.render(context(facts, values: values))
    }

    private static let template: MustacheTemplate = {
        // The template is a constant of this module; a mistake in it fails every test that renders a report.
        do { return try MustacheTemplate(string: AuditReportTemplate.page) } catch {
            fatalError("the audit report's template does not parse: \(error)")
        }
    }()

    static func context(_ facts: AuditFacts, values: [Value]?) -> [String: Any] {
        let holdings = facts.holdings()
        let categories = DataCategory.allCases.filter { category in
            holdings.contains { $0.category == category.rawValue }
        }
        let chain: [String: Any] =
            switch facts.chain {
            case .intact(let entries): ["intact": true, "entries": entries]
            case .broken(let entry, let reason): ["intact": false, "entry": entry, "reason": reason]
            }
        var byVendor: [String: [Holding]] = [:]
        for holding in holdings { byVendor[holding.vendor.lowercased(), default: []].append(holding) }
        let gridRows: [[String: Any]] = facts.vendorNames.compactMap { name in
            guard let held = byVendor[name.lowercased()] else { return nil }
            let cells: [[String: Any]] = categories.map { category in
                let here = held.filter { $0.category == category.rawValue }
                guard let state = cellState(here) else { return ["state": "none", "label": "–", "detail": ""] }
                let detail = here.map {
                    "deal \($0.deal)\($0.recordLost ? " (record lost)" : "") on \($0.since.dayText) under "
                        + $0.terms.joined(separator: ",")
                }
                return ["state": state.rawValue, "label": state.rawValue, "detail": detail.joined(separator: "; ")]
            }
            return ["vendor": name, "cells": cells]
        }
        let termsUsed = Set(facts.deals.filter { !$0.deal.disclosed.isEmpty }.flatMap(\.deal.terms))
        let terms: [[String: Any]] = TermsDefinition.registry.filter { termsUsed.contains($0.id) }.map { term in
            let count = facts.deals.filter { !$0.deal.disclosed.isEmpty && $0.deal.terms.contains(term.id) }.count
            return ["id": term.id.description, "iri": term.iri, "meaning": term.meaning, "deals": count]
        }
        let unconfirmed: [[String: Any]] = facts.deals.filter { $0.deal.state == .forgetPending }.map { facts in
            [
                "deal": facts.deal.id.description, "vendor": facts.vendorName,
                "categories": facts.deal.disclosed.map(\.rawValue).joined(separator: ", "),
                "asked": facts.forgetAskedAt?.shortText ?? "–",
                "delivered": facts.deal.forgetDelivered == true
                    ? "reached the vendor, not confirmed" : "never reached it",
            ]
        }
        let vendors: [[String: Any]] = facts.vendorNames.map { name in
            let vendor = facts.vendor(named: name)
            return [
                "name": name, "profileName": vendor?.profileName ?? "", "url": vendor?.baseURL ?? "removed",
                "record": facts.promiseRecord(vendor: name).summary,
                "notes": (vendor?.notes ?? []).map { ["at": $0.at.dayText, "text": $0.text] },
            ]
        }
        var page: [String: Any] = [
            "generated": facts.now.shortText, "chain": chain,
            "hasProblems": !facts.problems.isEmpty, "problems": facts.problems,
            "categories": categories.map { ["name": $0.rawValue, "meaning": $0.meaning] },
            "hasGrid": !gridRows.isEmpty, "grid": gridRows,
            "hasTimeline": !facts.entries.isEmpty, "timeline": facts.entries.reversed().map(timelineRow),
            "hasTerms": !terms.isEmpty, "terms": terms,
            "hasUnconfirmed": !unconfirmed.isEmpty, "unconfirmed": unconfirmed,
            "hasLost": !facts.lostDeals.isEmpty, "lostCount": facts.lostDeals.count,
            "lost": facts.lostDeals.map { lost -> [String: Any] in
                [
                    "deal": lost.id.description, "vendor": lost.vendor,
                    "categories": lost.categories.map(\.rawValue).joined(separator: ", "),
                    "since": lost.disclosedAt.shortText,
                    "status": lost.forgottenAt.map { "forgotten \($0.dayText)" }
                        ?? (lost.forgetAskedAt == nil ? "held" : "forget asked, not confirmed"),
                ]
            },
            "hasVendors": !vendors.isEmpty, "vendors": vendors,
            "dealCount": facts.deals.count + facts.lostDeals.count, "vendorCount": vendors.count,
            "heldCount": holdings.filter { $0.state == .held }.count,
        ]
        if let values {
            page["withValues"] = true
            page["values"] = values.map {
                ["persona": $0.persona, "category": $0.category.rawValue, "value": $0.value]
            }
        }
        return page
    }

    /// One cell of the grid: held if any deal still holds it, else pending, else forgotten.
    static func cellState(_ holdings: [Holding]) -> HoldingState? {
        if holdings.isEmpty { return nil }
        if holdings.contains(where: { $0.state == .held }) { return .held }
        if holdings.contains(where: { $0.state == .pending }) { return .pending }
        return .forgotten
    }

    static func timelineRow(_ numbered: NumberedAuditEntry) -> [String: Any] {
        let entry = numbered.entry
        return [
            "number": numbered.number, "when": entry.at.shortText, "kind": entry.shortKind, "persona": entry.persona,
            "categories": entry.categories.map(\.rawValue).joined(separator: ", "), "detail": entry.detail,
        ]
    }
}

extension AuditEntry {
    /// One word for the kind of entry, as the report's timeline tags it.
    public var shortKind: String {
        switch kind {
        case .sharingRule: "rule"
        case .disclosure: "disclosure"
        case .forgetRequest: "forget"
        case .forgetConfirmed: "forgotten"
        case .preferenceRemoved: "removed"
        case .salvage: "salvage"
        }
    }

    /// What happened, in words: for `audit list` and the report's timeline.
    public var detail: String {
        let vendor = self.vendor ?? "?"
        let deal = self.deal?.description ?? "?"
        return switch kind {
        case .sharingRule: "sharing rule \(previousRule?.rawValue ?? "none") → \(rule?.rawValue ?? "none")"
        case .disclosure:
            "sent to \(vendor) under \((terms ?? []).map(\.description).joined(separator: ",")), deal \(deal)"
                + (note.map { " (\($0))" } ?? "")
        case .forgetRequest: "asked \(vendor) to delete it, deal \(deal)"
        case .forgetConfirmed: "\(vendor) confirmed it deleted it, deal \(deal)"
        case .preferenceRemoved:
            "removed from the vault (rule was \(previousRule?.rawValue ?? "none"))" + (note.map { ", \($0)" } ?? "")
        case .salvage: note ?? "rebuilt from a salvaged export"
        }
    }
}
