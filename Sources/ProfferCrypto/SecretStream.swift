import CSodium

/// Encrypts a sequence of chunks with `crypto_secretstream_xchacha20poly1305`: chunks cannot be reordered, dropped,
/// altered or truncated without the reader noticing.
public struct SecretStreamWriter: ~Copyable {
    public static let headerByteCount = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    public static let chunkOverhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)

    /// On the heap, so `deinit` can wipe it.
    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    /// Written first; the reader needs it to start.
    public let header: [UInt8]

    public init(key: SymmetricKey) {
        Sodium.ensureInitialized()
        var newHeader = [UInt8](repeating: 0, count: Self.headerByteCount)
        let streamState = state
        key.secret.withUnsafeBytes { keyBytes in
            Sodium.check(
                crypto_secretstream_xchacha20poly1305_init_push(
                    streamState, &newHeader, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                "crypto_secretstream_xchacha20poly1305_init_push")
        }
        header = newHeader
    }

    /// Encrypts one chunk; `isFinal` marks the last one, so a stream cut short is detected. `associatedData` is
    /// authenticated with the chunk but not encrypted (an export's header, say).
    public mutating func push(_ chunk: [UInt8], isFinal: Bool = false, associatedData: [UInt8] = []) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: chunk.count + Self.chunkOverhead)
        let tag = UInt8(
            isFinal
                ? crypto_secretstream_xchacha20poly1305_tag_final()
                : crypto_secretstream_xchacha20poly1305_tag_message())
        chunk.withNonNullPointer { input, inputCount in
            associatedData.withNonNullPointer { ad, adCount in
                Sodium.check(
                    crypto_secretstream_xchacha20poly1305_push(
                        state, &output, nil, input, UInt64(inputCount), ad, UInt64(adCount), tag),
                    "crypto_secretstream_xchacha20poly1305_push")
            }
        }
        return output
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }
}

/// Decrypts what ``SecretStreamWriter`` wrote, chunk by chunk, refusing anything out of order or altered.
public struct SecretStreamReader: ~Copyable {
    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    /// Whether the final chunk has been read; a stream that ends before this is truncated.
    public private(set) var isFinished = false

    public init(key: SymmetricKey, header: [UInt8]) throws(CryptoError) {
        Sodium.ensureInitialized()
        guard header.count == SecretStreamWriter.headerByteCount else {
            throw .invalidLength("a stream header", expected: SecretStreamWriter.headerByteCount, actual: header.count)
        }
        let streamState = state
        let status = key.secret.withUnsafeBytes { keyBytes in
            crypto_secretstream_xchacha20poly1305_init_pull(
                streamState, header, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw .authenticationFailed }
    }

    /// Decrypts the next chunk.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` for an altered, reordered or foreign chunk, or any chunk after
    ///   the final one.
    public mutating func pull(_ encrypted: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        guard !isFinished, encrypted.count >= SecretStreamWriter.chunkOverhead else { throw .authenticationFailed }
        var output = [UInt8](repeating: 0, count: encrypted.count - SecretStreamWriter.chunkOverhead)
        var tag: UInt8 = 0
        let status = encrypted.withUnsafeBufferPointer { input in
            associatedData.withNonNullPointer { ad, adCount in
                crypto_secretstream_xchacha20poly1305_pull(
                    state, &output, nil, &tag, input.baseAddress!, UInt64(input.count), ad, UInt64(adCount))
            }
        }
        guard status == 0 else { throw .authenticationFailed }
        isFinished = tag == UInt8(crypto_secretstream_xchacha20poly1305_tag_final())
        return output
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }
}

/// ISO/IEC 7816-4 padding (`sodium_pad`), so sealed records do not reveal their exact length.
public enum Padding {
    /// `bytes`, then 0x80, then zeros up to the next multiple of `blockSize` (a whole block when `bytes` already
    /// fills one): what `sodium_pad` writes, built in one pass. Padding a known length needs no constant-time care, and
    /// `sodium_pad`'s way (a copy grown by a whole block, then cut) was a twentieth of the cost of sealing a record.
    public static func pad(_ bytes: [UInt8], blockSize: Int) -> [UInt8] {
        let paddedLength = (bytes.count / blockSize + 1) * blockSize
        var padded: [UInt8] = []
        padded.reserveCapacity(paddedLength)
        padded += bytes
        padded.append(0x80)
        padded.append(contentsOf: repeatElement(0, count: paddedLength - padded.count))
        return padded
    }

    /// The unpadded length of `padded`, without copying it.
    ///
    /// - Throws: ``CryptoError`` when the padding is malformed.
    public static func unpaddedLength(_ padded: UnsafeRawBufferPointer, blockSize: Int) throws(CryptoError) -> Int {
        var length = 0
        guard let base = padded.baseAddress, padded.count > 0,
            sodium_unpad(&length, base.assumingMemoryBound(to: UInt8.self), padded.count, blockSize) == 0
        else { throw .invalidInput("malformed padding") }
        return length
    }

    /// - Throws: ``CryptoError`` when the padding is malformed.
    public static func unpad(_ padded: [UInt8], blockSize: Int) throws(CryptoError) -> [UInt8] {
        var length = 0
        let status = padded.withUnsafeBufferPointer { buffer in
            buffer.isEmpty ? -1 : sodium_unpad(&length, buffer.baseAddress!, buffer.count, blockSize)
        }
        guard status == 0 else { throw .invalidInput("malformed padding") }
        return Array(padded[0..<length])
    }
}
