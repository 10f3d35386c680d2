import CSodium

/// libsodium, initialised once before first use.
enum Sodium {
    /// Evaluated once, thread-safely, by the first caller.
    private static let initialized: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        precondition(initialized, "libsodium could not be initialised")
    }

    /// Stops on a non-zero status from a libsodium call that fails only when it is misused (a wrong length, a
    /// parameter out of range): the types here rule those out, so a failure is a bug, and going on would use
    /// uninitialised output. Calls that can fail on their input (a key, a ciphertext) throw instead.
    static func check(_ status: Int32, _ function: StaticString) {
        precondition(status == 0, "\(function) failed")
    }
}

/// Why a cryptographic operation failed. Messages never include key material or plaintext.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Reason: Hashable, Sendable {
        case authenticationFailed, invalidLength(what: String, expected: Int, actual: Int), outOfMemory
        case passwordHashingFailed, invalidInput(String), truncatedStream
    }

    private let reason: Reason
    private init(_ reason: Reason) { self.reason = reason }

    /// The data was altered, or the key, nonce or associated data is wrong.
    public static let authenticationFailed = CryptoError(.authenticationFailed)
    /// Secure memory could not be allocated (the locked-memory limit may be too low).
    public static let outOfMemory = CryptoError(.outOfMemory)
    /// Argon2id could not run with these parameters (usually too little memory).
    public static let passwordHashingFailed = CryptoError(.passwordHashingFailed)
    /// A secret stream ended before its final chunk: the data was cut short.
    public static let truncatedStream = CryptoError(.truncatedStream)

    static func invalidLength(_ what: String, expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidLength(what: what, expected: expected, actual: actual))
    }

    static func invalidInput(_ what: String) -> CryptoError { CryptoError(.invalidInput(what)) }

    /// A public key that is not a usable point (say what is wrong with it; never the key's bytes).
    static func invalidKey(_ what: String) -> CryptoError { CryptoError(.invalidInput(what)) }

    static func keyFile(_ what: String) -> CryptoError { CryptoError(.invalidInput(what)) }

    public var description: String {
        switch reason {
        case .authenticationFailed: "authentication failed: the data was altered, or the key or context is wrong"
        case .invalidLength(let what, let expected, let actual): "\(what) must be \(expected) bytes, not \(actual)"
        case .outOfMemory: "could not allocate secure memory"
        case .passwordHashingFailed: "password hashing failed (not enough memory for these parameters?)"
        case .invalidInput(let what): what
        case .truncatedStream: "the encrypted stream ends early: it was truncated"
        }
    }
}

/// Cryptographically secure random bytes.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        var bytes = [UInt8](repeating: 0, count: count)
        if count > 0 { bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) } }
        return bytes
    }
}

/// Compares two byte strings in time that does not depend on where they differ.
public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    guard !lhs.isEmpty else { return true }
    return lhs.withUnsafeBytes { a in
        rhs.withUnsafeBytes { b in sodium_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
    }
}

/// Overwrites `bytes` with zeros in a way the compiler cannot remove.
public func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
}

/// Overwrites memory with zeros in a way the compiler cannot remove.
public func wipe(_ memory: UnsafeMutableRawBufferPointer) {
    guard let base = memory.baseAddress else { return }
    sodium_memzero(base, memory.count)
}

extension [UInt8] {
    /// Calls `body` with a pointer that is never null: libsodium marks its pointer parameters non-null, even where
    /// the length is zero.
    func withNonNullPointer<R>(_ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        guard !isEmpty else {
            var placeholder: UInt8 = 0
            return withUnsafePointer(to: &placeholder) { body($0, 0) }
        }
        return withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}

extension UnsafeRawBufferPointer {
    func withNonNullPointer<R>(_ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        guard let base = baseAddress, count > 0 else {
            var placeholder: UInt8 = 0
            return withUnsafePointer(to: &placeholder) { body($0, 0) }
        }
        return body(base.assumingMemoryBound(to: UInt8.self), count)
    }
}
