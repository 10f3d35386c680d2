/// Byte constants and classifiers for the ASCII subset the grammar is written in.
enum ASCII {
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let comma: UInt8 = 0x2C
    static let hyphen: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let backslash: UInt8 = 0x5C
    static let zero: UInt8 = 0x30

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isUppercase(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
    @inline(__always) static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 || isDigit(byte) }
    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 { isUppercase(byte) ? byte | 0x20 : byte }
    @inline(__always) static func uppercased(_ byte: UInt8) -> UInt8 { byte &- 0x61 < 26 ? byte & ~0x20 : byte }
    /// The high bit of each byte of `word` that equals `byte`, with no false positives.
    @inline(__always) static func bytesEqual(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        let low7 = 0x7F7F_7F7F_7F7F_7F7F as UInt64
        return ~(((x & low7) &+ low7) | x | low7)
    }

    /// Up to eight bytes lowercased and packed big-endian, so a name can be matched by one integer comparison.
    @inline(__always) static func packedLowercase(_ bytes: Bytes, _ range: Range<Int>) -> UInt64 {
        var packed: UInt64 = 0
        var index = range.lowerBound
        while index < range.upperBound {
            packed = packed << 8 | UInt64(lowercased(bytes[index]))
            index += 1
        }
        return packed
    }

    /// UTF-8 continuation bytes do not start a scalar, so counting the others counts scalars.
    @inline(__always) static func startsScalar(_ byte: UInt8) -> Bool { byte & 0xC0 != 0x80 }
}

typealias Bytes = UnsafeBufferPointer<UInt8>

extension UnsafeBufferPointer<UInt8> {
    /// A string from bytes already known to be valid UTF-8 (the parser validates the whole input first).
    @inline(__always) func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[range]), as: UTF8.self)
    }

    /// A string of bytes already known to be ASCII, lowercased.
    func lowercasedString(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { output in
            for (offset, index) in range.enumerated() { output[offset] = ASCII.lowercased(self[index]) }
            return range.count
        }
    }

    /// A string of bytes already known to be ASCII, uppercased.
    func uppercasedString(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { output in
            for (offset, index) in range.enumerated() { output[offset] = ASCII.uppercased(self[index]) }
            return range.count
        }
    }

    func scalarCount(_ range: Range<Int>) -> Int {
        var count = 0
        for index in range where ASCII.startsScalar(self[index]) { count += 1 }
        return count
    }
}

extension String {
    /// Runs `body` over the string's UTF-8 bytes without copying when the storage is contiguous.
    @inline(__always) func withBytes<R, E: Error>(_ body: (Bytes) throws(E) -> R) throws(E) -> R {
        var copy = self
        let result: Result<R, E> = copy.withUTF8 { bytes in
            do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
