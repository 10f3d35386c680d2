import Testing

@testable import ProfferWire

@Suite("Intents in free text (PROTOCOL.md §6.2)")
struct FreeTextTests {
    func found(_ line: String) -> [String] {
        var line = line
        return line.withUTF8 { bytes in
            FreeText.intentRanges(in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    @Test(
        "an intent starts at a kind at the line's start or after a space, and ends before the first token that is no field"
    )
    func boundaries() {
        #expect(
            found("Looking for one! #buy camera.mirrorless max:1200EUR in:DE anyone selling?")
                == ["#buy camera.mirrorless max:1200EUR in:DE"])
        #expect(found("#BUY Camera max:1200eur") == ["#BUY Camera max:1200eur"])
        #expect(found(#"#fix bike note:"two words, here" thanks"#) == [#"#fix bike note:"two words, here""#])
        #expect(found(#"#fix bike note:"a \"quoted\" word" ok"#) == [#"#fix bike note:"a \"quoted\" word""#])
        #expect(
            found("#rent car.van qty:2 #hire service.plumbing in:GB") == [
                "#rent car.van qty:2", "#hire service.plumbing in:GB",
            ])
        #expect(
            found("#buy camera max:1200EUR.") == ["#buy camera max:1200EUR."], "found as written; the parser refuses it"
        )
        #expect(found("#buy camera see http://x.example/y") == ["#buy camera"])
        #expect(found(#"#fix x note:"never closed"#) == [#"#fix x note:"never closed"#])
    }

    @Test("no intent: glued to a word, a longer tag, another kind, no category, a tab before")
    func notIntents() {
        for line in [
            "foo#buy camera", "#buyer camera", "#offer id:k7f3q2ab re:k7f3q2ac price:1EUR", "#buy", "#buy   ",
            "\t#buy camera", "# buy camera", "##buy camera", "", "no hash at all",
        ] {
            #expect(found(line).isEmpty, "\(line.debugDescription)")
        }
    }

    @Test("what is found is parsed as §1 says: canonical form, or its error")
    func parsing() {
        let results = FreeText.intents(
            in: "Hi all\nneed help #fix appliance.dishwasher in:GB-LND by:3d\r\n#buy x max:12,00EUR")
        #expect(results.count == 2)
        #expect((try? results[0].get())?.canonicalForm == "#fix appliance.dishwasher in:GB-LND by:3d")
        guard case .failure(let error) = results[1] else {
            Issue.record("a comma in an amount parsed")
            return
        }
        #expect(error.code == .badMoney)
    }
}
