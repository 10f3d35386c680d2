/// A growable byte buffer for the formatter and the JSON writer.
///
/// Cheaper per append than `[UInt8]` (no uniqueness check, no generic copy), which matters when a message is written
/// as dozens of small pieces. Noncopyable, so its memory has one owner and is freed exactly once.
public struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int

    /// Called on every buffer before it is freed (when growing, and at the end), for writers that hold secrets.
    private let eraser: ((UnsafeMutableRawBufferPointer) -> Void)?

    /// - Parameter eraser: Wipes each buffer before it is freed, for a writer that builds secret bytes; pass a wipe
    ///   the compiler cannot remove (such as libsodium's `sodium_memzero`).
    public init(capacity: Int = 4096, eraser: ((UnsafeMutableRawBufferPointer) -> Void)? = nil) {
        self.capacity = Swift.max(capacity, 16)
        self.eraser = eraser
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        eraser?(UnsafeMutableRawBufferPointer(start: base, count: capacity))
        base.deallocate()
    }

    /// The bytes written so far; valid until the next write.
    public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    public mutating func removeAll() { count = 0 }

    public mutating func removeLast(_ byteCount: Int) { count -= Swift.min(byteCount, count) }

    @inline(__always) private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(toHold: count + extra) }
    }

    @inline(never) private mutating func grow(toHold needed: Int) {
        let newCapacity = Swift.max(capacity * 2, needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        eraser?(UnsafeMutableRawBufferPointer(start: base, count: capacity))
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) package mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) package mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) package mutating func append(_ literal: StaticString) {
        append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends a string's UTF-8 bytes.
    @inline(__always) package mutating func append(utf8 string: String) {
        var contiguous = string
        contiguous.withUTF8 { append($0) }
    }

    /// Appends a non-negative integer's decimal digits.
    public mutating func appendDecimal(_ value: Int) {
        var digits = 1
        var power = 10
        while power <= value && digits < 19 {
            digits += 1
            power &*= 10
        }
        reserve(digits)
        var remaining = value
        for offset in stride(from: digits - 1, through: 0, by: -1) {
            base[count + offset] = ASCII.zero + UInt8(remaining % 10)
            remaining /= 10
        }
        count += digits
    }

    /// Appends `bytes`, putting a backslash before each `"` and `\`.
    public mutating func appendEscapingQuotes(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for (index, byte) in bytes.enumerated() where byte == ASCII.quote || byte == ASCII.backslash {
            append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            append(ASCII.backslash)
            runStart = index
        }
        append(UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }

    /// Appends valid UTF-8 `bytes` as a JSON string literal, escaping only what JSON requires.
    public mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(ASCII.quote)
        var runStart = 0
        for (index, byte) in bytes.enumerated() where byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 {
            append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case ASCII.quote, ASCII.backslash:
                append(ASCII.backslash)
                append(byte)
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            default:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00")
                append(hex.utf8Start[Int(byte >> 4)])
                append(hex.utf8Start[Int(byte & 0xF)])
            }
            runStart = index + 1
        }
        append(UnsafeBufferPointer(rebasing: bytes[runStart...]))
        append(ASCII.quote)
    }

    public mutating func appendJSONString(_ string: String) {
        var contiguous = string
        contiguous.withUTF8 { appendJSONString($0) }
    }
}
