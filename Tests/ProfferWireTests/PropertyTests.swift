import PropertyBased
import Testing

@testable import ProfferWire

@Suite("Properties")
struct PropertyTests {
    @Test("parse(format(m)) == m for generated messages")
    func formatThenParseIsIdentity() async {
        await propertyCheck(count: 3000, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var generator = MessageGenerator(seed: seed)
            let message = generator.message()
            let canonical = message.canonicalForm
            guard canonical.unicodeScalars.count <= Message.maximumScalars else { return }
            do {
                #expect(try Message.parse(canonical) == message, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(canonical) failed with \(error)")
            }
        }
    }

    @Test("format(parse(s)) is a fixed point, and every way of writing a message means the same message")
    func messyTextParsesToTheSameMessage() async {
        await propertyCheck(count: 3000, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var generator = MessageGenerator(seed: seed)
            let message = generator.message()
            let messy = generator.messyRendering(of: message)
            guard messy.trimmingCharacters(in: " ").unicodeScalars.count <= Message.maximumScalars else { return }
            do {
                let parsed = try Message.parse(messy)
                #expect(parsed == message, "seed \(seed): \(messy)")
                let canonical = parsed.canonicalForm
                #expect(try Message.parse(canonical).canonicalForm == canonical, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(messy) failed with \(error)")
            }
        }
    }

    @Test("the parser never traps on arbitrary bytes, and every column lies inside the input")
    func arbitraryBytesNeverTrap() async {
        let grammarBytes =
            Array("#buy :\"\\ ,.-0123456789abcxyzEUR".utf8) + [0x0A, 0x09, 0xC3, 0xA9, 0xE2, 0x80, 0xAE, 0xFF]
        let byte = Gen.frequency((1, Gen.uint8(in: 0...255)), (3, Gen.element(of: grammarBytes).compactMap { $0 }))
        await propertyCheck(count: 5000, input: byte.array(of: 0...300)) { bytes in
            do throws(MessageError) {
                let message = try Message.parse(utf8: bytes)
                #expect((try? Message.parse(message.canonicalForm)) == message)
            } catch {
                let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars.count
                #expect((1...max(1, scalars + 1)).contains(error.column), "column \(error.column) of \(bytes)")
            }
        }
    }

    @Test("prefixes of valid messages never trap")
    func prefixesOfValidMessages() async {
        await propertyCheck(count: 500, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var generator = MessageGenerator(seed: seed)
            let bytes = Array(generator.messyRendering(of: generator.message()).utf8)
            for length in 0...bytes.count { _ = try? Message.parse(utf8: Array(bytes[0..<length])) }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
