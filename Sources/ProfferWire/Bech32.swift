/// Bech32 as BIP-173 defines it (not bech32m), without BIP-173's 90-character limit: NIP-19 strings are longer.
public enum Bech32 {
    static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let bech32Constant: UInt32 = 1
    private static let bech32mConstant: UInt32 = 0x2bc8_30a3

    /// Why a string is not bech32, said to the person who wrote it.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case mixedCase, badCharacter, noSeparator, tooShort, badChecksum, bech32m, badPadding

        public var description: String {
            switch self {
            case .mixedCase: "mixes upper and lower case"
            case .badCharacter: "holds a character that bech32 does not use"
            case .noSeparator: "has no \"1\" between its prefix and its data"
            case .tooShort: "is too short to hold a checksum"
            case .badChecksum: "has a wrong checksum (a typo, or a character missing)"
            case .bech32m: "is bech32m, where NIP-19 uses bech32"
            case .badPadding: "does not spell whole bytes"
            }
        }
    }

    /// The prefix (lowercase) and the bytes of a bech32 string whose data spell whole bytes.
    static func decode(_ bytes: Bytes, _ range: Range<Int>) -> Result<(prefix: [UInt8], data: [UInt8]), Failure> {
        var hasLower = false
        var hasUpper = false
        var separator: Int?
        for index in range {
            let byte = bytes[index]
            guard (33...126).contains(byte) else { return .failure(.badCharacter) }
            if byte &- 0x61 < 26 { hasLower = true }
            if ASCII.isUppercase(byte) { hasUpper = true }
            if byte == UInt8(ascii: "1") { separator = index }
        }
        if hasLower && hasUpper { return .failure(.mixedCase) }
        guard let separator, separator > range.lowerBound else { return .failure(.noSeparator) }
        guard range.upperBound - separator - 1 >= 6 else { return .failure(.tooShort) }
        let prefix = bytes[range.lowerBound..<separator].map(ASCII.lowercased)
        var values: [UInt8] = []
        values.reserveCapacity(range.upperBound - separator - 1)
        for index in (separator + 1)..<range.upperBound {
            guard let value = value(of: ASCII.lowercased(bytes[index])) else { return .failure(.badCharacter) }
            values.append(value)
        }
        switch checksum(prefix: prefix, values: values) {
        case bech32Constant: break
        case bech32mConstant: return .failure(.bech32m)
        default: return .failure(.badChecksum)
        }
        guard let data = regroup(values.dropLast(6), from: 5, to: 8, pad: false) else { return .failure(.badPadding) }
        return .success((prefix, data))
    }

    /// The lowercase bech32 string of `prefix` (lowercase letters and digits) and `data`.
    public static func encode(prefix: String, data: [UInt8]) -> String {
        let prefixBytes = Array(prefix.utf8)
        let values = regroup(data[...], from: 8, to: 5, pad: true)!
        let polymod = checksum(prefix: prefixBytes, values: values + [0, 0, 0, 0, 0, 0]) ^ bech32Constant
        var output = prefixBytes + [UInt8(ascii: "1")]
        output.reserveCapacity(output.count + values.count + 6)
        for value in values { output.append(alphabet[Int(value)]) }
        for step in 0..<6 { output.append(alphabet[Int((polymod >> (5 * (5 - UInt32(step)))) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    private static func value(of lowercaseByte: UInt8) -> UInt8? {
        alphabet.firstIndex(of: lowercaseByte).map(UInt8.init)
    }

    /// BIP-173's checksum polynomial over the expanded prefix and the values.
    private static func checksum(prefix: [UInt8], values: [UInt8]) -> UInt32 {
        var checksum: UInt32 = 1
        func step(_ value: UInt8) {
            let top = checksum >> 25
            checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
            for (bit, generator) in [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3].enumerated()
            where (top >> bit) & 1 == 1 {
                checksum ^= UInt32(generator)
            }
        }
        for byte in prefix { step(byte >> 5) }
        step(0)
        for byte in prefix { step(byte & 31) }
        for value in values { step(value) }
        return checksum
    }

    /// Regroups bits from `from`-bit values into `to`-bit values; without `pad`, nil when more than 4 bits are left
    /// over or any left over is not zero.
    private static func regroup(_ values: ArraySlice<UInt8>, from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0
        var bits = 0
        var output: [UInt8] = []
        output.reserveCapacity(values.count * from / to + 1)
        let mask = (1 << to) - 1
        for value in values {
            accumulator = (accumulator << from | Int(value)) & 0xFFFF
            bits += from
            while bits >= to {
                bits -= to
                output.append(UInt8((accumulator >> bits) & mask))
            }
        }
        if pad {
            if bits > 0 { output.append(UInt8((accumulator << (to - bits)) & mask)) }
        } else if bits >= from || (accumulator << (to - bits)) & mask != 0 {
            return nil
        }
        return output
    }
}
