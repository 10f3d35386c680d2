import Foundation
import GRDB
import ProfferCrypto
import ProfferWire

extension Vault {
    /// Adds a vendor the person deals with.
    ///
    /// - Throws: ``VaultError`` when the name is taken or the URL is not an http(s) URL.
    public func addVendor(_ newVendor: Vendor) throws {
        var vendor = newVendor
        if vendor.identityLabel == nil { vendor.identityLabel = Hex.encode(SecureRandom.bytes(16)) }
        try Vault.checkName(vendor.name, of: "vendor")
        // A vendor found over Nostr has no HTTP endpoint: its URL is its NIP-21 `nostr:npub1…`.
        let isNostr = vendor.isNostrOnly && vendor.nostrKey != nil
        guard
            isNostr
                || (URL(string: vendor.baseURL).map { ["http", "https"].contains($0.scheme ?? "") && $0.host != nil }
                    ?? false)
        else {
            throw VaultError(
                .invalidInput(
                    "\"\(vendor.baseURL)\" is not a vendor URL: write it like https://shop.example/proffer"
                        + (vendor.baseURL.contains("://")
                            ? "" : " (with its scheme: https://, or http:// to this machine)")))
        }
        try write { transaction in
            try Vault.requireNew(
                url: vendor.baseURL, key: vendor.signingKey,
                among: transaction.reader.all(Vendor.self).records.map(\.record))
            try transaction.insert(vendor, duplicateName: vendor.name)
            // The name was free, so whatever intents still keep under it belonged to a vendor since removed: the new
            // one starts with none of it, so it gets fresh ids and is never told of intents it did not receive.
            for var intent in try transaction.reader.all(StoredIntent.self).records
            where intent.record.mentions(vendor: vendor.name) {
                intent.record.forget(vendor: vendor.name)
                try transaction.update(intent)
            }
        }
    }

    /// Checks that no vendor is known at `url` yet.
    public func requireNewVendor(url: String) throws {
        try Vault.requireNew(url: url, key: nil, among: vendors())
    }

    /// Refuses a vendor already known by its URL or its key: the same vendor under two names would have two
    /// pairwise identities and split its deals.
    static func requireNew(url: String, key: SigningPublicKey?, among known: [Vendor]) throws {
        if let same = known.first(where: { Vault.sameURL($0.baseURL, url) }) {
            throw VaultError(
                .invalidInput("\(url) is already known as vendor \(same.name): see `proffer vendor show \(same.name)`"))
        }
        if let key, let same = known.first(where: { $0.signingKey == key }) {
            throw VaultError(
                .invalidInput(
                    "the vendor at \(url) presents the key of vendor \(same.name) (\(same.baseURL)): it is the same "
                        + "vendor, already added"))
        }
    }

    /// Whether two base URLs name the same endpoint: scheme and host in any case, a trailing `/` ignored.
    static func sameURL(_ first: String, _ second: String) -> Bool {
        func normal(_ url: String) -> String {
            var text = url
            while text.hasSuffix("/") { text.removeLast() }
            guard let components = URLComponents(string: text) else { return text }
            let port = components.port.map { ":\($0)" } ?? ""
            return
                "\(components.scheme?.lowercased() ?? "")://\(components.host?.lowercased() ?? "")\(port)\(components.path)"
        }
        return normal(first) == normal(second)
    }

    /// Replaces what is stored about the vendor of the same name. The person's notes stay as stored (only
    /// ``addVendorNote(_:toVendor:at:)`` changes them), so a copy read before a note was added cannot drop it.
    ///
    /// - Throws: ``VaultError`` when the vendor of that name is another one now (removed and added again).
    public func updateVendor(_ vendor: Vendor) throws {
        try write { transaction in
            var stored = try fetchVendor(named: vendor.name, in: transaction.reader)
            guard stored.record.identityLabel == vendor.identityLabel else {
                throw VaultError(
                    .refused("vendor \(vendor.name) was removed and added again meanwhile: nothing was changed"))
            }
            var replacement = vendor
            replacement.notes = stored.record.notes
            stored.record = replacement
            try transaction.update(stored)
        }
    }

    /// Keeps a note of the person's on a vendor, sealed with it.
    ///
    /// - Throws: ``VaultError`` when the vendor is unknown, or the text is empty, longer than
    ///   ``maximumNoteLength`` characters, or holds control characters.
    @discardableResult
    public func addVendorNote(_ text: String, toVendor name: String, at date: Date = Date()) throws -> Vendor {
        let note = text.trimmingCharacters(in: .whitespaces)
        guard !note.isEmpty else { throw VaultError(.invalidInput("the note is empty: write what happened")) }
        guard note.count <= Vault.maximumNoteLength else {
            throw VaultError(
                .invalidInput(
                    "the note is \(note.count) characters long; keep it to \(Vault.maximumNoteLength), or add several"))
        }
        // A newline or escape sequence in a note would forge rows in listings that show it.
        guard !note.unicodeScalars.contains(where: \.hidesOrMovesText) else {
            throw VaultError(
                .invalidInput(
                    "the note holds control or text-direction characters (a newline or tab, say): write one line"))
        }
        return try write { transaction in
            var stored = try fetchVendor(named: name, in: transaction.reader)
            stored.record.notes = (stored.record.notes ?? []) + [VendorNote(at: date, text: note)]
            try transaction.update(stored)
            return stored.record
        }
    }

    /// The longest note ``addVendorNote(_:toVendor:at:)`` keeps, in characters.
    public static let maximumNoteLength = 1000

