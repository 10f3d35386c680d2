extension Message {
    /// What the message means in plain words, for people and vendors alike.
    ///
    /// `#buy camera.mirrorless max:1200EUR in:DE by:2026-12-24 terms:sd-base` explains as
    /// "Wants to buy: camera › mirrorless · up to 1,200 EUR · in Germany · needed by 24 Dec 2026 · under terms SD-BASE
    /// (service delivery only: no tracking, no profiling, no analytics, no sharing)".
    public var explanation: String {
        var parts: [String] = []
        switch kind {
        case .buy, .rent, .hire, .fix:
            let verb = ["buy": "Wants to buy", "rent": "Wants to rent", "hire": "Wants to hire", "fix": "Wants fixed"]
            let what = category.map { $0.segments.joined(separator: " › ") } ?? "something"
            parts.append("\(verb[kind.rawValue]!): \(what)")
            if !attributes.isEmpty {
                parts.append("with " + attributes.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            switch (min, max) {
            case let (min?, max?): parts.append("between \(Explain.money(min)) and \(Explain.money(max))")
            case let (min?, nil): parts.append("from \(Explain.money(min))")
            case let (nil, max?): parts.append("up to \(Explain.money(max))")
            case (nil, nil): break
            }
            if let qty, qty.value != 1 { parts.append("quantity \(qty.value)") }
            if let regions { parts.append("in " + Explain.regions(regions)) }
            if let by { parts.append("needed " + Explain.deadline(by)) }
            if let reply { parts.append(Explain.reply(reply)) }
        case .offer:
            parts.append("Offer" + (re.map { " for \($0)" } ?? "") + (item.map { ": \($0)" } ?? ""))
            if let sku { parts.append("item \(sku)") }
            if let price { parts.append("\(Explain.money(price)) each") }
            if let qty { parts.append("quantity \(qty.value)") }
            if let eta { parts.append("ready in \(Explain.span(eta))") }
            if let needs { parts.append("needs your " + Explain.categories(needs)) }
        case .counter:
            parts.append("Counter-proposal" + (re.map { " to offer \($0)" } ?? ""))
            if let price { parts.append("\(Explain.money(price)) each") }
            if let qty { parts.append("quantity \(qty.value)") }
            if let eta { parts.append("ready in \(Explain.span(eta))") }
        case .accept:
            parts.append("Accepts offer" + (re.map { " \($0)" } ?? ""))
            if let give {
                parts.append("shares " + Explain.categories(give))
            } else {
                parts.append("shares no personal data")
            }
        case .decline:
            parts.append("Declines" + (re.map { " \($0)" } ?? ""))
        case .confirm:
            parts.append("Confirms" + (re.map { " \($0)" } ?? ""))
            if let eta { parts.append("ready in \(Explain.span(eta))") }
        case .withdraw:
            parts.append("Withdraws intent" + (re.map { " \($0)" } ?? "") + "; send nothing more about it")
        case .forget:
            parts.append("Asks to forget what was disclosed under" + (re.map { " \($0)" } ?? " this deal"))
        }
        if let exp {
            parts.append((kind.isIntent ? "request open " : "valid ") + Explain.expiry(exp))
        }
        if let terms {
            let agreed = kind.isIntent ? "under terms" : kind == .offer ? "agrees to terms" : "under terms"
            parts.append(agreed + " " + terms.map(Explain.terms).joined(separator: " and "))
        }
        if let why { parts.append("because “\(why)”") }
        if let note { parts.append("note: “\(note)”") }
        if let id { parts.append("message id \(id)") }
        return parts.joined(separator: " · ")
    }
}

/// Renders values the way a person reads them.
enum Explain {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `1,200 EUR`, `12.50 USD`, `0.125 BTC`.
    static func money(_ money: Money) -> String {
        let whole = String(money.thousandths / 1000)
        var grouped = ""
        for (index, digit) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        let amount = money.amount
        if let dot = amount.firstIndex(of: ".") {
            var fraction = String(amount[amount.index(after: dot)...])
            if fraction.count == 1 { fraction += "0" }
            grouped += "." + fraction
        }
        return grouped + " " + money.currency.description
    }

    static func date(_ date: CalendarDate) -> String { "\(date.day) \(monthNames[date.month - 1]) \(date.year)" }

    static func span(_ span: TimeSpan) -> String {
        let unit = ["m": "minute", "h": "hour", "d": "day", "w": "week"][String(UnicodeScalar(span.unit.rawValue))]!
        return "\(span.count) \(unit)" + (span.count == 1 ? "" : "s")
    }

    static func deadline(_ when: When) -> String {
        switch when {
        case .date(let value): "by " + date(value)
        case .after(let value): "within " + span(value)
        }
    }

    static func expiry(_ when: When) -> String {
        switch when {
        case .date(let value): "until " + date(value)
        case .after(let value): "for " + span(value)
        }
    }

    static func regions(_ regions: FieldList<Region>) -> String {
        let names = regions.map { region in
            let country = Country.name(ofCode: region.countryCode) ?? region.countryCode
            return region.description.count == 2 ? country : "\(country) (\(region))"
        }
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    static func terms(_ id: TermsID) -> String {
        guard let definition = id.definition else {
            return "\(id.description.uppercased()) (not a registered agreement)"
        }
        return "\(id.description.uppercased()) (\(definition.meaning))"
    }

    /// Where answers go: the key as an abbreviated npub, and its relays.
    static func reply(_ reply: NostrReply) -> String {
        let npub = Bech32.encode(prefix: "npub", data: reply.publicKey)
        let key = npub.prefix(12) + "…" + npub.suffix(6)
        let relays = reply.relays.isEmpty ? "" : " via " + reply.relays.joined(separator: ", ")
        return "answers go privately over Nostr to \(key)\(relays)"
    }

    static func categories(_ categories: FieldList<DataCategory>) -> String {
        let names = categories.map { $0 == .postal ? "postal address" : $0 == .phone ? "phone number" : $0.rawValue }
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }
}
