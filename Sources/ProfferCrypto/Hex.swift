/// Lowercase hexadecimal, as keys, ids and digests are written in JSON and in Nostr events.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `bytes` as lowercase hex digits, two per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 15)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes that hex digits (either case) spell, or nil for an odd count or any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard utf8.count % 2 == 0 else { return nil }
            var output = [UInt8](repeating: 0, count: utf8.count / 2)
            for index in 0..<output.count {
                guard let high = value(of: utf8[2 * index]), let low = value(of: utf8[2 * index + 1]) else {
                    return nil
                }
                output[index] = high << 4 | low
            }
            return output
        }
    }

    public static func decode(_ text: Substring) -> [UInt8]? { decode(String(text)) }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