    /// Remembers that a vendor presented other keys than the pinned ones (`change`), or forgets it (`nil`), for
    /// `proffer due`. Read and written in one transaction, and only while the vendor of that name is still the one
    /// with `identityLabel`: a vendor removed and added again meanwhile is left alone.
    public func setKeyChange(_ change: PresentedKeyChange?, ofVendor name: String, identityLabel: String?) throws {
        try write { transaction in
            var stored = try fetchVendor(named: name, in: transaction.reader)
            guard stored.record.identityLabel == identityLabel, stored.record.keyChange != change else { return }
            stored.record.keyChange = change
            try transaction.update(stored)
        }
    }

    /// Every vendor that opens, by name.
    public func vendors() throws -> [Vendor] {
        try listAll(Vendor.self).sorted { $0.name < $1.name }
    }

    /// The vendor named `name` (in any case).
    public func vendor(named name: String) throws -> Vendor {
        try read { reader in try fetchVendor(named: name, in: reader).record }
    }

    /// Removes a vendor from the vault. The intents sent to it keep it in their history as `NAME (removed)`.
    ///
    /// - Parameter force: Remove it even though it may hold the person's data or open intents; once removed, nothing
    ///   can reach it.
    /// - Returns: What the vendor may still hold (empty unless `force`).
    /// - Throws: ``VaultError`` when the vendor may hold data disclosed in a deal not forgotten, or holds published
    ///   intents that have not lapsed, unless `force`.
    @discardableResult
    public func removeVendor(named name: String, force: Bool = false) throws -> VendorRemoval {
        try write { transaction in
            let vendor = try fetchVendor(named: name, in: transaction.reader)
            let now = Date()
            let intents = try transaction.reader.all(StoredIntent.self).records
            let open = intents.map(\.record).filter {
                $0.state(at: now) == .published && ($0.sentTo ?? []).contains(vendor.record.name)
            }.map(\.id)
            // The audit chain's word counts too: a deal whose record was lost may still have left data there.
            let holding = try Vault.dealsHoldingData(in: transaction.reader) { dealVendor, _ in
                dealVendor.lowercased() == vendor.record.name.lowercased()
            }
            guard force || (holding.isEmpty && open.isEmpty) else {
                // Every reason at once, so the person settles them all before trying again.
                var reasons: [String] = []
                if !holding.isEmpty {
                    reasons.append(
                        "it may still hold your data: \(Vault.describe(holding)); ask it to forget first (`proffer deal "
                            + "forget DEAL`)")
                }
                if !open.isEmpty {
                    reasons.append(
                        "it holds your published intents \(open.map(\.description).joined(separator: ", ")) open, and "
                            + "once it is removed it cannot be told they are withdrawn; withdraw them first (`proffer "
                            + "intent withdraw ID`)")
                }
                throw VaultError(
                    .refused(
                        "\(vendor.record.name) is still in use: " + reasons.joined(separator: "; and ")
                            + ". Or pass --force to remove it anyway"))
            }
            try transaction.delete(vendor)
            for var intent in intents where intent.record.mentions(vendor: vendor.record.name) {
                intent.record.rename(vendor: vendor.record.name, to: RemovedName.of(vendor.record.name))
                try transaction.update(intent)
            }
            // Its open offers can no longer be acted on: nothing would reach it.
            for var offer in try transaction.reader.all(StoredOffer.self).records
            where offer.record.vendor == vendor.record.name && offer.record.state == .open {
                offer.record.state = .withdrawn
                try transaction.update(offer)
            }
            return VendorRemoval(holding: holding, openIntents: open)
        }
    }

    private func fetchVendor(named name: String, in reader: RecordReader) throws -> Stored<Vendor> {
        try reader.require(Vendor.named(name), listedBy: "vendor list", suggesting: \.name)
    }

    /// The deals under which a vendor may still hold disclosed data (none forgotten), among those `matching`: kept
    /// deals, and deals whose records were lost but whose disclosure the audit chain records (``LostDeal``).
    static func dealsHoldingData(in reader: RecordReader, matching: (_ vendor: String, _ persona: String) -> Bool)
        throws -> [HeldDisclosure]
    {
        let kept = try reader.all(StoredDeal.self).records.map(\.record).filter {
            matching($0.vendor, $0.persona) && $0.state.vendorMayHoldData && !$0.disclosed.isEmpty
        }.map { HeldDisclosure(vendor: $0.vendor, categories: $0.disclosed, deal: $0.id, state: $0.state.rawValue) }
        let lost = try lostDeals(in: reader).filter { $0.vendorMayHoldData && matching($0.vendor, $0.persona) }.map {
            HeldDisclosure(
                vendor: $0.vendor, categories: $0.categories, deal: $0.id, state: "record lost, per the audit log")
        }
        return kept + lost
    }

    /// "postal, name (deal k7f3q2ab, confirmed); …".
    static func describe(_ holding: [HeldDisclosure]) -> String {
        holding.map(\.description).joined(separator: "; ")
    }
}

/// What a removed vendor may still have: data under deals not forgotten, and intents it holds open.
public struct VendorRemoval: Sendable {
    public let holding: [HeldDisclosure]
    public let openIntents: [MessageID]
}

/// Data a vendor may still hold under one deal.
public struct HeldDisclosure: Sendable, CustomStringConvertible {
    public let vendor: String
    public let categories: [DataCategory]
    public let deal: MessageID
    /// The deal's state, or that its record was lost.
    public let state: String

    public var description: String {
        "\(vendor): \(categories.map(\.rawValue).joined(separator: ", ")) (deal \(deal), \(state))"
    }
}
