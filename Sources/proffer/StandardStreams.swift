import ProfferWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Buffered, byte-oriented standard output: one `write(2)` per 64 KiB instead of one per line.
final class StandardOutput {
    private var writer = ByteWriter(capacity: 80 * 1024)
    private let descriptor: Int32
    private let flushThreshold = 64 * 1024

    init(descriptor: Int32 = STDOUT_FILENO) {
        self.descriptor = descriptor
    }

    /// Appends bytes with `body`; writes them out once enough have gathered.
    func write(_ body: (inout ByteWriter) -> Void) {
        body(&writer)
        if writer.count >= flushThreshold { flush() }
    }

    func write(line: String) {
        write { writer in
            writer.append(utf8: line)
            writer.append(0x0A)
        }
    }

    func flush() {
        let bytes = writer.bytes
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                // A closed pipe (`proffer msg parse | head`) is the reader's choice, not our failure.
                exit(errno == EPIPE ? 0 : 74)
            }
            offset += written
        }
        writer.removeAll()
    }

    deinit { flush() }
}

/// Reads standard input in fixed-size chunks, so memory does not grow with the input.
enum StandardInput {
    static func forEachChunk(_ body: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        let chunkSize = 256 * 1024
        let chunk = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }
        while true {
            let count = read(STDIN_FILENO, chunk.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIError("could not read standard input: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            body(UnsafeBufferPointer(rebasing: chunk[0..<count]))
        }
    }

    /// Whether standard input is a terminal, where waiting for lines would look like a hang.
    static var isTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}

/// Writes one diagnostic line to standard error.
func printError(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(0x0A)
    _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// A failure the user can act on; its text says what went wrong and how to fix it.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
