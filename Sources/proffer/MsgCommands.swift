import ArgumentParser
import ProfferWire

#if canImport(Glibc)
    import Glibc
#endif

struct Msg: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offline tools for Proffer short messages: parse, format, lint and explain.",
        discussion: """
            A message is one line: a kind (#buy #rent #hire #fix #offer #counter #accept #decline #confirm \
            #withdraw #forget), for intents a category, then key:value fields. Quote text with spaces: \
            note:"two words". See schema/message.abnf for the whole grammar.

            Each command takes messages as arguments, or reads one message per line from standard input when none \
            is given (LF-separated; a CR before the LF is removed). `proffer msg terms` and `proffer msg \
            categories` list the registries that terms:, needs: and give: draw from.
            """,
        subcommands: [Parse.self, Format.self, Lint.self, Explain.self, Terms.self, Categories.self]
    )
}

/// The messages to work on: the arguments, or else the lines of standard input.
struct MessageSource: ParsableArguments {
    @Argument(help: "Messages to read. Without any, one message per line is read from standard input.")
    var messages: [String] = []

    /// Calls `body` with each message's parse result, in order, in constant memory.
    func forEachResult(_ body: (Result<Message, MessageError>) -> Void) throws {
        if messages.isEmpty {
            if StandardInput.isTerminal {
                printError("reading messages from standard input, one per line; end with Ctrl-D")
            }
            var reader = MessageLineReader()
            try StandardInput.forEachChunk { reader.consume($0, body) }
            reader.finish(body)
            return
        }
        for raw in RawArguments.bytes(of: messages) {
            body(
                raw.withUnsafeBufferPointer { bytes in
                    Result { () throws(MessageError) in try Message.parse(utf8: bytes) }
                })
        }
    }
}

extension Msg {
    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse messages and report each as canonical text or an error (the conformance interface).",
            discussion: """
                Writes one line per message. With --json each line is a JSON object:
                  {"ok":true,"canonical":…,"kind":…,"category":…,"fields":{…},"attributes":{…}}
                  {"ok":false,"error":{"code":…,"column":…,"message":…}}
                Without --json a valid message prints its canonical form and an invalid one prints \
                "error: CODE at column N: MESSAGE".

                Exit status: 0 when every message parsed, 65 when any did not, 64 for a usage error.
                """
        )

        @Flag(help: "Write one JSON object per message (PROTOCOL.md §5).") var json = false
        @OptionGroup var source: MessageSource

        func run() throws {
            let output = standardOutput
            var failures = 0
            try source.forEachResult { result in
                output.write { writer in
                    switch (result, json) {
                    case (.success(let message), true): message.writeConformanceJSON(to: &writer)
                    case (.success(let message), false): message.writeCanonicalForm(to: &writer)
                    case (.failure(let error), true): error.writeConformanceJSON(to: &writer)
                    case (.failure(let error), false): writer.append(utf8: "error: \(error)")
                    }
                    writer.append(0x0A)
                }
                if case .failure = result { failures += 1 }
            }
            output.flush()
            if failures > 0 { throw ExitCode(65) }
        }
    }

    struct Format: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each message's canonical form, the text that signatures cover.",
            discussion: """
                Errors go to standard error as "error: CODE at column N: MESSAGE".
                Exit status: 0 when every message parsed, 65 when any did not.
                """
        )

        @OptionGroup var source: MessageSource

        func run() throws {
            let output = standardOutput
            var failures = 0
            try source.forEachResult { result in
                switch result {
                case .success(let message):
                    output.write { writer in
                        message.writeCanonicalForm(to: &writer)
                        writer.append(0x0A)
                    }
                case .failure(let error):
                    output.flush()
                    printError("error: \(error)")
                    failures += 1
                }
            }
            output.flush()
            if failures > 0 { throw ExitCode(65) }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check messages and show each error under the message, with a caret and a suggestion.",
            discussion: """
                A valid message prints "ok" and, when it differs, its canonical form.
                Exit status: 0 when every message is valid, 65 when any is not.
                """
        )

        @OptionGroup var source: MessageSource

        func run() throws {
            let output = standardOutput
            var failures = 0
            var inputs = source.messages.makeIterator()
            try source.forEachResult { result in
                let input = inputs.next()
                switch result {
                case .success(let message):
                    let canonical = message.canonicalForm
                    if let input, input.trimmingSpaces != canonical {
                        output.write(line: "ok: \(input.trimmingSpaces)\n    canonical form: \(canonical)")
                    } else {
                        output.write(line: "ok: \(canonical)")
                    }
                    for (attribute, field) in message.likelyMisspelledAttributes {
                        output.write(
                            line:
                                "    warning: \"\(attribute)\" is read as an attribute of what you want — did you mean \"\(field)\"?"
                        )
                    }
                    for warning in message.reply?.castWarnings ?? [] {
                        output.write(line: "    warning: " + warning)
                    }
                    // Valid grammar, but terms no one has registered are agreed to by no one (PROTOCOL.md §2.1).
                    if message.kind.isIntent {
                        for warning in IntentCommand.vocabularyWarnings(
                            for: message, vendors: [], offeredIn: [], written: input)
                        {
                            output.write(line: "    warning: " + warning)
                        }
                    }
                case .failure(let error):
                    failures += 1
                    if let input {
                        output.write(line: "  " + Caret.visible(input))
                        output.write(line: "  " + Caret.padding(toColumn: error.column, in: input) + "^")
                    }
                    output.write(line: "\(error.code) (column \(error.column)): \(error.message)")
                }
            }
            output.flush()
            if failures > 0 { throw ExitCode(65) }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say in plain words what a message means.",
            discussion: "Exit status: 0 for a valid message, 65 for an invalid one (the error goes to standard error)."
        )

        @Argument(help: "The message to explain.") var message: String

        func run() throws {
            do throws(MessageError) {
                let parsed = try ProfferWire.Message.parse(message)
                let output = standardOutput
                output.write(line: parsed.explanation)
            } catch {
                printError("error: \(error)")
                throw ExitCode(65)
            }
        }
    }
}

