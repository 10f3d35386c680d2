#if canImport(Glibc)
    import Glibc
#endif

extension SecretBytes {
    /// Reads a raw key file of exactly `byteCount` bytes straight into secure memory.
    ///
    /// - Returns: `nil` when the file does not exist.
    /// - Throws: ``CryptoError`` when it has another size or cannot be read.
    public static func contentsOfKeyFile(_ path: String, byteCount: Int) throws(CryptoError) -> SecretBytes? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw .keyFile("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let secret = try SecretBytes(zeroedCount: byteCount)
        var length = 0
        var extra: UInt8 = 0
        let readFailed = secret.withUnsafeMutableBytes { buffer -> Bool in
            while length < byteCount {
                let count = read(descriptor, buffer.baseAddress! + length, byteCount - length)
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return true }
                if count == 0 { break }
                length += count
            }
            return false
        }
        guard !readFailed, length == byteCount, read(descriptor, &extra, 1) == 0 else {
            throw .keyFile("\(path) is not a \(byteCount)-byte key file")
        }
        return secret
    }

    /// Writes the secret to a new file readable by its owner only (0600); never overwrites an existing file.
    public func writeKeyFile(to path: String) throws(CryptoError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .keyFile("cannot create \(path): \(String(cString: strerror(errno)))") }
        let failed = withUnsafeBytes { bytes -> Bool in
            var written = 0
            while written < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return true }
                written += count
            }
            return fsync(descriptor) != 0
        }
        close(descriptor)
        if failed {
            unlink(path)
            throw .keyFile("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
