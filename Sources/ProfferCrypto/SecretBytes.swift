import CSodium
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Secret bytes (keys, seeds, passphrases) in memory from `sodium_malloc`: guarded pages, excluded from core dumps,
/// inaccessible (`PROT_NONE`) except while read (``withUnsafeBytes(_:)``, or for as long as a service holds them with
/// ``whileReadable(_:)``), and wiped when released.
///
/// Deliberately not `Codable`, not `Equatable` and not printable: its `description` never shows the bytes.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: the memory is only reached through `withUnsafeBytes`, which holds `access` while the
    // pages are readable, so concurrent readers never see them flip back to PROT_NONE mid-read.
    private let pointer: UnsafeMutableRawPointer
    public let count: Int
    private let access = Mutex<Int>(0)

    /// `count` zeroed bytes, to be filled with ``withUnsafeMutableBytes(_:)``.
    public init(zeroedCount count: Int) throws(CryptoError) {
        Sodium.ensureInitialized()
        guard let pointer = sodium_malloc(max(count, 1)) else { throw .outOfMemory }
        sodium_memzero(pointer, max(count, 1))
        self.pointer = pointer
        self.count = count
        Sodium.check(sodium_mprotect_noaccess(pointer), "sodium_mprotect_noaccess")
    }

    /// `count` random bytes, such as a fresh key.
    public static func random(count: Int) throws(CryptoError) -> SecretBytes {
        let secret = try SecretBytes(zeroedCount: count)
        secret.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return secret
    }

    /// Moves `bytes` into secure memory and wipes the source array.
    public convenience init(wiping bytes: inout [UInt8]) throws(CryptoError) {
        try self.init(zeroedCount: bytes.count)
        withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
        wipe(&bytes)
    }

    deinit {
        Sodium.check(sodium_mprotect_readwrite(pointer), "sodium_mprotect_readwrite")
        sodium_free(pointer)  // wipes before freeing
    }

    /// Reads the secret; the pages are readable only for the duration of `body` (or while another reader holds them).
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        beginReading()
        defer { endReading() }
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Keeps the secret readable (never writable) for as long as `body` runs, so a service that reads it thousands of
    /// times a second (a vendor signing every reply) pays no page protection change, and no TLB flush on every core,
    /// for each read. Reads inside it still go through ``withUnsafeBytes(_:)``; the pages are inaccessible again once
    /// `body` returns and no other reader holds them. What this gives up, for its duration: a stray read elsewhere in
    /// the process (an over-read, a use after free) finds the bytes instead of faulting. The guard pages, the lock in
    /// memory and the exclusion from core dumps stay.
    public func whileReadable<R>(_ body: () async throws -> R) async rethrows -> R {
        beginReading()
        defer { endReading() }
        return try await body()
    }

    private func beginReading() {
        access.withLock { readers in
            if readers == 0 { Sodium.check(sodium_mprotect_readonly(pointer), "sodium_mprotect_readonly") }
            readers += 1
        }
    }

    private func endReading() {
        access.withLock { readers in
            readers -= 1
            if readers == 0 { Sodium.check(sodium_mprotect_noaccess(pointer), "sodium_mprotect_noaccess") }
        }
    }

    /// Writes the secret; the pages are writable only for the duration of `body`.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E)
        -> R
    {
        access.withLock { _ in Sodium.check(sodium_mprotect_readwrite(pointer), "sodium_mprotect_readwrite") }
        defer {
            // Back to what the readers still holding it need: read-only for them, else nothing.
            access.withLock { readers in
                if readers == 0 {
                    Sodium.check(sodium_mprotect_noaccess(pointer), "sodium_mprotect_noaccess")
                } else {
                    Sodium.check(sodium_mprotect_readonly(pointer), "sodium_mprotect_readonly")
                }
            }
        }
        return try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Whether both hold the same bytes, compared in constant time without copying either out of secure memory.
    public func hasSameBytes(as other: SecretBytes) -> Bool {
        count == other.count
            && withUnsafeBytes { mine in
                other.withUnsafeBytes { theirs in sodium_memcmp(mine.baseAddress!, theirs.baseAddress!, count) == 0 }
            }
    }

    /// The longest passphrase file read: a larger file is refused rather than cut short silently.
    public static let maximumFileBytes = 4096

    /// Reads a file straight into secure memory, dropping one trailing newline; the read buffer is wiped.
    ///
    /// - Returns: `nil` when the file cannot be opened.
    /// - Throws: ``CryptoError`` when the file holds more than ``maximumFileBytes`` bytes.
    public static func contentsOfFile(_ path: String) throws(CryptoError) -> SecretBytes? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // One byte more than allowed, to tell a full-size file from a larger one.
        let buffer = try SecretBytes(zeroedCount: maximumFileBytes + 1)
        var length = 0
        buffer.withUnsafeMutableBytes { bytes in
            while length < bytes.count {
                let read = Glibc.read(descriptor, bytes.baseAddress! + length, bytes.count - length)
                if read < 0 && errno == EINTR { continue }
                guard read > 0 else { break }
                length += read
            }
        }
        guard length <= maximumFileBytes else {
            throw .invalidInput("\(path) is larger than \(maximumFileBytes / 1024) KiB: it is not a passphrase file")
        }
        length = buffer.withUnsafeBytes { bytes in
            var end = length
            if end > 0 && bytes[end - 1] == 0x0A { end -= 1 }
            if end > 0 && bytes[end - 1] == 0x0D { end -= 1 }
            return end
        }
        return try buffer.prefix(length)
    }

    /// The first `count` bytes, copied from secure memory to secure memory.
    public func prefix(_ count: Int) throws(CryptoError) -> SecretBytes {
        let copy = try SecretBytes(zeroedCount: Swift.min(count, self.count))
        copy.withUnsafeMutableBytes { destination in
            withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<destination.count]))
            }
        }
        return copy
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}

/// A 32-byte symmetric key: for XChaCha20-Poly1305, subkey derivation and keyed hashing.
public struct SymmetricKey: Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let secret: SecretBytes

    /// A fresh random key.
    public static func random() throws(CryptoError) -> SymmetricKey {
        SymmetricKey(unchecked: try SecretBytes.random(count: byteCount))
    }

    /// Wraps secret bytes that must be exactly 32 long.
    public init(_ secret: SecretBytes) throws(CryptoError) {
        guard secret.count == Self.byteCount else {
            throw .invalidLength("a key", expected: Self.byteCount, actual: secret.count)
        }
        self.secret = secret
    }

    init(unchecked secret: SecretBytes) { self.secret = secret }

    public var description: String { "SymmetricKey(redacted)" }
}
