import Testing

@testable import ProfferWire

/// The byte-level readers are written for speed (packed words, no branches per byte), so each is checked here against
/// the plain definition of what it reads, over every byte value in every position.
@Suite("Value readers")
struct ValueReaderTests {
    static let crockford = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// Reads `text` with a reader that takes bytes and a range.
    static func read<T>(_ text: [UInt8], _ reader: (Bytes, Range<Int>) -> T) -> T {
        text.withUnsafeBufferPointer { reader($0, 0..<$0.count) }
    }

    /// `text` with byte `position` replaced by `byte`.
    static func replacing(_ text: [UInt8], at position: Int, with byte: UInt8) -> [UInt8] {
        var changed = text
        changed[position] = byte
        return changed
    }

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] { bytes.map(ASCII.lowercased) }

    @Test("a message id is 8 Crockford digits in either case, read as 40 bits")
    func messageIDs() {
        let base = Array("0a1b2c3z".utf8)
        for position in 0..<8 {
            for byte in UInt8.min...UInt8.max {
                let text = Self.replacing(base, at: position, with: byte)
                let digits = Self.lowercased(text).map { Self.crockford.firstIndex(of: $0) }
                let expected: UInt64? =
                    digits.contains(nil) ? nil : digits.reduce(0) { $0 << 5 | UInt64($1!) }
                #expect(Self.read(text, MessageID.parse)?.bits == expected, "\(text)")
            }
        }
        #expect(Self.read(Array("0a1b2c3".utf8), MessageID.parse) == nil)
        #expect(Self.read(Array("0a1b2c3zz".utf8), MessageID.parse) == nil)
    }

    @Test("a data category is a registered name in any case, and nothing one byte away from one")
    func dataCategories() {
        for category in DataCategory.allCases {
            let name = Array(category.rawValue.utf8)
            #expect(Self.read(name, DataCategory.parse) == category)
            #expect(Self.read(name.map(ASCII.uppercased), DataCategory.parse) == category)
            #expect(Self.read(Array(name.dropLast()), DataCategory.parse) == nil)
            #expect(Self.read(name + [0x73], DataCategory.parse) == nil)
            for position in name.indices {
                for byte in UInt8.min...UInt8.max {
                    let text = Self.replacing(name, at: position, with: byte)
                    let expected = DataCategory(rawValue: String(decoding: Self.lowercased(text), as: UTF8.self))
                    #expect(Self.read(text, DataCategory.parse) == expected, "\(text)")
                }
            }
        }
    }

    @Test("a terms id reads as its lowercase text, and names its definition only when registered")
    func termsIDs() {
        let allowed = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:é".utf8)
        for definition in TermsDefinition.registry {
            let id = Array(definition.id.description.utf8)
            var variants = [id, id.map(ASCII.uppercased), Array(id.dropLast()), id + [0x78]]
            for position in id.indices {
                variants += allowed.map { Self.replacing(id, at: position, with: $0) }
            }
            for text in variants {
                let lowercase = String(decoding: Self.lowercased(text), as: UTF8.self)
                let isValid =
                    lowercase.utf8.first.map(ASCII.isLowerAlphanumeric) == true
                    && lowercase.utf8.allSatisfy { ASCII.isLowerAlphanumeric($0) || $0 == 0x2E || $0 == 0x2D }
                let parsed = Self.read(text, TermsID.parse)
                #expect(parsed?.description == (isValid ? lowercase : nil), "\(lowercase)")
                let registered = TermsDefinition.registry.contains { $0.id.description == lowercase }
                #expect((parsed?.definition != nil) == registered, "\(lowercase)")
            }
        }
    }

    @Test("a field key reads as registered in any case, as an attribute, or as invalid")
    func fieldKeys() {
        enum Reading: Equatable { case invalid, attribute, registered(FieldKey) }
        func reading(_ text: [UInt8]) -> Reading {
            switch Self.read(text, FieldKey.read) {
            case .invalid: .invalid
            case .attribute: .attribute
            case .registered(let key): .registered(key)
            }
        }
        func expected(_ text: [UInt8]) -> Reading {
            guard (1...16).contains(text.count), ASCII.isLetter(text[0]),
                text.allSatisfy({ ASCII.isLetter($0) || ASCII.isDigit($0) || $0 == ASCII.hyphen })
            else { return .invalid }
            let lowercase = String(decoding: Self.lowercased(text), as: UTF8.self)
            return FieldKey.allCases.first { $0.description == lowercase }.map(Reading.registered) ?? .attribute
        }
        for key in FieldKey.allCases {
            let name = Array(key.description.utf8)
            #expect(reading(name) == .registered(key))
            #expect(reading(name.map(ASCII.uppercased)) == .registered(key))
            for position in name.indices {
                for byte in UInt8.min...UInt8.max {
                    let text = Self.replacing(name, at: position, with: byte)
                    #expect(reading(text) == expected(text), "\(text)")
                }
            }
        }
        #expect(reading(Array("size-2".utf8)) == .attribute)
        #expect(reading(Array("a234567890123456".utf8)) == .attribute)
        #expect(reading(Array("a2345678901234567".utf8)) == .invalid)
        #expect(reading(Array("2x".utf8)) == .invalid)
    }

    @Test("a relay URL is on this machine only when its host is: user information does not make it so")
    func loopbackRelays() {
        for url in ["ws://127.0.0.1:7447", "ws://localhost", "ws://[::1]:80/x", "wss://127.9.9.9"] {
            #expect(NostrReply.isLoopback(url), "\(url)")
        }
        for url in [
            "ws://localhost:1@evil.example", "ws://127.0.0.1.evil.example", "ws://10.0.0.1", "http://localhost",
        ] {
            #expect(!NostrReply.isLoopback(url), "\(url)")
        }
    }
}
