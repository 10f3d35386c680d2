import Foundation
import ProfferEnvelope
import ProfferWire

/// What a vendor sells and on which terms: read from the JSON file given to `proffer-vendor serve --catalog`.
///
/// ```json
/// {"name": "Lumen Cameras", "terms": ["sd-base", "pdc-intent"], "regions": ["DE", "AT"], "offerValidity": "2d",
///  "items": [{"sku": "xt5-body", "title": "X-T5 body", "category": "camera.mirrorless", "price": "1149EUR",
///             "floor": "1079EUR", "stock": 4, "eta": "3d", "needs": ["name", "postal"]}]}
/// ```
public struct Catalog: Sendable {
    public struct Item: Sendable {
        public let sku: SKU
        public let title: String
        public let category: IntentCategory
        public let price: Money
        /// The lowest price a counter can reach.
        public let floor: Money
        public let stock: Int
        public let eta: TimeSpan
        public let needs: [DataCategory]
        /// Where this item is delivered or the service given; the catalog's regions when absent.
        public let regions: [Region]
        /// An intent this item answers waits on the vendor's desk, to be priced by hand (`"answer": "hold"`).
        public var holds = false
    }

    public let name: String
    public let terms: [TermsID]
    /// The category prefixes the profile announces.
    public let categories: [IntentCategory]
    public let regions: [Region]
    /// The intent kinds the vendor answers (a shop that sells answers `#buy`, not `#rent`); all four when the file
    /// names none.
    public let kinds: [MessageKind]
    /// How long an offer stands, counted from its envelope's `ts`.
    public let offerValidity: TimeSpan
    public let items: [Item]
    /// Intents worth more than this (quantity × the price they would be offered at, in its currency) wait on the
    /// vendor's desk instead of being answered automatically (`"hold_above"`).
    public let holdAbove: Money?

    /// Why a catalog file was refused: a ``code`` and a message naming the item and field to fix.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        /// What kind of fault this is; new codes may be added.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            public let description: String
            private init(_ name: String) { description = name }

