import Foundation
import ProfferWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's one output sink: every command writes its results here, and `Proffer.main()` flushes it once the
/// command ends (and before it exits on an error), so output and errors keep their order.
nonisolated(unsafe) let standardOutput = StandardOutput()

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
    /// What kind of failure this is; `Proffer.main()` maps each to an exit status.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let description: String
        private init(_ name: String) { description = name }

        /// The command could not do what was asked (exit 1).
        static let failed = Code("failed")
        /// The command line is wrong: an option's value, a missing flag (exit 64).
        static let usage = Code("usage")
        /// What was given to read is not valid (exit 65).
        static let invalidData = Code("invalid-data")
        /// The person answered no at a prompt: nothing was done, which is no error, but not what was asked either
        /// (exit 1, said without "error:").
        static let declined = Code("declined")
    }

    let code: Code
    /// What went wrong and what to do, for the person; never a secret.
    let message: String
    var description: String { message }

    init(_ code: Code, _ message: String) {
        (self.code, self.message) = (code, message)
    }

    /// A failure to do what was asked (exit 1).
    init(_ message: String) { self.init(.failed, message) }

    /// The person answered no: `message` says what was not done ("nothing was sent").
    static func declined(_ message: String) -> CLIError { CLIError(.declined, message) }
}

/// Writes rows as aligned columns under a header.
///
/// Control and bidirectional characters in a cell (a newline in a name, an escape sequence in a value) are shown as
/// visible symbols, so they cannot move the cursor, recolour the terminal or forge a row.
func printTable(_ header: [String], _ unsafeRows: [[String]]) {
    let output = standardOutput
    guard !unsafeRows.isEmpty else { return }
    let rows = unsafeRows.map { $0.map(Caret.visible) }
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    output.write(line: line(header))
    for row in rows { output.write(line: line(row)) }
}

/// Writes a value as compact JSON with sorted keys, on one line: stable for scripts, and fast for long listings.
func printJSON(_ value: some Encodable) throws {
    standardOutput.write(line: String(decoding: try encodeJSON(value), as: UTF8.self))
}

/// JSON as every command writes it: sorted keys, ISO 8601 dates, one line unless `pretty` (for files people read).
func encodeJSON(_ value: some Encodable, pretty: Bool = false) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
        pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return try encoder.encode(value)
}

/// A price as listings show it: `600EUR`, or with the total when more than one unit is bought, `600EUR × 2 = 1200EUR`,
/// so that a quantity is never agreed to unseen.
func priceText(_ price: Money?, quantity: Int?) -> String {
    guard let price else { return "-" }
    guard let quantity, quantity > 1 else { return price.description }
    return "\(price) × \(quantity) = " + (price.times(quantity)?.description ?? "more than a message can write")
}