/// One registered id, as `msg terms` and `msg categories` list it.
struct RegistryEntry: Encodable {
    let id: String
    let iri: String
    let meaning: String

    static func print(_ entries: [RegistryEntry], json: Bool) throws {
        if json { return try printJSON(entries) }
        printTable(["ID", "IRI", "MEANING"], entries.map { [$0.id, $0.iri, $0.meaning] })
    }
}

extension Msg {
    struct Terms: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the terms ids (IEEE 7012 agreements) that terms: and terms.default accept, with their IRIs."
        )
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try RegistryEntry.print(
                TermsDefinition.registry.map { RegistryEntry(id: $0.id.description, iri: $0.iri, meaning: $0.meaning) },
                json: json)
        }
    }

    struct Categories: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the personal data categories that needs: and give: accept, with their W3C DPV IRIs.",
            discussion: "The product categories an intent names come from vendors: `proffer vendor categories`.")
        @Flag(help: "Write JSON.") var json = false

        func run() throws {
            try RegistryEntry.print(
                DataCategory.allCases.map { RegistryEntry(id: $0.rawValue, iri: $0.dpvIRI, meaning: $0.meaning) },
                json: json)
        }
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " })!
        return String(scalars[first...last])
    }
}

/// Draws a caret under a column, counting how wide each scalar shows in a terminal.
enum Caret {
    /// The input with control characters shown as visible symbols, so the caret line stays aligned.
    static func visible(_ input: String) -> String {
        String(String.UnicodeScalarView(input.unicodeScalars.map(visibleScalar)))
    }

    static func padding(toColumn column: Int, in input: String) -> String {
        let width = input.unicodeScalars.prefix(max(0, column - 1)).reduce(0) { $0 + displayWidth(visibleScalar($1)) }
        return String(repeating: " ", count: width)
    }

    private static func visibleScalar(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x00..<0x20: Unicode.Scalar(0x2400 + scalar.value)!
        case 0x7F: "\u{2421}"
        case 0x80...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: "\u{FFFD}"
        default: scalar
        }
    }

    private static func displayWidth(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}

/// The exact bytes of command-line arguments. Swift repairs invalid UTF-8 in `CommandLine.arguments`, but a message's
/// encoding is part of what `msg parse` checks, so each parsed argument is matched back to its raw bytes.
enum RawArguments {
    static func bytes(of arguments: [String]) -> [[UInt8]] {
        var raw: [[UInt8]] = (1..<Int(CommandLine.argc)).map { index in
            let pointer = CommandLine.unsafeArgv[index]!
            return Array(
                UnsafeBufferPointer(
                    start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
        }
        return arguments.map { argument in
            guard let index = raw.firstIndex(where: { String(decoding: $0, as: UTF8.self) == argument }) else {
                return Array(argument.utf8)
            }
            defer { raw.removeSubrange(...index) }
            return raw[index]
        }
    }
}
