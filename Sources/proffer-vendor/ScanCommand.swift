import ArgumentParser
import Foundation
import ProfferVendorKit
import ProfferWire

extension ProfferVendor {
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find intents in any text: posts exported from any channel, one per line.",
            discussion: """
                Reads plain lines, or JSON lines whose `content` or `text` member holds the post, and finds each \
                intent as PROTOCOL.md §6.2 says: from #buy, #rent, #hire or #fix (any case) at the start of a line or \
                after a space, its category, then every key:value token that follows. Prints each intent that \
                parses: its line, its canonical form and, with --catalog, whether the catalog answers it (marked \
                "answers"). A public intent's reply says where to answer it; a line shown elsewhere is only a \
                pointer: answer only the post fetched from those relays (§6.2).

                At the end, on standard error: how many lines were read, how many intents were found, how many the \
                catalog answers, and how many did not parse, by error code. Exit status: 0, or 66 when FILE cannot \
                be read.
                """)

        @Argument(help: "The file to read; - or nothing for standard input.")
        var file: String = "-"

        @Option(help: "A catalog file: mark the intents it answers.")
        var catalog: String?

        @Flag(help: "Write one JSON object per intent: line, canonical, reply, answers.")
        var json = false

        func run() throws {
            let checked = try catalog.map { path in
                do { return try Catalog(contentsOf: path) } catch {
                    Console.error("\(error)")
                    throw ExitCode(65)
                }
            }
            let descriptor = file == "-" ? STDIN_FILENO : open(file, O_RDONLY)
            guard descriptor >= 0 else {
                Console.error("cannot read \(file): \(String(cString: strerror(errno)))")
                throw ExitCode(66)
            }
            defer { if descriptor != STDIN_FILENO { close(descriptor) } }
            var scanner = IntentScanner(catalog: checked)
            var output = BufferedOutput()
            let report: (IntentScanner.Found) -> Void = { found in
                output.write(Scan.line(for: found, json: json, marking: checked != nil))
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    if count < 0 {
                        Console.error("reading \(file) failed: \(String(cString: strerror(errno)))")
                        throw ExitCode(66)
                    }
                    break
                }
                scanner.consume(UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[..<count]), report)
            }
            scanner.finish(report)
            output.flush()
            Console.error(Scan.summary(scanner.tally, catalog: checked != nil))
        }

        /// One found intent as printed.
        static func line(for found: IntentScanner.Found, json: Bool, marking: Bool) -> String {
            let canonical = found.message.canonicalForm
            if json {
                var members = [
                    "\"line\":\(found.line)", "\"canonical\":\(jsonString(canonical))",
                    "\"reply\":" + (found.message.reply.map { jsonString($0.description) } ?? "null"),
                ]
                if marking { members.append("\"answers\":\(found.answerable)") }
                return "{" + members.joined(separator: ",") + "}\n"
            }
            let mark = marking ? (found.answerable ? "answers  " : "-        ") : ""
            return "\(String(found.line).padding(toLength: 9, withPad: " ", startingAt: 0)) \(mark)\(canonical)\n"
        }

        static func summary(_ tally: IntentScanner.Tally, catalog: Bool) -> String {
            var parts = ["read \(tally.lines) lines", "found \(tally.intents) intents"]
            if catalog { parts.append("\(tally.answerable) the catalog answers") }
            let unparsed = tally.unparsed.values.reduce(0, +)
            if unparsed > 0 {
                let codes = tally.unparsed.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                parts.append(
                    "\(unparsed) did not parse (" + codes.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
            }
            if tally.tooLong > 0 { parts.append("\(tally.tooLong) lines over 1 MiB skipped") }
            return parts.joined(separator: ", ")
        }

        static func jsonString(_ text: String) -> String {
            String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
        }
    }
}

/// Standard output in large writes: a scan may print thousands of lines.
struct BufferedOutput {
    private var bytes: [UInt8] = []

    mutating func write(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { FileHandle.standardOutput.write(Data($0)) }
        bytes.removeAll(keepingCapacity: true)
    }
}
