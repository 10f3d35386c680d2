@testable import ProfferWire

/// A small, fast, seedable generator, so a failing seed reproduces the same message.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random valid messages, and random ways of writing each one that all mean the same message.
struct MessageGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private mutating func pick<T>(_ items: [T]) -> T { items.randomElement(using: &rng)! }

    private static let letters = Array("abcdefghijklmnopqrstuvwxyz")
    private static let textScalars: [Character] = Array("abcXYZ019 \"\\:,.#-_é日本🚲\u{00A0}ß")
    private static let registered = Set(FieldKey.allCases.map(\.description))

    mutating func word(_ length: ClosedRange<Int>, from alphabet: [Character] = letters) -> String {
        String((0..<Int.random(in: length, using: &rng)).map { _ in pick(alphabet) })
    }

    mutating func text(maximum: Int) -> String { word(1...min(maximum, 14), from: Self.textScalars) }

    mutating func money(currency: CurrencyCode? = nil) -> Money {
        let thousandths =
            chance(20)
            ? Int64.random(in: 0...Money.maximumThousandths, using: &rng)
            : Int64.random(in: 0...2_000_000, using: &rng) / 10 * 10
        return Money(
            thousandths: thousandths,
            currency: currency ?? pick(["EUR", "USD", "GBP", "XBT"].map { CurrencyCode($0)! }))!
    }

    mutating func span() -> TimeSpan { TimeSpan(Int.random(in: 1...9999, using: &rng), pick(TimeSpan.Unit.allCases))! }

    mutating func when() -> When {
        if chance(50) { return .after(span()) }
        let year = Int.random(in: 2000...2999, using: &rng)
        let month = Int.random(in: 1...12, using: &rng)
        return .date(
            CalendarDate(
                year: year, month: month,
                day: Int.random(in: 1...CalendarDate.daysIn(month: month, year: year), using: &rng))!)
    }

    mutating func distinct<T: Equatable>(_ count: ClosedRange<Int>, _ make: (inout MessageGenerator) -> T) -> [T] {
        var items: [T] = []
        for _ in 0..<Int.random(in: count, using: &rng) {
            let item = make(&self)
            if !items.contains(item) { items.append(item) }
        }
        return items
    }

    mutating func message() -> Message {
        let kind = pick(MessageKind.allCases)
        var message = Message(kind: kind)
        let allowed = kind.allowedFields.keys
        func wants(_ key: FieldKey, _ generator: inout MessageGenerator) -> Bool {
            kind.requiredFields.contains(key) || (allowed.contains(key) && generator.chance(35))
        }
        if kind.isIntent {
            message.category = IntentCategory(distinct(1...3) { $0.word(1...8) }.joined(separator: "."))
        }
        if wants(.id, &self) { message.id = .random(using: &rng) }
        if wants(.re, &self) { message.re = .random(using: &rng) }
        if wants(.price, &self) { message.price = money() }
        if wants(.min, &self) { message.min = money(currency: CurrencyCode("EUR")) }
        if wants(.max, &self) {
            let max = money(currency: CurrencyCode("EUR"))
            if let min = message.min, min.thousandths > max.thousandths { message.max = min } else { message.max = max }
        }
        if wants(.qty, &self) { message.qty = Quantity(Int.random(in: Quantity.range, using: &rng)) }
        if wants(.item, &self) { message.item = text(maximum: 120) }
        if wants(.sku, &self) { message.sku = SKU(word(1...12, from: Array("AZaz09._/-"))) }
        if wants(.in, &self) {
            let codes = distinct(1...3) { $0.pick(["DE", "FR", "GB-LND", "US-CA", "JP", "BR-SP"]) }
            message.regions = FieldList(codes.map { Region($0)! })
        }
        if wants(.by, &self) { message.by = when() }
        if wants(.eta, &self) { message.eta = span() }
        if wants(.exp, &self) { message.exp = when() }
        if wants(.terms, &self) {
            let ids = distinct(1...2) { $0.pick(["sd-base", "pdc-intent", "sd-base-dp", "x.y"]) }
            message.terms = FieldList(ids.map { TermsID($0)! })
        }
        if wants(.needs, &self) { message.needs = FieldList(distinct(1...3) { $0.pick(DataCategory.allCases) }) }
        if wants(.give, &self) { message.give = FieldList(distinct(1...3) { $0.pick(DataCategory.allCases) }) }
        if wants(.why, &self) { message.why = text(maximum: 120) }
        if wants(.note, &self) { message.note = text(maximum: 120) }
        if wants(.reply, &self) {
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let relays = distinct(0...2) {
                $0.pick(["wss://relay.example", "ws://127.0.0.1:7447", "wss://n.example/a"])
            }
            message.reply = try? NostrReply(publicKey: key, relays: relays)
        }
        if kind == .counter && message.price == nil && message.qty == nil && message.eta == nil { message.eta = span() }
        if kind.isIntent {
            let keys = distinct(0...3) { generator in "x" + generator.word(1...6) }.filter {
                !Self.registered.contains($0)
            }
            message.attributes = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map {
                Attribute(key: $0, value: text(maximum: 64))
            }
        }
        return message
    }

    /// The message written as a person might: any case, any order, extra spaces, leading zeros, needless quotes.
    mutating func messyRendering(of message: Message) -> String {
        var tokens: [String] = []
        var scratch = ByteWriter(capacity: 64)
        message.visitFields(with: &scratch) { key, value, _ in
            // An sku is kept as written, so only its key may change case.
            let written = key == .sku ? message.sku!.description : messy(value)
            tokens.append(randomCase(key.description) + ":" + written)
        }
        for attribute in message.attributes {
            tokens.append(randomCase(attribute.key) + ":" + messy(.text(attribute.value)))
        }
        tokens.shuffle(using: &rng)
        if let category = message.category { tokens.insert(randomCase(category.description), at: 0) }
        tokens.insert("#" + randomCase(message.kind.rawValue), at: 0)
        var text = String(repeating: " ", count: Int.random(in: 0...2, using: &rng))
        for (index, token) in tokens.enumerated() {
            if index > 0 { text += String(repeating: " ", count: Int.random(in: 1...3, using: &rng)) }
            text += token
        }
        return text + String(repeating: " ", count: Int.random(in: 0...2, using: &rng))
    }

    private mutating func randomCase(_ ascii: String) -> String {
        String(ascii.map { character in chance(30) ? Character(character.uppercased()) : character })
    }

    private mutating func messy(_ value: FieldValue) -> String {
        var canonical = ByteWriter(capacity: 256)
        value.writeCanonical(to: &canonical)
        let text = String(decoding: canonical.bytes, as: UTF8.self)
        switch value {
        case .money(let money):
            var amount = money.amount
            let integerDigits = amount.split(separator: ".")[0].count
            if integerDigits < 9 && chance(30) {
                amount = String(repeating: "0", count: Int.random(in: 1...(9 - integerDigits), using: &rng)) + amount
            }
            if chance(30) {
                if !amount.contains(".") {
                    amount += "." + String(repeating: "0", count: Int.random(in: 1...3, using: &rng))
                } else if amount.split(separator: ".")[1].count < 3 {
                    amount += "0"
                }
            }
            return amount + randomCase(money.currency.description.lowercased())
        case .quantity(let quantity):
            let digits = String(quantity.value)
            return String(repeating: "0", count: chance(30) ? Int.random(in: 0...(7 - digits.count), using: &rng) : 0)
                + digits
        case .text(let plain):
            guard !text.hasPrefix("\""), chance(40) else { return text }
            return "\""
                + plain.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .id, .sku, .regions, .when, .span, .terms, .categories:
            return randomCase(text)
        case .reply:
            // The scheme in any case; the bech32 string all in one case, as bech32 requires.
            let nip19 = text.dropFirst("nostr:".count)
            return randomCase("nostr:") + (chance(30) ? nip19.uppercased() : String(nip19))
        }
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
