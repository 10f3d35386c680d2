import ProfferWire

/// A reproducible corpus of realistic messages of every kind, 60 to 200 bytes each, for benchmarks.
public enum Corpus {
    /// The corpus benchmarks use: 10,000 messages from seed 7012.
    public static func standard() -> [String] { generate(count: 10_000, seed: 7012) }

    /// `count` messages from `seed`; the same arguments always give the same messages.
    public static func generate(count: Int, seed: UInt64) -> [String] {
        var generator = Generator(seed: seed)
        var messages: [String] = []
        messages.reserveCapacity(count)
        while messages.count < count {
            let message = generator.next()
            let length = message.utf8.count
            guard (60...200).contains(length), (try? Message.parse(message)) != nil else { continue }
            messages.append(message)
        }
        return messages
    }

    private struct Generator {
        var state: UInt64
        init(seed: UInt64) { state = seed }

        mutating func random(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }

        mutating func pick<T>(_ items: [T]) -> T { items[random(items.count)] }
        mutating func chance(_ percent: Int) -> Bool { random(100) < percent }

        static let categories = [
            "camera.mirrorless", "camera.lens", "bicycle.ebike", "bicycle.city", "car.van", "car.compact",
            "laptop", "phone.smartphone", "shoes.running", "furniture.sofa", "appliance.dishwasher",
            "appliance.washing-machine", "repair.bicycle", "repair.phone.screen", "service.plumbing",
            "service.electrician", "tools.drill", "home.heat-pump", "books.fiction", "audio.headphones",
        ]
        static let regions = ["DE", "FR", "GB-LND", "US-CA", "NL", "ES", "IT", "AT", "CH", "SE", "DE-BE", "US-NY"]
        static let currencies = ["EUR", "EUR", "EUR", "USD", "GBP", "CHF"]
        static let notes = [
            "error E24, drains slowly", "needs to fit a 60cm gap", "second hand is fine", "prefer local pickup",
            "gift, please wrap", "weekday mornings only", "cash on delivery", "black or grey",
        ]
        static let items = ["X-T5 body", "Brompton C Line", "Model 3 Pro", "ThinkPad X1", "Bosch SMS4", "Alpha 7 IV"]
        static let terms = ["sd-base", "sd-base", "sd-base-dp", "pdc-intent", "sd-base,pdc-intent"]
        static let needs = ["name", "name,postal", "name,email", "email", "name,phone,postal"]

        mutating func id() -> String { MessageID(bits: UInt64(random(1 << 40))).description }
        mutating func amount() -> Int { pick([20, 45, 90, 150, 400, 799, 1200, 2499]) + random(50) }
        mutating func money(_ amount: Int, _ currency: String) -> String {
            chance(20) ? "\(amount).\(random(90) + 10)\(currency)" : "\(amount)\(currency)"
        }
        mutating func date() -> String {
            let month = random(12) + 1
            return "2027-\(month < 10 ? "0" : "")\(month)-\(10 + random(18))"
        }

        mutating func next() -> String {
            let currency = pick(Self.currencies)
            switch random(11) {
            case 0...4:
                var tokens = ["#" + pick(["buy", "buy", "rent", "hire", "fix"]), pick(Self.categories)]
                if chance(60) { tokens.append("id:" + id()) }
                let max = amount()
                if chance(30) { tokens.append("min:" + money(max / 2, currency)) }
                if chance(85) { tokens.append("max:" + money(max, currency)) }
                if chance(20) { tokens.append("qty:\(random(4) + 2)") }
                tokens.append("in:" + pick(Self.regions))
                if chance(60) { tokens.append("by:" + (chance(50) ? date() : "\(random(14) + 1)d")) }
                if chance(30) { tokens.append("exp:\(random(72) + 1)h") }
                tokens.append("terms:" + pick(Self.terms))
                if chance(30) { tokens.append("note:\"" + pick(Self.notes) + "\"") }
                if chance(30) { tokens.append(pick(["size:42", "color:black", "format:\"full frame\"", "cond:new"])) }
                return tokens.joined(separator: " ")
            case 5, 6:
                var tokens = ["#offer", "id:" + id(), "re:" + id(), "price:" + money(amount(), currency)]
                if chance(70) { tokens.append("item:\"" + pick(Self.items) + "\"") }
                if chance(30) { tokens.append("sku:SKU-\(random(99999))") }
                tokens.append("eta:\(random(9) + 1)d")
                if chance(50) { tokens.append("exp:" + date()) }
                tokens.append("terms:" + pick(Self.terms))
                tokens.append("needs:" + pick(Self.needs))
                return tokens.joined(separator: " ")
            case 7:
                return "#counter id:\(id()) re:\(id()) price:\(money(amount(), currency))"
                    + (chance(40) ? " note:\"\(pick(Self.notes))\"" : "")
            case 8:
                return "#accept id:\(id()) re:\(id()) give:\(pick(Self.needs)) terms:\(pick(Self.terms))"
            case 9:
                return "#\(pick(["decline", "withdraw", "forget"])) id:\(id()) re:\(id()) why:\"\(pick(Self.notes))\""
            default:
                return "#confirm id:\(id()) re:\(id()) eta:\(random(9) + 1)d note:\"\(pick(Self.notes))\""
            }
        }
    }
}
