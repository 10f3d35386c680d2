/// Base64url without padding (RFC 4648 §5), the spec's "b64".
///
/// Decoding is strict: padding, other alphabets, whitespace and non-zero unused bits are refused, so every byte
/// string has exactly one spelling and a signature over the text covers the bytes.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodingTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    /// The unpadded base64url text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ encode(buffer: $0) }) { return text }
        return Array(bytes).withUnsafeBufferPointer { encode(buffer: $0) }
    }

    /// Writes the text straight into the string's storage: keys, nonces and signatures are encoded on every message
    /// a vendor answers.
    static func encode(buffer input: UnsafeBufferPointer<UInt8>) -> String {
        let length = (input.count * 4 + 2) / 3
        return alphabet.withUnsafeBufferPointer { table in
            String(unsafeUninitializedCapacity: length) { output in
                var inputIndex = 0
                var outputIndex = 0
                while inputIndex + 3 <= input.count {
                    let group =
                        UInt32(input[inputIndex]) << 16 | UInt32(input[inputIndex + 1]) << 8
                        | UInt32(input[inputIndex + 2])
                    output[outputIndex] = table[Int(group >> 18 & 63)]
                    output[outputIndex + 1] = table[Int(group >> 12 & 63)]
                    output[outputIndex + 2] = table[Int(group >> 6 & 63)]
                    output[outputIndex + 3] = table[Int(group & 63)]
                    inputIndex += 3
                    outputIndex += 4
                }
                let remaining = input.count - inputIndex
                if remaining > 0 {
                    let second = remaining == 2 ? UInt32(input[inputIndex + 1]) : 0
                    let group = UInt32(input[inputIndex]) << 16 | second << 8
                    output[outputIndex] = table[Int(group >> 18 & 63)]
                    output[outputIndex + 1] = table[Int(group >> 12 & 63)]
                    if remaining == 2 { output[outputIndex + 2] = table[Int(group >> 6 & 63)] }
                    outputIndex += remaining + 1
                }
                return outputIndex
            }
        }
    }

    /// The bytes `text` spells, or `nil` when it is not canonical unpadded base64url.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    static func decode(utf8 symbols: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard symbols.count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for symbol in symbols {
            let value = decodingTable[Int(symbol)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
            }
        }
        // Leftover bits must be zero: "AB" and "AC" may not both mean the same byte.
        guard accumulator & ((1 << UInt32(bitCount)) - 1) == 0 else { return nil }
        return output
    }
}