            /// The file cannot be read.
            public static let unreadable = Code("unreadable")
            /// The file is not JSON, or a member is missing, null or of the wrong type.
            public static let badJSON = Code("bad-json")
            /// A value breaks a rule of the catalog or the protocol (a price, a category, a term).
            public static let badValue = Code("bad-value")
        }

        public let code: Code
        public let message: String
        public var description: String { message }

        init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    }

    private struct File: Decodable {
        struct Item: Decodable {
            var sku: String
            var title: String
            var category: String
            var price: String
            var floor: String?
            var stock: Int?
            var eta: String
            var needs: [String]?
            var regions: [String]?
            var answer: String?
        }
        var name: String
        var terms: [String]
        var categories: [String]?
        var regions: [String]
        var kinds: [String]?
        var offerValidity: String?
        var items: [Item]
        var holdAbove: String?

        enum CodingKeys: String, CodingKey {
            case name, terms, categories, regions, kinds, offerValidity, items
            case holdAbove = "hold_above"
        }
    }

    /// Reads and checks a catalog file.
    ///
    /// - Throws: ``Invalid`` saying which field is wrong and how.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(.unreadable, "cannot read the catalog \(path)")
        }
        try self.init(json: data, source: path)
    }

    public init(json: Data, source: String = "the catalog") throws {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch let DecodingError.keyNotFound(key, context) {
            throw Invalid(.badJSON, "\(source): \(Catalog.path(context.codingPath + [key])) is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Invalid(.badJSON, "\(source): \(Catalog.path(context.codingPath)) has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw Invalid(.badJSON, "\(source): \(Catalog.path(context.codingPath)) is null")
        } catch {
            throw Invalid(.badJSON, "\(source) is not valid JSON: \(Catalog.syntaxError(in: Array(json)))")
        }
        func fail(_ what: String) -> Invalid { Invalid(.badValue, "\(source): \(what)") }
        guard !file.name.isEmpty, file.name.unicodeScalars.count <= 64,
            !file.name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw fail("name must be 1 to 64 characters, without control characters")
        }
        name = file.name
        terms = try file.terms.map { raw in
            guard let id = TermsID(raw), id.definition != nil else {
                throw fail("\"\(raw)\" in terms is not a registered terms id (see `proffer msg terms`)")
            }
            return id
        }
        guard !terms.isEmpty else { throw fail("terms must list at least one terms id, such as sd-base") }
        let catalogRegions = try file.regions.map { raw in
            guard let region = Region(raw) else { throw fail("\"\(raw)\" in regions is not an ISO 3166 code") }
            return region
        }
        regions = catalogRegions
        kinds = try (file.kinds ?? ["buy", "rent", "hire", "fix"]).map { name in
            guard let kind = MessageKind(rawValue: name.lowercased()), kind.isIntent else {
                throw fail("kinds: \"\(name)\" is not an intent kind: buy, rent, hire or fix")
            }
            return kind
        }
        guard !kinds.isEmpty else { throw fail("kinds must name at least one of buy, rent, hire, fix") }
        let validity = file.offerValidity ?? "2d"
        guard let span = TimeSpan(validity) else { throw fail("offerValidity \"\(validity)\" is not like 48h or 2d") }
        offerValidity = span
        var seen = Set<String>()
        let parsedItems: [Item] = try file.items.enumerated().map { index, raw in
            let label = "items[\(index)] (\(raw.sku))"
            guard let sku = SKU(raw.sku), seen.insert(sku.description).inserted else {
                throw fail("\(label): sku must be a unique token like xt5-body")
            }
            guard !raw.title.isEmpty, raw.title.unicodeScalars.count <= 64, Catalog.isProtocolText(raw.title) else {
                throw fail(
                    "\(label).title must be 1 to 64 characters of plain text (no control or bidirectional characters): "
                        + "it goes into every offer as item:")
            }
            guard (raw.stock ?? 0) >= 0 else { throw fail("\(label).stock must be 0 or more, not \(raw.stock!)") }
            guard let category = IntentCategory(raw.category) else {
                throw fail("\(label): category \"\(raw.category)\" is not like camera.mirrorless")
            }
            guard let price = Money(raw.price) else {
                throw fail("\(label): price \"\(raw.price)\" is not like 1149EUR")
            }
            let floor =
                try raw.floor.map { text in
                    guard let floor = Money(text) else { throw fail("\(label): floor \"\(text)\" is not like 1079EUR") }
                    return floor
                } ?? price
            guard floor.currency == price.currency, floor.thousandths <= price.thousandths else {
                throw fail("\(label): floor must be in the price's currency and not above it")
            }
            guard let eta = TimeSpan(raw.eta) else { throw fail("\(label): eta \"\(raw.eta)\" is not like 3d") }
            let needs = try (raw.needs ?? []).map { name in
                guard let category = DataCategory(rawValue: name) else {
                    throw fail("\(label): \"\(name)\" in needs is not a data category (see `proffer msg categories`)")
                }
                return category
            }
            let itemRegions = try raw.regions.map { list in
                try list.map { code in
                    guard let region = Region(code) else { throw fail("\(label): region \"\(code)\" is not ISO 3166") }
                    return region
                }
            }
            guard raw.answer == nil || raw.answer == "hold" || raw.answer == "auto" else {
                throw fail("\(label).answer must be \"auto\" (the default) or \"hold\" (priced by hand at the desk)")
            }
            var item = Item(
                sku: sku, title: raw.title, category: category, price: price, floor: floor,
                stock: raw.stock ?? 1_000_000, eta: eta, needs: needs, regions: itemRegions ?? catalogRegions)
            item.holds = raw.answer == "hold"
            return item
        }
        guard !parsedItems.isEmpty else { throw fail("items must list at least one item") }
        holdAbove = try file.holdAbove.map { text in
            guard let money = Money(text) else { throw fail("hold_above \"\(text)\" is not like 2000EUR") }
            return money
        }
        items = parsedItems
        if let explicit = file.categories {
            categories = try explicit.map { raw in
                guard let category = IntentCategory(raw) else { throw fail("category \"\(raw)\" is malformed") }
                return category
            }
        } else {
            var prefixes: [IntentCategory] = []
            for item in parsedItems {
                let top = IntentCategory(String(item.category.segments[0]))!
                if !prefixes.contains(top) { prefixes.append(top) }
            }
            categories = prefixes
        }
    }

    /// Whether `text` can be an offer's `item:` value: a message carrying it parses.
    static func isProtocolText(_ text: String) -> Bool {
        var offer = Message(kind: .offer)
        (offer.id, offer.re, offer.price) = (MessageID(bits: 1), MessageID(bits: 2), Money("1EUR"))
        offer.item = text
        return (try? Message.parse(offer.canonicalForm))?.item == text
    }

    /// Where the JSON breaks, as "line L, column C: reason".
    static func syntaxError(in bytes: [UInt8]) -> String {
        do {
            _ = try StrictJSON.parse(bytes)
            return "it does not read as JSON"
        } catch {
            let before = bytes.prefix(error.offset)
            let line = before.filter { $0 == 0x0A }.count + 1
            let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let column = String(decoding: bytes[lineStart..<error.offset], as: UTF8.self).unicodeScalars.count + 1
            return "line \(line), column \(column): \(error.reason)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(
            in: CharacterSet(charactersIn: "."))
    }

    /// The items that answer `intent`: category within the intent's, unit price within its range and currency (above its
    /// max only when the floor is not, see ``price(of:for:)``),
    /// delivered to one of its regions, enough in stock. Cheapest first.
    public func matches(_ intent: Message) -> [Item] {
        guard let category = intent.category, kinds.contains(intent.kind) else { return [] }
        let quantity = intent.qty?.value ?? 1
        return items.filter { item in
            guard item.category.isWithin(category), item.stock >= quantity else { return false }
            // An item priced above the intent's max is still offered, at the max, when the vendor would go that low.
            if let max = intent.max, max.currency != item.price.currency || item.floor.thousandths > max.thousandths {
                return false
            }
            if let min = intent.min, min.currency != item.price.currency || item.price.thousandths < min.thousandths {
                return false
            }
            if let wanted = intent.regions {
                return wanted.contains { region in
                    item.regions.contains { $0 == region || (region.description.hasPrefix($0.description + "-")) }
                }
            }
            return true
        }.sorted { price(of: $0, for: intent).thousandths < price(of: $1, for: intent).thousandths }
    }

    /// The unit price `item` is offered at for `intent`: its price, or the intent's max when that is lower and not
    /// below the item's floor (meeting a buyer's budget is what a counter would reach anyway).
    public func price(of item: Item, for intent: Message) -> Money {
        guard let max = intent.max, max.currency == item.price.currency, max.thousandths < item.price.thousandths,
            max.thousandths >= item.floor.thousandths
        else { return item.price }
        return max
    }

    public func item(sku: String) -> Item? { items.first { $0.sku.description == sku } }

    /// Whether an intent these items answer waits on the desk: one of them is held, or the cheapest offer's value
    /// (quantity × price) is above ``holdAbove`` in its currency.
    public func holds(_ intent: Message, answeredBy items: [Item]) -> Bool {
        guard let cheapest = items.first else { return false }
        if items.contains(where: \.holds) { return true }
        guard let limit = holdAbove else { return false }
        let price = price(of: cheapest, for: intent)
        let value = price.thousandths * Int64(intent.qty?.value ?? 1)
        return price.currency == limit.currency && value > limit.thousandths
    }

    /// Why no item answers `intent`, in words a person can act on (PROTOCOL.md §4.1 lets a vendor say so in one
    /// `decline`): the first of category, region, currency, stock and price that rules every item out. Only for an
    /// intent ``matches(_:)`` finds nothing for.
    public func whyNoOffer(for intent: Message) -> String { unmatched(intent).text }

    /// ``whyNoOffer(for:)`` with a code the vendor's desk counts by: `kind`, `category`, `region`, `currency`, `stock`,
    /// `price` or `fields`.
    public func unmatched(_ intent: Message) -> (code: String, text: String) {
        guard let category = intent.category else { return ("kind", "this is not an intent") }
        guard kinds.contains(intent.kind) else {
            return (
                "kind",
                "this vendor answers \(kinds.map { "#" + $0.rawValue }.joined(separator: ", ")), not #\(intent.kind.rawValue)"
            )
        }
        var candidates = items.filter { $0.category.isWithin(category) }
        guard !candidates.isEmpty else {
            let sold = Set(items.map { $0.category.description }).sorted().joined(separator: ", ")
            return ("category", "no items in \(category): this vendor sells \(sold)")
        }
        if let wanted = intent.regions {
            let served = candidates.filter { item in
                wanted.contains { region in
                    item.regions.contains { $0 == region || region.description.hasPrefix($0.description + "-") }
                }
            }
            guard !served.isEmpty else {
                let regions = Set(candidates.flatMap { $0.regions.map(\.description) }).sorted().joined(separator: ",")
                return (
                    "region", "does not serve \(wanted.map(\.description).joined(separator: ",")): it serves \(regions)"
                )
            }
            candidates = served
        }
        if let currency = (intent.max ?? intent.min)?.currency,
            !candidates.contains(where: { $0.price.currency == currency })
        {
            return ("currency", "prices are in \(candidates[0].price.currency), not \(currency)")
        }
        let quantity = intent.qty?.value ?? 1
        let stocked = candidates.filter { $0.stock >= quantity }
        guard !stocked.isEmpty else { return ("stock", "fewer than \(quantity) in stock") }
        let prices = stocked.map(\.price).sorted { $0.thousandths < $1.thousandths }
        if let max = intent.max, !stocked.contains(where: { $0.floor.thousandths <= max.thousandths }) {
            return ("price", "nothing at \(max) or less: the lowest price is \(prices[0])")
        }
        if let min = intent.min, let highest = prices.last, highest.thousandths < min.thousandths {
            return ("price", "nothing at \(min) or more: the highest price is \(highest)")
        }
        return ("fields", "no item matches every field of the intent")
    }
}
